/* privacy.h: `dunningctl export CUSTOMER_ID` (everything Redis holds about
 * a customer, as JSON: an access request) and `dunningctl forget
 * CUSTOMER_ID` (all of it erased, one `erased` event naming nobody). */
#pragma once

#include <stdbool.h>

struct config;

/* argv[0] is "export" or "forget". Returns a CTL_* exit code (ctl.h). */
int privacy_cmd(const struct config *cfg, int argc, char **argv, bool json);
