/* ratelimit.c: GCRA rate limits per channel's provider, shared in Redis.
 *
 * The maths is here in C (ratelimit_reserve, ratelimit_slot) and again in
 * the Lua script, which only keeps the state: it reads the TAT, answers
 * where the reservation starts and stores the new TAT, using Redis's clock
 * so that instances with skewed clocks still share one schedule. */
#include "ratelimit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "queue.h"

#define SLOT_LATE_MS (10 * 60 * 1000)

int ratelimit_parse(const char *s, struct ratelimit_rate *out, struct error *err)
{
        static const struct {
                const char *name;
                int64_t us;
        } units[] = {
                { "s", 1000000LL },
                { "min", 60000000LL },
                { "h", 3600000000LL },
                { "day", 86400000000LL },
        };
        char unit[8] = "";
        long long count = 0, burst = 1;
        int n = 0;

        if (sscanf(s, "%lld/%7[a-z]%n", &count, unit, &n) != 2 || count < 1 || count > 1000000 ||
            (s[n] && s[n] != ' '))
                return error_set(err, -EINVAL,
                                 "is not a rate like 50/s, 600/min or 2000/day "
                                 "(optionally followed by \" burst N\")");
        if (s[n]) {
                int m = 0;
                if (sscanf(s + n, " burst %lld%n", &burst, &m) != 1 || s[n + m] || burst < 1 ||
                    burst > 1000000)
                        return error_set(err, -EINVAL,
                                         "may only be followed by \" burst N\" "
                                         "(N 1..1000000)");
        }
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                if (strcmp(unit, units[i].name) != 0)
                        continue;
                /* Rounded up: the limit may be met, never exceeded. */
                out->interval_us = (units[i].us + count - 1) / count;
                out->tolerance_us = (burst - 1) * out->interval_us;
                return 0;
        }
        return error_set(err, -EINVAL, "has a unit other than s, min, h or day");
}

int64_t ratelimit_reserve(const struct ratelimit_rate *r, int64_t tat, int64_t now, int64_t n,
                          int64_t *start)
{
        *start = tat > now ? tat : now;
        return *start + n * r->interval_us;
}

int64_t ratelimit_slot(const struct ratelimit_rate *r, int64_t start, int64_t now, int64_t i)
{
        int64_t t = start + i * r->interval_us - r->tolerance_us;
        return t > now ? t : now;
}

void ratelimit_bucket(const struct config *cfg, enum job_channel ch, char *out, size_t n)
{
        const struct config_channel *c = ch == JOB_CHANNEL_EMAIL ? &cfg->channels.email
                                         : ch == JOB_CHANNEL_SMS ? &cfg->channels.sms
                                                                 : &cfg->channels.letter;
        const char *name = job_channel_name(ch);

        if (strcmp(c->transport, "outbox") == 0) {
                snprintf(out, n, "%s:outbox", name);
        } else if (ch == JOB_CHANNEL_EMAIL) {
                snprintf(out, n, "%s:%s:%d", name, c->smtp.host, c->smtp.port);
        } else if (ch == JOB_CHANNEL_SMS) {
                snprintf(out, n, "%s:%s", name, c->provider);
        } else {
                /* The print service's host: "https://print.example/v1" ->
                 * "print.example". */
                const char *h = c->url ? strstr(c->url, "://") : NULL;
                h = h ? h + 3 : "http";
                snprintf(out, n, "%s:%.*s", name, (int)strcspn(h, "/"), h);
        }
}

bool ratelimit_slot_held(const struct job *job, enum job_channel ch, int64_t now_ms)
{
        /* Most jobs carry none: no second parse for them. */
        if (!job->json || !strstr(job->json, "\"" JOB_RATE_SLOT "\""))
                return false;
        json_t *root = json_loads(job->json, 0, NULL);
        const char *v = json_string_value(json_object_get(root, JOB_RATE_SLOT));
        char chan[16] = "", step[80] = "";
        long long at = 0;
        int attempt = -1, n = 0;
        bool held =
                v && sscanf(v, "%15[a-z]|%lld|%79[^|]|%d%n", chan, &at, step, &attempt, &n) == 4 &&
                !v[n] && strcmp(chan, job_channel_name(ch)) == 0 && strcmp(step, job->step) == 0 &&
                attempt == job->attempt && at <= now_ms + 1000 && now_ms - at <= SLOT_LATE_MS;
        json_decref(root);
        return held;
}

