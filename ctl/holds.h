/* holds.h: `dunningctl hold`, `release`, `arrange` and `arrangements`:
 * the credit manager's controls over what dunning may chase. */
#pragma once

#include <stdbool.h>

struct config;

/* Each runs its command (argv[0] is its name); json: --json came before
 * it. Returns a CTL_* exit code (ctl.h). */
int holds_hold_cmd(const struct config *cfg, int argc, char **argv, bool json);
int holds_release_cmd(const struct config *cfg, int argc, char **argv, bool json);
int holds_arrange_cmd(const struct config *cfg, int argc, char **argv, bool json);
int holds_arrangements_cmd(const struct config *cfg, int argc, char **argv, bool json);
