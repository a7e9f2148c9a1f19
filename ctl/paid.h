/* paid.h: `dunningctl paid`: record a payment by hand, the way the daemon
 * records one from the payments stream (tracking_apply). */
#pragma once

#include <stdbool.h>

struct config;

/* Runs `paid INVOICE --amount-cents N [...]` (argv[0] is "paid"); json is
 * true when --json came before the command. Returns a CTL_* exit code
 * (ctl.h): CTL_OK applied, kept or a duplicate; CTL_FAIL Redis failed;
 * CTL_USAGE wrong usage. */
int paid_cmd(const struct config *cfg, int argc, char **argv, bool json);