char *ratelimit_json_with_slot(const struct job *job, enum job_channel ch, int64_t slot_ms)
{
        json_t *root = json_loads(job->json, 0, NULL);
        char v[128];
        char *out = NULL;

        if (!json_is_object(root))
                goto out;
        snprintf(v, sizeof(v), "%s|%lld|%s|%d", job_channel_name(ch), (long long)slot_ms, job->step,
                 job->attempt);
        if (json_object_set_new(root, JOB_RATE_SLOT, json_string(v)) == 0)
                out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
        json_decref(root);
        return out;
}

/* KEYS: one bucket per limited channel. ARGV: per key, interval_us and n.
 * Returns { now_us, start_us per key }. The new TAT expires once it has
 * passed: an idle bucket costs nothing. */
static const char take_lua[] = "local t = redis.call('TIME')\n"
                               "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
                               "local out = { now }\n"
                               "for i, k in ipairs(KEYS) do\n"
                               "  local iv, n = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])\n"
                               "  local tat = tonumber(redis.call('GET', k) or '0') or 0\n"
                               "  if tat < now then tat = now end\n"
                               "  out[i + 1] = tat\n"
                               "  local new = tat + n * iv\n"
                               "  redis.call('SET', k, string.format('%d', new), 'PX',\n"
                               "             math.floor((new - now) / 1000) + 1000)\n"
                               "end\n"
                               "return out\n";

int ratelimit_take(struct queue *q, const struct config *cfg, const size_t want[JOB_CHANNEL__N],
                   int64_t *slot_ms[JOB_CHANNEL__N], int64_t *now_ms_out, struct error *err)
{
        struct ratelimit_rate rate[JOB_CHANNEL__N];
        char keys[JOB_CHANNEL__N][256], iv[JOB_CHANNEL__N][24], cnt[JOB_CHANNEL__N][24];
        const char *argv[3 * JOB_CHANNEL__N];
        enum job_channel which[JOB_CHANNEL__N];
        int nk = 0;

        for (int c = 0; c < JOB_CHANNEL__N; c++) {
                if (!want[c] || !cfg->limits.rate[c])
                        continue;
                if (ratelimit_parse(cfg->limits.rate[c], &rate[c], err) < 0)
                        return -EINVAL; /* --check-config refuses it first */
                char bucket[200], name[220];
                ratelimit_bucket(cfg, (enum job_channel)c, bucket, sizeof(bucket));
                snprintf(name, sizeof(name), "rate:%s", bucket);
                queue_key(q, keys[nk], sizeof(keys[nk]), name);
                snprintf(iv[nk], sizeof(iv[nk]), "%lld", (long long)rate[c].interval_us);
                snprintf(cnt[nk], sizeof(cnt[nk]), "%zu", want[c]);
                which[nk++] = (enum job_channel)c;
        }
        if (!nk)
                return 0;
        for (int i = 0; i < nk; i++) {
                argv[i] = keys[i];
                argv[nk + 2 * i] = iv[i];
                argv[nk + 2 * i + 1] = cnt[i];
        }
        int script = queue_script_add(q, take_lua, err);
        if (script < 0)
                return script;
        long long res[1 + JOB_CHANNEL__N];
        size_t nres = 0;
        int rc = queue_script_ints(q, script, nk, 3 * nk, argv, res, 1 + (size_t)nk, &nres, err);
        if (rc < 0)
                return rc;
        if (nres != 1 + (size_t)nk)
                return error_set(err, -EPROTO, "rate limit script: unexpected reply");
        int64_t now = res[0];
        *now_ms_out = now / 1000;
        for (int i = 0; i < nk; i++) {
                enum job_channel c = which[i];
                for (size_t j = 0; j < want[c]; j++)
                        slot_ms[c][j] =
                                ratelimit_slot(&rate[c], res[1 + i], now, (int64_t)j) / 1000;
        }
        return 0;
}
