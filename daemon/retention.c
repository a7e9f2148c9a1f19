/* retention.c: streams trimmed by age (see retention.h). */
#include "retention.h"

#include <stdio.h>

#include "config.h"
#include "queue.h"
#include "tracking.h"

/* XTRIM MINID ARGV[1] on KEYS[1], but never past an entry a consumer
 * group has still to read (after its last-delivered-id) or to acknowledge
 * (its oldest pending one): a payment not yet applied is not trimmed
 * because the daemon was down longer than its retention. */
static const char trim_lua[] =
        "local function before(a, b)\n"
        "  local am, as = string.match(a, '^(%d+)-(%d+)$')\n"
        "  local bm, bs = string.match(b, '^(%d+)-(%d+)$')\n"
        "  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)\n"
        "  return am < bm or (am == bm and as < bs)\n"
        "end\n"
        "local minid = ARGV[1]\n"
        "local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', KEYS[1])\n"
        "if not ok then return 0 end\n"
        "for _, g in ipairs(groups) do\n"
        "  local name, last\n"
        "  for i = 1, #g, 2 do\n"
        "    if g[i] == 'name' then name = g[i + 1] end\n"
        "    if g[i] == 'last-delivered-id' then last = g[i + 1] end\n"
        "  end\n"
        "  if last then\n"
        "    local m, q = string.match(last, '^(%d+)-(%d+)$')\n"
        "    local next = m .. '-' .. string.format('%d', tonumber(q) + 1)\n"
        "    if before(next, minid) then minid = next end\n"
        "  end\n"
        "  local p = redis.call('XPENDING', KEYS[1], name)\n"
        "  if p[2] and before(p[2], minid) then minid = p[2] end\n"
        "end\n"
        "return redis.call('XTRIM', KEYS[1], 'MINID', minid)\n";

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
                const char *argv[] = { "EVAL", trim_lua, "1", key, minid };
                queue_txn_argv(q, 5, argv);
                n++;
        }
        return n ? queue_txn_commit(q, err) : 0;
}
