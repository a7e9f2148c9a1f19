/* retention.c: streams trimmed by age (see retention.h). */
#include "retention.h"

#include <stdio.h>

#include "config.h"
#include "queue.h"
#include "tracking.h"

void retention_minid(char out[32], int64_t now_ms, int days)
{
        int64_t ms = now_ms - (int64_t)days * 86400 * 1000;
        snprintf(out, 32, "%lld-0", (long long)(ms > 0 ? ms : 0));
}

int retention_trim(struct queue *q, const struct config *cfg, int64_t now_ms, struct error *err)
{
        const struct {
                const char *stream;
                int days;
        } streams[] = {
                { "events", cfg->retention.events_days },
                { TRACKING_STREAM, cfg->retention.payments_days },
        };
        size_t n = 0;

        for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
                if (streams[i].days <= 0)
                        continue;
                char key[256], minid[32];
                queue_key(q, key, sizeof(key), streams[i].stream);
                retention_minid(minid, now_ms, streams[i].days);
                /* Exact, not "~": an entry past its time goes now, not when
                 * its whole node has aged. */
                const char *argv[] = { "XTRIM", key, "MINID", minid };
                queue_txn_argv(q, 4, argv);
                n++;
        }
        return n ? queue_txn_commit(q, err) : 0;
}
