/* stats_cmd.h: `dunningctl stats` and `dunningctl explain`. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct config;

/* Run the commands (argv[0] is the command's name); CTL_* exit codes. */
int stats_cmd(const struct config *cfg, int argc, char **argv, bool json);
int explain_cmd(const struct config *cfg, int argc, char **argv, bool json);

/* --since and --until: a date (YYYY-MM-DD, midnight UTC), an RFC 3339
 * time or Unix seconds into Unix ms. 0 or -EINVAL. */
int stats_parse_since(const char *s, int64_t *ms);
