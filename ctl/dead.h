/* dead.h: `dunningctl dead list|show|retry|drop`: the dead-letter stream
 * from the operator's side. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct error;
struct json_t;
struct queue;

/* Runs `dead VERB [ARGS]` (argv[0] is "dead"); json is true when --json
 * came before the command. Returns a CTL_* exit code (ctl.h). */
int dead_cmd(const struct config *cfg, int argc, char **argv, bool json);

/* What picks dead entries for `list` and for bulk `retry`/`drop`. A NULL
 * string or a false flag does not filter. */
struct dead_filter {
        const char *reason;     /* exact match of the entry's reason, borrowed */
        const char *campaign;   /* exact match of the job's campaign, borrowed */
        bool since;             /* entry time >= since_ms */
        int64_t since_ms;
        bool all;               /* --all: every entry, said out loud */
};

/* The pure parts, exposed for the unit test. */

/* --since: RFC 3339 or Unix seconds (digits only) into Unix ms. 0 or
 * -EINVAL. */
int dead_parse_since(const char *s, int64_t *ms);
/* Whether s is a stream id as `dead list` prints it: MS-SEQ (or MS). */
bool dead_id_valid(const char *s);
/* A dead entry's time in Unix ms: its RFC 3339 time field, or when that
 * is missing or bad the ms part of its id. */
int64_t dead_entry_time(const char *time, const char *id);
/* Whether an entry with reason (may be NULL), its job's campaign (NULL:
 * none) and time passes f. */
bool dead_filter_match(const struct dead_filter *f, const char *reason, const char *campaign,
                       int64_t time_ms);
/* Whether f has anything that selects: a filter or --all. */
bool dead_filter_given(const struct dead_filter *f);

/* Shared with the credit team's API (daemon/ui.c). */

/* `dead list --json` as a JSON object {entries, count, truncated}, oldest
 * first, at most limit entries (0: all); with_job adds each entry's job
 * (parsed) under "job". The caller owns it; NULL with err on a Redis
 * error. */
struct json_t *dead_list_json(struct queue *q, size_t limit, bool with_job, struct error *err);
/* `dead retry ID` / `dead drop ID`: 0 when done (*still_invalid, may be
 * NULL: a retried job that is still invalid and will come back),
 * -ENOENT when there is no such entry (or id is not one), else a Redis
 * error; err says which. */
int dead_apply(struct queue *q, const char *id, bool retry, bool *still_invalid,
               struct error *err);
