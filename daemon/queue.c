/* queue.c: everything dunningd says to Redis about jobs.
 *
 * The only file (with its ctl/history siblings) that includes hiredis. The
 * stream <prefix>:jobs is read through the consumer group "dunningd";
 * outcomes are written in one MULTI/EXEC pipeline per batch (see
 * queue_txn_*), so a crash leaves either everything or nothing recorded and
 * the unacked entries come back through the pending list. */
#include "queue.h"

#include <assert.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "buf.h"

/* KEYS: scheduled, jobs. ARGV: now_ms, limit. ZREM before XADD, and the
 * script runs atomically, so two instances never promote one job twice. */
const char queue_promote_lua[] =
        "local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])\n"
        "for _, m in ipairs(due) do\n"
        "  if redis.call('ZREM', KEYS[1], m) == 1 then\n"
        "    redis.call('XADD', KEYS[2], '*', 'job', m)\n"
        "  end\n"
        "end\n"
        "return #due\n";

/* KEYS: enqueued marker, jobs, scheduled. ARGV: job, due_ms, now_ms, ttl_s.
 * Returns 1 (stream), 2 (scheduled) or 0 (seen before). */
const char queue_enqueue_lua[] =
        "if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[4]) then return 0 end\n"
        "if tonumber(ARGV[2]) > tonumber(ARGV[3]) then\n"
        "  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])\n"
        "  return 2\n"
        "end\n"
        "redis.call('XADD', KEYS[2], '*', 'job', ARGV[1])\n"
        "return 1\n";

/* ARGV: prefix, lease_ms, owner, number of channels, channels..., ids...
 * Returns one status per id (see enum queue_take). The keys are built
 * here, so this runs on a standalone Redis (not a cluster). */
const char queue_take_lua[] =
        "local p, lease, owner, nch = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])\n"
        "local out = {}\n"
        "for i = 5 + nch, #ARGV do\n"
        "  local id, sent = ARGV[i], 0\n"
        "  for c = 5, 4 + nch do\n"
        "    sent = sent + redis.call('EXISTS', p .. ':sent:' .. id .. ':' .. ARGV[c])\n"
        "  end\n"
        "  local lock = p .. ':sending:' .. id\n"
        "  if sent > 0 then out[#out + 1] = 1\n"
        "  elseif redis.call('SET', lock, owner, 'NX', 'PX', lease) then out[#out + 1] = 0\n"
        "  elseif redis.call('GET', lock) == owner then\n"
        "    redis.call('PEXPIRE', lock, lease)\n"
        "    out[#out + 1] = 0\n"
        "  else out[#out + 1] = 2 end\n"
        "end\n"
        "return out\n";

/* One element of a reply read by lean_get (below). */
struct queue_lean_elem {
        int type;               /* REDIS_REPLY_* */
        long long integer;      /* an integer's value, an array's length */
        size_t off, len;        /* a string's, in bytes */
};

/* What lean_get read of the last reply. */
struct queue_lean {
        int type;
        long long integer;
        char err[1024];         /* an error reply's message */
        bool keep;              /* keep the elements */
        struct queue_lean_elem *el;
        size_t n_el, cap_el;
        char *bytes;            /* the strings, each ended by a NUL */
        size_t n_bytes, cap_bytes;
};

struct queue {
        redisContext *ctx;
        char *url, *username, *password, *prefix, *consumer;
        int timeout_ms;
        char k_jobs[160], k_sched[160], k_dead[160], k_events[160];
        char sha_promote[41], sha_enqueue[41], sha_take[41];
        char claim_cursor[48];
        size_t n_txn;              /* commands queued after MULTI */
        size_t n_sent_now;         /* queue_sent_now replies not read yet */
        const char *scripts[QUEUE_SCRIPTS_MAX];   /* queue_script_add, reloaded on reconnect */
        char script_sha[QUEUE_SCRIPTS_MAX][41];
        int n_scripts;
        /* queue_txn_guard_begin .. _end: the commands kept here, each
         * as its argument count then its arguments, for one EVAL. */
        bool guarding;
        char guard_entry[48];
        char **guard_argv;
        size_t *guard_lens, guard_argc, guard_cap;
        struct queue_lean lean;
};

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *queue_prefix(const struct queue *q)
{
        return q->prefix;
}

void queue_key(const struct queue *q, char *out, size_t n, const char *name)
{
        snprintf(out, n, "%s:%s", q->prefix, name);
}

/* Turns a missing or error reply into a message; frees the reply. */
/* -EIO: the reply to what never came. */
static int reply_lost(struct queue *q, const char *what, struct error *err)
{
        return error_set(err, -EIO, "redis %s: %s", what,
                         q->ctx && q->ctx->errstr[0] ? q->ctx->errstr : "connection lost");
}

static int reply_check(struct queue *q, redisReply *r, const char *what, struct error *err)
{
        if (!r)
                return reply_lost(q, what, err);
        if (r->type == REDIS_REPLY_ERROR) {
                error_set(err, -EPROTO, "redis %s: %s", what, r->str);
                freeReplyObject(r);
                return -EPROTO;
        }
        return 0;
}

static redisReply *command(struct queue *q, struct error *err, int *rc, const char *what,
                           const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        redisReply *r = redisvCommand(q->ctx, fmt, ap);
        va_end(ap);
        *rc = reply_check(q, r, what, err);
        return *rc ? NULL : r;
}

/* --- replies read without hiredis's objects ---
 *
 * hiredis builds an object for a reply and for each of its elements (a
 * string is two allocations), which the caller then frees one by one. For
 * the replies a batch reads by the dozen (the transaction's QUEUED and
 * EXEC, the hashes history reads, the leases taken) that was two fifths
 * of what history added to dunningd's CPU. lean_get reads one reply with object
 * functions that build nothing: the reply's type, its integer or error
 * message, and when asked its elements (type, integer, string) one level
 * deep, into buffers the queue keeps from reply to reply. */

/* What every object of a lean read "is" (a whole redisReply: hiredis 1.x
 * looks at the type of what a read returns). */
static redisReply lean_none;

static void lean_add(const redisReadTask *t, int type, long long v, const char *s, size_t len)
{
        struct queue_lean *l = t->privdata;
        if (!t->parent) {
                l->type = type;
                l->integer = v;
                if (type == REDIS_REPLY_ERROR)
                        snprintf(l->err, sizeof(l->err), "%.*s",
                                 (int)(len < sizeof(l->err) ? len : sizeof(l->err) - 1), s);
                return;
        }
        if (!l->keep || t->parent->parent)
                return;
        if (l->n_el == l->cap_el) {
                l->cap_el = l->cap_el ? 2 * l->cap_el : 64;
                l->el = xrealloc(l->el, l->cap_el * sizeof(*l->el));
        }
        struct queue_lean_elem *e = &l->el[l->n_el++];
        e->type = type;
        e->integer = v;
        e->off = l->n_bytes;
        e->len = len;
        if (type != REDIS_REPLY_STRING && type != REDIS_REPLY_STATUS)
                return;
        if (l->n_bytes + len + 1 > l->cap_bytes) {
                while (l->n_bytes + len + 1 > l->cap_bytes)
                        l->cap_bytes = l->cap_bytes ? 2 * l->cap_bytes : 4096;
                l->bytes = xrealloc(l->bytes, l->cap_bytes);
        }
        memcpy(l->bytes + l->n_bytes, s, len);
        l->bytes[l->n_bytes + len] = '\0';
        l->n_bytes += len + 1;
}

static void *lean_string(const redisReadTask *t, char *s, size_t len)
{
        lean_add(t, t->type, 0, s, len);
        return &lean_none;
}

#if HIREDIS_MAJOR >= 1
static void *lean_array(const redisReadTask *t, size_t n)
#else
static void *lean_array(const redisReadTask *t, int n)
#endif
{
        lean_add(t, REDIS_REPLY_ARRAY, (long long)n, NULL, 0);
        return &lean_none;
}

static void *lean_integer(const redisReadTask *t, long long v)
{
        lean_add(t, REDIS_REPLY_INTEGER, v, NULL, 0);
        return &lean_none;
}

static void *lean_nil(const redisReadTask *t)
{
        lean_add(t, REDIS_REPLY_NIL, 0, NULL, 0);
        return &lean_none;
}

static void lean_free(void *obj)
{
        (void)obj;      /* nothing was allocated */
}

static redisReplyObjectFunctions lean_fns = {
        .createString = lean_string,
        .createArray = lean_array,
        .createInteger = lean_integer,
        .createNil = lean_nil,
        .freeObject = lean_free,
};

/* Reads the next reply into q->lean (with its elements when keep); -EIO
 * with err when the connection is gone, -EPROTO when the reply is an
 * error (its message in err too). */
static int lean_get(struct queue *q, bool keep, const char *what, struct error *err)
{
        redisReader *rd = q->ctx->reader;
        redisReplyObjectFunctions *fn = rd->fn;
        void *pd = rd->privdata, *r = NULL;
        struct queue_lean *l = &q->lean;

        l->type = -1;
        l->integer = 0;
        l->err[0] = '\0';
        l->n_el = 0;
        l->n_bytes = 0;
        l->keep = keep;
        rd->fn = &lean_fns;
        rd->privdata = l;
        int ok = redisGetReply(q->ctx, &r);
        /* A reply cut short by an error is half built of nothing: there
         * is nothing for hiredis to free when the context goes. */
        if (ok != REDIS_OK)
                rd->reply = NULL;
        rd->fn = fn;
        rd->privdata = pd;
        if (ok != REDIS_OK || !r)
                return reply_lost(q, what, err);
        if (l->type == REDIS_REPLY_ERROR)
                return error_set(err, -EPROTO, "redis %s: %s", what, l->err);
        return 0;
}

/* Element i's string of the last lean reply (keep), or NULL. */
static const char *lean_str(const struct queue *q, size_t i)
{
        const struct queue_lean_elem *e = &q->lean.el[i];
        return e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS
                       ? q->lean.bytes + e->off : NULL;
}

static int load_script(struct queue *q, const char *src, char sha[41], struct error *err)
{
        int rc;
        redisReply *r = command(q, err, &rc, "SCRIPT LOAD", "SCRIPT LOAD %s", src);
        if (rc)
                return rc;
        if (r->type != REDIS_REPLY_STRING || r->len != 40) {
                freeReplyObject(r);
                return error_set(err, -EPROTO, "redis SCRIPT LOAD: unexpected reply");
        }
        memcpy(sha, r->str, 41);
        freeReplyObject(r);
        return 0;
}

static int connect_now(struct queue *q, struct error *err)
{
        redisContext *c;
        int db = 0;
        struct timeval tv = { 2, 0 };

        if (strncmp(q->url, "unix://", 7) == 0) {
                c = redisConnectUnixWithTimeout(q->url + 7, tv);
        } else if (strncmp(q->url, "redis://", 8) == 0) {
                char host[256] = "127.0.0.1";
                int port = 6379;
                const char *hp = q->url + 8;
                const char *at = strrchr(hp, '@');
                if (at)
                        hp = at + 1;
                size_t hl = strcspn(hp, ":/");
                if (hl > 0 && hl < sizeof(host)) {
                        memcpy(host, hp, hl);
                        host[hl] = '\0';
                }
                if (hp[hl] == ':')
                        port = atoi(hp + hl + 1);
                const char *slash = strchr(hp, '/');
                if (slash && slash[1])
                        db = atoi(slash + 1);
                c = redisConnectWithTimeout(host, port, tv);
        } else {
                return error_set(err, -EINVAL, "redis.url: unsupported scheme in %s", q->url);
        }
        if (!c || c->err) {
                int rc = error_set(err, -EIO, "cannot connect to redis at %s: %s", q->url,
                                   c ? c->errstr : "out of memory");
                if (c)
                        redisFree(c);
                return rc;
        }
        q->ctx = c;
        q->n_sent_now = 0;
        if (q->timeout_ms > 0)
                queue_set_timeout(q, q->timeout_ms);

        int rc;
        redisReply *r;
        if (q->password) {
                /* Never echo the password: the error names only the step. */
                if (q->username)   /* an ACL user (Redis 6+) */
                        r = command(q, err, &rc, "AUTH", "AUTH %s %s", q->username, q->password);
                else
                        r = command(q, err, &rc, "AUTH", "AUTH %s", q->password);
                if (rc)
                        goto fail;
                freeReplyObject(r);
        }
        if (db) {
                r = command(q, err, &rc, "SELECT", "SELECT %d", db);
                if (rc)
                        goto fail;
                freeReplyObject(r);
        }
        rc = load_script(q, queue_promote_lua, q->sha_promote, err);
        if (!rc)
                rc = load_script(q, queue_enqueue_lua, q->sha_enqueue, err);
        if (!rc)
                rc = load_script(q, queue_take_lua, q->sha_take, err);
        for (int i = 0; !rc && i < q->n_scripts; i++)
                rc = load_script(q, q->scripts[i], q->script_sha[i], err);
        if (!rc)
                return 0;
fail:
        redisFree(q->ctx);
        q->ctx = NULL;
        return rc;
}

int queue_open(struct queue **out, const char *url, const char *password, const char *prefix,
               const char *consumer, struct error *err)
{
        return queue_open_user(out, url, NULL, password, prefix, consumer, err);
}

int queue_open_user(struct queue **out, const char *url, const char *username,
                    const char *password, const char *prefix, const char *consumer,
                    struct error *err)
{
        struct queue *q = xcalloc(1, sizeof(*q));
        int rc;

        q->url = xstrdup(url);
        q->username = username ? xstrdup(username) : NULL;
        q->password = password ? xstrdup(password) : NULL;
        q->prefix = xstrdup(prefix);
        q->consumer = consumer ? xstrdup(consumer) : NULL;
        strcpy(q->claim_cursor, "0-0");
        queue_key(q, q->k_jobs, sizeof(q->k_jobs), "jobs");
        queue_key(q, q->k_sched, sizeof(q->k_sched), "scheduled");
        queue_key(q, q->k_dead, sizeof(q->k_dead), "dead");
        queue_key(q, q->k_events, sizeof(q->k_events), "events");

        rc = connect_now(q, err);
        if (rc < 0)
                goto out;
        *out = q;
        q = NULL;
out:
        queue_free(q);
        return rc;
}

void queue_free(struct queue *q)
{
        if (!q)
                return;
        if (q->ctx)
                redisFree(q->ctx);
        if (q->password) {
                explicit_bzero(q->password, strlen(q->password));
                free(q->password);
        }
        free(q->url);
        free(q->username);
        free(q->prefix);
        free(q->consumer);
        free(q->lean.el);
        free(q->lean.bytes);
        for (size_t i = 0; i < q->guard_argc; i++)
                free(q->guard_argv[i]);
        free(q->guard_argv);
        free(q->guard_lens);
        free(q);
}

int queue_reconnect(struct queue *q, struct error *err)
{
        q->n_txn = 0;   /* they die with the connection */
        if (q->ctx) {
                redisFree(q->ctx);
                q->ctx = NULL;
        }
        return connect_now(q, err);
}

int queue_set_timeout(struct queue *q, int ms)
{
        q->timeout_ms = ms;
        if (!q->ctx)
                return 0;
        struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
        return redisSetTimeout(q->ctx, tv) == REDIS_OK ? 0 : -EIO;
}

int queue_ensure_group(struct queue *q, struct error *err)
{
        return queue_group_create(q, "jobs", err);
}

static struct queue_entry *batch_push(struct queue_batch *b)
{
        if (b->n == b->cap) {
                b->cap = b->cap ? b->cap * 2 : 64;
                b->entries = xrealloc(b->entries, b->cap * sizeof(*b->entries));
        }
        struct queue_entry *e = &b->entries[b->n++];
        memset(e, 0, sizeof(*e));
        e->deliveries = 1;
        return e;
}

void queue_batch_clear(struct queue_batch *b)
{
        for (size_t i = 0; i < b->n; i++)
                free(b->entries[i].job);
        b->n = 0;
}

/* Appends the entries of a reply array [[id, [field, value, ...]], ...]. */
static void take_entries(struct queue_batch *b, const redisReply *arr)
{
        for (size_t i = 0; arr && arr->type == REDIS_REPLY_ARRAY && i < arr->elements; i++) {
                const redisReply *ent = arr->element[i];
                if (ent->type != REDIS_REPLY_ARRAY || ent->elements < 2 ||
                    ent->element[0]->type != REDIS_REPLY_STRING)
                        continue;
                struct queue_entry *e = batch_push(b);
                snprintf(e->id, sizeof(e->id), "%s", ent->element[0]->str);
                const redisReply *f = ent->element[1];
                for (size_t j = 0; f->type == REDIS_REPLY_ARRAY && j + 1 < f->elements; j += 2)
                        if (f->element[j]->type == REDIS_REPLY_STRING &&
                            strcmp(f->element[j]->str, "job") == 0 &&
                            f->element[j + 1]->type == REDIS_REPLY_STRING && !e->job)
                                e->job = xstrndup(f->element[j + 1]->str, f->element[j + 1]->len);
        }
}

/* Fills deliveries of entries [from, b->n) with XPENDING, one pipeline. */
static int fill_deliveries(struct queue *q, struct queue_batch *b, size_t from, struct error *err)
{
        int rc = 0;
        for (size_t i = from; i < b->n; i++)
                redisAppendCommand(q->ctx, "XPENDING %s %s %s %s 1", q->k_jobs, QUEUE_GROUP,
                                   b->entries[i].id, b->entries[i].id);
        for (size_t i = from; i < b->n; i++) {
                redisReply *r = NULL;
                if (redisGetReply(q->ctx, (void **)&r) != REDIS_OK)
                        r = NULL;
                int c = reply_check(q, r, "XPENDING", err);
                if (c) {
                        if (!rc)
                                rc = c;
                        if (c == -EIO)
                                return c;
                        continue;
                }
                /* [[id, consumer, idle, deliveries]] */
                if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
                    r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 4)
                        b->entries[i].deliveries = r->element[0]->element[3]->integer;
                freeReplyObject(r);
        }
        return rc;
}

int queue_read(struct queue *q, bool own_pending, int count, int block_ms,
               struct queue_batch *batch, struct error *err)
{
        redisReply *r;
        int rc;
        size_t from = batch->n;

        if (own_pending)
                r = command(q, err, &rc, "XREADGROUP",
                            "XREADGROUP GROUP %s %s COUNT %d STREAMS %s 0", QUEUE_GROUP,
                            q->consumer, count, q->k_jobs);
        else
                r = command(q, err, &rc, "XREADGROUP",
                            "XREADGROUP GROUP %s %s COUNT %d BLOCK %d STREAMS %s >", QUEUE_GROUP,
                            q->consumer, count, block_ms, q->k_jobs);
        if (rc)
                return rc;
        /* [[stream, [[id, fields], ...]]] or nil after BLOCK */
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
            r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2)
                take_entries(batch, r->element[0]->element[1]);
        freeReplyObject(r);
        if (own_pending && batch->n > from)
                return fill_deliveries(q, batch, from, err);
        return 0;
}

int queue_claim(struct queue *q, int64_t idle_ms, int count, struct queue_batch *batch,
                struct error *err)
{
        int rc;
        size_t from = batch->n;
        redisReply *r = command(q, err, &rc, "XAUTOCLAIM",
                                "XAUTOCLAIM %s %s %s %lld %s COUNT %d", q->k_jobs, QUEUE_GROUP,
                                q->consumer, (long long)idle_ms, q->claim_cursor, count);
        if (rc)
                return rc;
        /* Redis 7: [next cursor, claimed entries, deleted ids]. */
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2) {
                if (r->element[0]->type == REDIS_REPLY_STRING)
                        snprintf(q->claim_cursor, sizeof(q->claim_cursor), "%s",
                                 r->element[0]->str);
                take_entries(batch, r->element[1]);
        }
        freeReplyObject(r);
        if (batch->n > from)
                return fill_deliveries(q, batch, from, err);
        return 0;
}

int queue_promote(struct queue *q, int64_t now, int limit, int *moved, struct error *err)
{
        int rc;
        redisReply *r = command(q, err, &rc, "EVALSHA promote", "EVALSHA %s 2 %s %s %lld %d",
                                q->sha_promote, q->k_sched, q->k_jobs, (long long)now, limit);
        if (rc)
                return rc;
        *moved = r->type == REDIS_REPLY_INTEGER ? (int)r->integer : 0;
        freeReplyObject(r);
        return 0;
}

void queue_take_reminders_send(struct queue *q, const char *const *ids, size_t n,
                               const char *const *channels, size_t nch, int64_t lease_ms)
{
        size_t argc = 7 + nch + n;
        const char **argv = xcalloc(argc, sizeof(*argv));
        char lease[32], count[16];

        snprintf(lease, sizeof(lease), "%lld", (long long)lease_ms);
        snprintf(count, sizeof(count), "%zu", nch);
        argv[0] = "EVALSHA";
        argv[1] = q->sha_take;
        argv[2] = "0";
        argv[3] = q->prefix;
        argv[4] = lease;
        argv[5] = q->consumer ? q->consumer : "-";
        argv[6] = count;
        for (size_t c = 0; c < nch; c++)
                argv[7 + c] = channels[c];
        for (size_t i = 0; i < n; i++)
                argv[7 + nch + i] = ids[i];
        redisAppendCommandArgv(q->ctx, (int)argc, argv, NULL);
        free(argv);
}

int queue_take_reminders_reply(struct queue *q, size_t n, enum queue_take *take,
                               struct error *err)
{
        int rc = lean_get(q, true, "take reminders", err);
        if (rc)
                return rc;
        if (q->lean.type != REDIS_REPLY_ARRAY || q->lean.n_el != n)
                return error_set(err, -EPROTO, "redis take reminders: unexpected reply");
        for (size_t i = 0; i < n; i++)
                take[i] = q->lean.el[i].type == REDIS_REPLY_INTEGER
                                  ? (enum queue_take)q->lean.el[i].integer
                                  : QUEUE_TAKE_BUSY;
        return 0;
}

int queue_take_reminders(struct queue *q, const char *const *ids, size_t n,
                         const char *const *channels, size_t nch, int64_t lease_ms,
                         enum queue_take *take, struct error *err)
{
        queue_take_reminders_send(q, ids, n, channels, nch, lease_ms);
        return queue_take_reminders_reply(q, n, take, err);
}

/* --- the batch transaction --- */

/* One command's arguments, on the stack: appended straight into hiredis's
 * output buffer, so recording a job costs no allocation of ours. */
struct cmd {
        int argc;
        const char *argv[80];
        size_t lens[80];
        char nums[4][32];
        int n_nums;
        char key[256];
};

static void arg(struct cmd *c, const char *s)
{
        if (c->argc < 80) {
                c->argv[c->argc] = s;
                c->lens[c->argc++] = strlen(s);
        }
}

static void arg_num(struct cmd *c, long long v)
{
        char *out = c->nums[c->n_nums++];
        snprintf(out, sizeof(c->nums[0]), "%lld", v);
        arg(c, out);
}

/* Writes v in decimal at o; returns the end. */
static char *put_uint(char *o, size_t v)
{
        char tmp[24];
        int n = 0;
        do
                tmp[n++] = (char)('0' + v % 10);
        while ((v /= 10) > 0);
        while (n > 0)
                *o++ = tmp[--n];
        return o;
}

/* redisAppendCommandArgv without its sdscatfmt per argument (a tenth of
 * the CPU a worker spends on Redis): the protocol written here in one
 * pass, handed over as a formatted command. lens NULL: strlen. */
static void append_argv(struct queue *q, int argc, const char *const *argv, const size_t *lens)
{
        size_t len[80], total = 16;
        char stack[2048], *buf = stack;

        if (argc > 80) {
                redisAppendCommandArgv(q->ctx, argc, (const char **)argv, lens);
                return;
        }
        for (int i = 0; i < argc; i++) {
                len[i] = lens ? lens[i] : strlen(argv[i]);
                total += len[i] + 26;
        }
        if (total > sizeof(stack))
                buf = xmalloc(total);
        char *o = buf;
        *o++ = '*';
        o = put_uint(o, (size_t)argc);
        for (int i = 0; i < argc; i++) {
                memcpy(o, "\r\n$", 3);
                o = put_uint(o + 3, len[i]);
                *o++ = '\r';
                *o++ = '\n';
                memcpy(o, argv[i], len[i]);
                o += len[i];
        }
        *o++ = '\r';
        *o++ = '\n';
        redisAppendFormattedCommand(q->ctx, buf, (size_t)(o - buf));
        if (buf != stack)
                free(buf);
}

static void guard_push(struct queue *q, const char *arg, size_t len)
{
        if (q->guard_argc == q->guard_cap) {
                q->guard_cap = q->guard_cap ? 2 * q->guard_cap : 64;
                q->guard_argv = xrealloc(q->guard_argv, q->guard_cap * sizeof(*q->guard_argv));
                q->guard_lens = xrealloc(q->guard_lens, q->guard_cap * sizeof(*q->guard_lens));
        }
        char *copy = xmalloc(len + 1);
        memcpy(copy, arg, len);
        copy[len] = '\0';
        q->guard_argv[q->guard_argc] = copy;
        q->guard_lens[q->guard_argc++] = len;
}

/* A guarded command is kept for the EVAL of queue_txn_guard_end. */
static bool guard_keep(struct queue *q, int argc, const char *const *argv, const size_t *lens)
{
        if (!q->guarding)
                return false;
        /* A script cannot call a script (queue.h). */
        assert(strcasecmp(argv[0], "EVAL") != 0 && strcasecmp(argv[0], "EVALSHA") != 0);
        char n[24];
        snprintf(n, sizeof(n), "%d", argc);
        guard_push(q, n, strlen(n));
        for (int i = 0; i < argc; i++)
                guard_push(q, argv[i], lens ? lens[i] : strlen(argv[i]));
        return true;
}

/* MULTI goes out with the first command of a transaction. */
static void txn_begin(struct queue *q)
{
        static const char multi[] = "*1\r\n$5\r\nMULTI\r\n";
        if (q->n_txn == 0)
                redisAppendFormattedCommand(q->ctx, multi, sizeof(multi) - 1);
        q->n_txn++;
}

static void txn_append(struct queue *q, struct cmd *c)
{
        if (guard_keep(q, c->argc, c->argv, c->lens))
                return;
        txn_begin(q);
        append_argv(q, c->argc, c->argv, c->lens);
}

/* Runs the commands after ARGV[1] (each its argument count, then its
 * arguments) only while the jobs stream KEYS[1] still holds entry
 * ARGV[1]. Pending entries are never trimmed (queue_trim), so a missing
 * one was deleted on purpose: by dunningctl forget. */
static const char guard_lua[] =
        "if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then return 0 end\n"
        "local i = 2\n"
        "while i <= #ARGV do\n"
        "  local n = tonumber(ARGV[i])\n"
        "  redis.call(unpack(ARGV, i + 1, i + n))\n"
        "  i = i + n + 1\n"
        "end\n"
        "return 1\n";

void queue_txn_guard_begin(struct queue *q, const char *entry_id)
{
        assert(!q->guarding && q->guard_argc == 0);
        q->guarding = true;
        q->guard_argc = 0;
        snprintf(q->guard_entry, sizeof(q->guard_entry), "%s", entry_id);
}

void queue_txn_guard_end(struct queue *q)
{
        q->guarding = false;
        if (q->guard_argc == 0)
                return;
        size_t argc = 5 + q->guard_argc;
        const char **argv = xcalloc(argc, sizeof(*argv));
        size_t *lens = xcalloc(argc, sizeof(*lens));
        const char *head[] = { "EVAL", guard_lua, "1", q->k_jobs, q->guard_entry };
        for (size_t i = 0; i < 5; i++) {
                argv[i] = head[i];
                lens[i] = strlen(head[i]);
        }
        for (size_t i = 0; i < q->guard_argc; i++) {
                argv[5 + i] = q->guard_argv[i];
                lens[5 + i] = q->guard_lens[i];
        }
        txn_begin(q);
        append_argv(q, (int)argc, argv, lens);
        for (size_t i = 0; i < q->guard_argc; i++)
                free(q->guard_argv[i]);
        q->guard_argc = 0;
        free(argv);
        free(lens);
}

void queue_txn_sent(struct queue *q, const char *reminder_id, const char *channel, int ttl_s)
{
        struct cmd c = { 0 };
        snprintf(c.key, sizeof(c.key), "%s:sent:%s:%s", q->prefix, reminder_id, channel);
        arg(&c, "SET");
        arg(&c, c.key);
        arg_num(&c, (long long)now_ms());
        arg(&c, "EX");
        arg_num(&c, ttl_s);
        txn_append(q, &c);
}

void queue_sent_now(struct queue *q, const char *reminder_id, const char *channel, int ttl_s)
{
        char key[256], now[24], ttl[24];
        int done = 0;

        if (!q->ctx || q->ctx->err)
                return;
        snprintf(key, sizeof(key), "%s:sent:%s:%s", q->prefix, reminder_id, channel);
        snprintf(now, sizeof(now), "%lld", (long long)now_ms());
        snprintf(ttl, sizeof(ttl), "%d", ttl_s);
        const char *argv[] = { "SET", key, now, "EX", ttl };
        if (redisAppendCommandArgv(q->ctx, 5, argv, NULL) != REDIS_OK)
                return;
        q->n_sent_now++;
        /* On its way now: once in the socket, a crash of ours cannot stop it. */
        while (!done && redisBufferWrite(q->ctx, &done) == REDIS_OK)
                ;
}

int queue_sent_now_collect(struct queue *q, struct error *err)
{
        int rc = 0;
        for (; q->n_sent_now > 0; q->n_sent_now--) {
                int c = lean_get(q, false, "SET sent", err);
                if (c == -EIO) {
                        q->n_sent_now = 0;
                        return c;
                }
                if (c && rc == 0)
                        rc = c;
        }
        return rc;
}

void queue_txn_release(struct queue *q, const char *reminder_id)
{
        struct cmd c = { 0 };
        snprintf(c.key, sizeof(c.key), "%s:sending:%s", q->prefix, reminder_id);
        arg(&c, "DEL");
        arg(&c, c.key);
        txn_append(q, &c);
}

void queue_txn_event(struct queue *q, int64_t maxlen, const char *type, ...)
{
        struct cmd c = { 0 };
        va_list ap;

        arg(&c, "XADD");
        arg(&c, q->k_events);
        arg(&c, "MAXLEN");
        arg(&c, "~");
        arg_num(&c, (long long)maxlen);
        arg(&c, "*");
        arg(&c, "type");
        arg(&c, type);
        va_start(ap, type);
        for (;;) {
                const char *k = va_arg(ap, const char *);
                if (!k)
                        break;
                const char *v = va_arg(ap, const char *);
                if (v && c.argc + 2 <= 80) {
                        arg(&c, k);
                        arg(&c, v);
                }
        }
        va_end(ap);
        txn_append(q, &c);
}

void queue_txn_dead(struct queue *q, const char *job, const char *reason, const char *error,
                    int attempts, const char *entry_id)
{
        struct cmd c = { 0 };
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(c.key, sizeof(c.key), "%Y-%m-%dT%H:%M:%SZ", &tm);

        arg(&c, "XADD");
        arg(&c, q->k_dead);
        arg(&c, "*");
        arg(&c, "job");
        arg(&c, job ? job : "");
        arg(&c, "reason");
        arg(&c, reason);
        arg(&c, "error");
        arg(&c, error ? error : "");
        arg(&c, "attempts");
        arg_num(&c, attempts);
        arg(&c, "time");
        arg(&c, c.key);
        arg(&c, "entry");
        arg(&c, entry_id ? entry_id : "");
        txn_append(q, &c);
}

void queue_txn_schedule(struct queue *q, const char *job, int64_t due_ms)
{
        struct cmd c = { 0 };
        arg(&c, "ZADD");
        arg(&c, q->k_sched);
        arg_num(&c, (long long)due_ms);
        arg(&c, job);
        txn_append(q, &c);
}

void queue_txn_ack(struct queue *q, const char *entry_id)
{
        struct cmd c = { 0 };
        arg(&c, "XACK");
        arg(&c, q->k_jobs);
        arg(&c, QUEUE_GROUP);
        arg(&c, entry_id);
        txn_append(q, &c);
}

size_t queue_txn_size(const struct queue *q)
{
        return q->n_txn;
}

/* Reads the replies of MULTI, n queued commands and the closing EXEC or
 * DISCARD (the last one's type into *last); returns the first error. */
static int txn_replies(struct queue *q, size_t n, int *last, struct error *err)
{
        int rc = 0;
        struct error e;
        *last = -1;
        for (size_t i = 0; i < n + 2; i++) {
                int c = lean_get(q, false, "transaction", &e);
                if (c == -EIO) {
                        *err = e;
                        return c;
                }
                if (c && !rc) {
                        rc = c;
                        *err = e;
                }
        }
        *last = q->lean.type;
        return rc;
}

void queue_txn_discard(struct queue *q)
{
        struct error err;
        int last;
        size_t n = q->n_txn;

        if (n == 0 || !q->ctx)
                return;
        q->n_txn = 0;
        redisAppendCommand(q->ctx, "DISCARD");
        txn_replies(q, n, &last, &err);
}

int queue_txn_commit(struct queue *q, struct error *err)
{
        int rc;
        size_t n = q->n_txn;

        assert(!q->guarding);
        if (n == 0)
                return 0;
        q->n_txn = 0;
        redisAppendCommand(q->ctx, "EXEC");
        int last;
        rc = txn_replies(q, n, &last, err);
        if (last == REDIS_REPLY_NIL && !rc)
                rc = error_set(err, -EAGAIN, "redis transaction: a watched key changed");
        else if (last != REDIS_REPLY_ARRAY && !rc)
                rc = error_set(err, -EPROTO, "redis transaction aborted");
        return rc;
}

/* --- enqueueing and the operator's commands --- */

/* Reads the replies of n pipelined commands that answer an integer:
 * result[i] is it, or -1 for an error reply (the first error is
 * returned after all are read). -EIO at once when the connection is
 * gone with replies still owed. */
static int int_replies(struct queue *q, size_t n, int *result, const char *what,
                       struct error *err)
{
        int rc = 0;
        for (size_t i = 0; i < n; i++) {
                redisReply *r = NULL;
                result[i] = -1;
                if (redisGetReply(q->ctx, (void **)&r) != REDIS_OK)
                        r = NULL;
                int c = reply_check(q, r, what, err);
                if (c) {
                        if (c == -EIO)
                                return c;
                        rc = rc ? rc : c;
                        continue;
                }
                if (r->type == REDIS_REPLY_INTEGER)
                        result[i] = (int)r->integer;
                freeReplyObject(r);
        }
        return rc;
}

int queue_enqueue(struct queue *q, const char *const *job_ids, const char *const *jobs,
                  const int64_t *due_ms, size_t n, int64_t now, int ttl_s, int *result,
                  struct error *err)
{
        char marker[192], due[32], nows[32], ttl[16];

        snprintf(nows, sizeof(nows), "%lld", (long long)now);
        snprintf(ttl, sizeof(ttl), "%d", ttl_s);
        for (size_t i = 0; i < n; i++) {
                snprintf(marker, sizeof(marker), "%s:enqueued:%s", q->prefix, job_ids[i]);
                snprintf(due, sizeof(due), "%lld", (long long)due_ms[i]);
                const char *argv[] = { "EVALSHA", q->sha_enqueue, "3", marker, q->k_jobs,
                                       q->k_sched, jobs[i], due, nows, ttl };
                redisAppendCommandArgv(q->ctx, 10, argv, NULL);
        }
        return int_replies(q, n, result, "enqueue", err);
}

static long long int_reply(struct queue *q, const char *cmd, const char *key, struct error *err,
                           int *rc)
{
        redisReply *r = command(q, err, rc, cmd, "%s %s", cmd, key);
        if (*rc)
                return -1;
        long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
        freeReplyObject(r);
        return v;
}

/* Stream ids "ms-seq" compare as two numbers. */
static int id_cmp(const char *a, const char *b)
{
        unsigned long long ams = strtoull(a, NULL, 10), bms = strtoull(b, NULL, 10);
        const char *ad = strchr(a, '-'), *bd = strchr(b, '-');
        unsigned long long aseq = ad ? strtoull(ad + 1, NULL, 10) : 0;
        unsigned long long bseq = bd ? strtoull(bd + 1, NULL, 10) : 0;
        if (ams != bms)
                return ams < bms ? -1 : 1;
        return aseq < bseq ? -1 : aseq > bseq;
}

/* The value of name in a flat [name, value, ...] reply, or NULL. */
static const redisReply *map_get(const redisReply *r, const char *name)
{
        for (size_t j = 0; r && r->type == REDIS_REPLY_ARRAY && j + 1 < r->elements; j += 2)
                if (r->element[j]->str && strcmp(r->element[j]->str, name) == 0)
                        return r->element[j + 1];
        return NULL;
}

/* Our group's entry of XINFO GROUPS (the reply r stays the caller's). */
static const redisReply *our_group(const redisReply *r)
{
        for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
                const redisReply *name = map_get(r->element[i], "name");
                if (name && name->str && strcmp(name->str, QUEUE_GROUP) == 0)
                        return r->element[i];
        }
        return NULL;
}

/* XTRIM below what every consumer has acked. */
static int trim_acked(struct queue *q, long long *trimmed, struct error *err)
{
        int rc;
        char minid[48] = "";

        redisReply *r = command(q, err, &rc, "XINFO GROUPS", "XINFO GROUPS %s", q->k_jobs);
        if (rc)
                return rc == -EPROTO ? 0 : rc;   /* no stream yet */
        const redisReply *g = our_group(r);
        const redisReply *last = g ? map_get(g, "last-delivered-id") : NULL;
        if (last && last->str)
                snprintf(minid, sizeof(minid), "%s", last->str);
        freeReplyObject(r);
        if (!minid[0] || strcmp(minid, "0-0") == 0)
                return 0;

        /* [count, smallest id, greatest id, [[consumer, count], ...]] */
        r = command(q, err, &rc, "XPENDING", "XPENDING %s %s", q->k_jobs, QUEUE_GROUP);
        if (rc)
                return rc;
        /* MINID keeps ids >= the bound: the oldest pending entry, or the
         * last delivered one when nothing older is pending. */
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
            r->element[1]->type == REDIS_REPLY_STRING && id_cmp(r->element[1]->str, minid) < 0)
                snprintf(minid, sizeof(minid), "%s", r->element[1]->str);
        freeReplyObject(r);

        r = command(q, err, &rc, "XTRIM", "XTRIM %s MINID ~ %s", q->k_jobs, minid);
        if (rc)
                return rc;
        *trimmed = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
        freeReplyObject(r);
        return 0;
}

/* XGROUP DELCONSUMER for consumers of other processes that hold nothing
 * and were idle longer than idle_ms. */
static int forget_consumers(struct queue *q, int64_t idle_ms, int *removed, struct error *err)
{
        int rc;
        /* Our own process's consumers ("<host>-<pid>-<n>") are alive by
         * definition, however long they waited for work. */
        size_t own = 0;
        if (q->consumer && strrchr(q->consumer, '-'))
                own = (size_t)(strrchr(q->consumer, '-') - q->consumer) + 1;
        redisReply *r = command(q, err, &rc, "XINFO CONSUMERS", "XINFO CONSUMERS %s %s",
                                q->k_jobs, QUEUE_GROUP);
        if (rc)
                return rc == -EPROTO ? 0 : rc;   /* no group yet */
        for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
                const redisReply *name = map_get(r->element[i], "name");
                const redisReply *pending = map_get(r->element[i], "pending");
                const redisReply *idle = map_get(r->element[i], "idle");
                if (!name || !name->str || !pending || !idle || pending->integer != 0 ||
                    idle->integer < idle_ms || (own && strncmp(name->str, q->consumer, own) == 0))
                        continue;
                redisReply *d = redisCommand(q->ctx, "XGROUP DELCONSUMER %s %s %s", q->k_jobs,
                                             QUEUE_GROUP, name->str);
                if (!d) {
                        freeReplyObject(r);
                        return reply_check(q, d, "XGROUP DELCONSUMER", err);
                }
                if (d->type == REDIS_REPLY_INTEGER)
                        (*removed)++;
                freeReplyObject(d);
        }
        freeReplyObject(r);
        return 0;
}

int queue_housekeep(struct queue *q, int64_t consumer_idle_ms, long long *trimmed,
                    int *consumers_removed, struct error *err)
{
        *trimmed = 0;
        *consumers_removed = 0;
        int rc = trim_acked(q, trimmed, err);
        if (rc == 0)
                rc = forget_consumers(q, consumer_idle_ms, consumers_removed, err);
        return rc;
}

int queue_status(struct queue *q, struct queue_status *st, struct error *err)
{
        int rc;
        memset(st, 0, sizeof(*st));
        st->jobs = int_reply(q, "XLEN", q->k_jobs, err, &rc);
        if (!rc)
                st->scheduled = int_reply(q, "ZCARD", q->k_sched, err, &rc);
        if (!rc)
                st->dead = int_reply(q, "XLEN", q->k_dead, err, &rc);
        if (!rc)
                st->events = int_reply(q, "XLEN", q->k_events, err, &rc);
        if (rc)
                return rc;

        st->backlog = -1;
        redisReply *r = redisCommand(q->ctx, "XINFO GROUPS %s", q->k_jobs);
        if (!r)
                return reply_check(q, r, "XINFO GROUPS", err);
        const redisReply *g = our_group(r);
        const redisReply *lag = g ? map_get(g, "lag") : NULL;
        if (lag && lag->type == REDIS_REPLY_INTEGER)
                st->backlog = lag->integer;
        else if (g)
                st->backlog = -2;   /* Redis cannot tell (after deletions) */
        freeReplyObject(r);

        r = redisCommand(q->ctx, "XINFO CONSUMERS %s %s", q->k_jobs, QUEUE_GROUP);
        if (!r)
                return reply_check(q, r, "XINFO CONSUMERS", err);
        /* No group yet (nothing ever ran): zero pending, no consumers. */
        for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
                const redisReply *c = r->element[i];
                if (st->n_consumers >= sizeof(st->consumers) / sizeof(st->consumers[0]))
                        break;
                typeof(st->consumers[0]) *out = &st->consumers[st->n_consumers++];
                for (size_t j = 0; c->type == REDIS_REPLY_ARRAY && j + 1 < c->elements; j += 2) {
                        const char *k = c->element[j]->str;
                        const redisReply *v = c->element[j + 1];
                        if (!k)
                                continue;
                        if (strcmp(k, "name") == 0 && v->str)
                                snprintf(out->name, sizeof(out->name), "%s", v->str);
                        else if (strcmp(k, "pending") == 0)
                                out->pending = v->integer;
                        else if (strcmp(k, "idle") == 0)
                                out->idle_ms = v->integer;
                }
                st->pending += out->pending;
        }
        freeReplyObject(r);
        return 0;
}

int queue_ping(struct queue *q, struct error *err)
{
        int rc;
        redisReply *r = command(q, err, &rc, "PING", "PING");
        if (rc)
                return rc;
        /* A server still loading its data answers -LOADING, an error. */
        freeReplyObject(r);
        return 0;
}

static const char *field(const redisReply *f, const char *name)
{
        const redisReply *v = map_get(f, name);
        return v ? v->str : NULL;
}

int queue_dead_list(struct queue *q, size_t max, void (*fn)(const struct queue_dead *, void *),
                    void *data, struct error *err)
{
        int rc;
        redisReply *r = command(q, err, &rc, "XRANGE", "XRANGE %s - + COUNT %lld", q->k_dead, (long long)max);
        if (rc)
                return rc;
        for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
                const redisReply *e = r->element[i];
                if (e->type != REDIS_REPLY_ARRAY || e->elements < 2)
                        continue;
                struct queue_dead d = { .job = field(e->element[1], "job"),
                                        .reason = field(e->element[1], "reason"),
                                        .error = field(e->element[1], "error"),
                                        .attempts = field(e->element[1], "attempts"),
                                        .time = field(e->element[1], "time"),
                                        .entry = field(e->element[1], "entry") };
                snprintf(d.id, sizeof(d.id), "%s", e->element[0]->str);
                fn(&d, data);
        }
        freeReplyObject(r);
        return 0;
}

int queue_dead_get(struct queue *q, const char *id, char **job, struct error *err)
{
        int rc;
        redisReply *r = command(q, err, &rc, "XRANGE", "XRANGE %s %s %s", q->k_dead, id, id);
        if (rc)
                return rc;
        const char *j = NULL;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->elements >= 2)
                j = field(r->element[0]->element[1], "job");
        if (!j) {
                freeReplyObject(r);
                return error_set(err, -ENOENT, "no dead letter with id %s", id);
        }
        *job = xstrdup(j);
        freeReplyObject(r);
        return 0;
}

int queue_dead_requeue(struct queue *q, const char *id, const char *job, struct error *err)
{
        struct cmd add = { 0 }, del = { 0 };
        arg(&add, "XADD");
        arg(&add, q->k_jobs);
        arg(&add, "*");
        arg(&add, "job");
        arg(&add, job);
        txn_append(q, &add);
        arg(&del, "XDEL");
        arg(&del, q->k_dead);
        arg(&del, id);
        txn_append(q, &del);
        return queue_txn_commit(q, err);
}

int queue_dead_drop(struct queue *q, const char *id, struct error *err)
{
        int rc;
        redisReply *r = command(q, err, &rc, "XDEL", "XDEL %s %s", q->k_dead, id);
        if (rc)
                return rc;
        long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
        freeReplyObject(r);
        return n == 1 ? 0 : error_set(err, -ENOENT, "no dead letter with id %s", id);
}

/* --- the operator's view: walks and counts over the dead and events streams --- */

/* KEYS: dead, jobs. ARGV: dead id, job. The XDEL decides: when two
 * operators retry one entry at once, only the one that deleted it adds
 * the job back. */
static const char dead_retry_lua[] =
        "if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return 0 end\n"
        "redis.call('XADD', KEYS[2], '*', 'job', ARGV[2])\n"
        "return 1\n";

/* KEYS: a stream. ARGV: start, end, count, field. Counts the values of
 * field over at most count entries in [start, end]; returns {entries seen,
 * last id or '', value, count, value, count, ...}. */
static const char tally_lua[] =
        "local r = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[2], 'COUNT', ARGV[3])\n"
        "local n, order = {}, {}\n"
        "for _, e in ipairs(r) do\n"
        "  local f, v = e[2], ''\n"
        "  for i = 1, #f - 1, 2 do\n"
        "    if f[i] == ARGV[4] then v = f[i + 1]; break end\n"
        "  end\n"
        "  if not n[v] then n[v] = 0; order[#order + 1] = v end\n"
        "  n[v] = n[v] + 1\n"
        "end\n"
        "local out = { #r, #r > 0 and r[#r][1] or '' }\n"
        "for _, v in ipairs(order) do out[#out + 1] = v; out[#out + 1] = n[v] end\n"
        "return out\n";

/* Entries per round trip of a walk or a count: a few ms of Redis time. */
#define WALK_PAGE 1000

struct dead_walk {
        int (*fn)(const struct queue_dead *, void *);
        void *data;
};

static int dead_entry(const struct queue_fields *rec, void *arg)
{
        struct dead_walk *w = arg;
        struct queue_dead d = { .job = queue_fields_get(rec, "job"),
                                .reason = queue_fields_get(rec, "reason"),
                                .error = queue_fields_get(rec, "error"),
                                .attempts = queue_fields_get(rec, "attempts"),
                                .time = queue_fields_get(rec, "time"),
                                .entry = queue_fields_get(rec, "entry") };
        snprintf(d.id, sizeof(d.id), "%s", rec->id);
        return w->fn(&d, w->data);
}

int queue_dead_range(struct queue *q, const char *from, const char *to, size_t page,
                     int (*fn)(const struct queue_dead *, void *), void *data,
                     struct error *err)
{
        struct dead_walk w = { fn, data };
        return queue_stream_walk(q, q->k_dead, from, to, page, dead_entry, &w, err);
}

int queue_dead_last(struct queue *q, char id[48], struct error *err)
{
        int rc;
        redisReply *r = command(q, err, &rc, "XREVRANGE", "XREVRANGE %s + - COUNT 1", q->k_dead);
        if (rc)
                return rc;
        id[0] = '\0';
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
            r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 1 &&
            r->element[0]->element[0]->type == REDIS_REPLY_STRING)
                snprintf(id, 48, "%s", r->element[0]->element[0]->str);
        freeReplyObject(r);
        return 0;
}

int queue_dead_retry(struct queue *q, const char *const *ids, const char *const *jobs,
                     size_t n, int *result, struct error *err)
{
        for (size_t i = 0; i < n; i++) {
                const char *argv[] = { "EVAL", dead_retry_lua, "2", q->k_dead, q->k_jobs,
                                       ids[i], jobs[i] };
                redisAppendCommandArgv(q->ctx, 7, argv, NULL);
        }
        return int_replies(q, n, result, "dead retry", err);
}

int queue_dead_drop_many(struct queue *q, const char *const *ids, size_t n, int *result,
                         struct error *err)
{
        for (size_t i = 0; i < n; i++) {
                const char *argv[] = { "XDEL", q->k_dead, ids[i] };
                redisAppendCommandArgv(q->ctx, 3, argv, NULL);
        }
        /* XDEL of one id answers 1 (deleted) or 0 (not there). */
        return int_replies(q, n, result, "XDEL", err);
}

static void tally_add(struct queue_tally *t, const char *value, size_t len, long long count)
{
        char v[64];
        size_t i;

        snprintf(v, sizeof(v), "%.*s", (int)len, value);
        for (i = 0; i < t->n && strcmp(t->v[i].value, v) != 0; i++)
                ;
        if (i == t->n) {
                if (t->n == QUEUE_TALLY_MAX) {
                        t->other += count;
                        return;
                }
                memcpy(t->v[t->n++].value, v, sizeof(v));
        }
        t->v[i].count += count;
}

/* Counts field over key's entries in [from, to], page by page. */
static int tally(struct queue *q, const char *key, const char *from, const char *to,
                 const char *field_name, struct queue_tally *t, struct error *err)
{
        char start[56], count[16];
        int rc;

        memset(t, 0, sizeof(*t));
        snprintf(start, sizeof(start), "%s", from);
        snprintf(count, sizeof(count), "%d", WALK_PAGE);
        for (;;) {
                const char *argv[] = { "EVAL", tally_lua, "1", key, start, to, count, field_name };
                redisReply *r = redisCommandArgv(q->ctx, 8, argv, NULL);
                rc = reply_check(q, r, "count entries", err);
                if (rc)
                        return rc;
                if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
                    r->element[0]->type != REDIS_REPLY_INTEGER ||
                    r->element[1]->type != REDIS_REPLY_STRING) {
                        freeReplyObject(r);
                        return error_set(err, -EPROTO, "redis count entries: unexpected reply");
                }
                long long seen = r->element[0]->integer;
                t->total += seen;
                for (size_t i = 2; i + 1 < r->elements; i += 2)
                        if (r->element[i]->type == REDIS_REPLY_STRING &&
                            r->element[i + 1]->type == REDIS_REPLY_INTEGER)
                                tally_add(t, r->element[i]->str, r->element[i]->len,
                                          r->element[i + 1]->integer);
                snprintf(start, sizeof(start), "(%s", r->element[1]->str);
                freeReplyObject(r);
                if (seen < WALK_PAGE)
                        return 0;
        }
}

int queue_dead_reasons(struct queue *q, struct queue_tally *t, struct error *err)
{
        return tally(q, q->k_dead, "-", "+", "reason", t, err);
}

int queue_recent_events(struct queue *q, int64_t window_ms, struct queue_tally *t,
                        struct error *err)
{
        char from[32], to[32];
        int rc;

        /* Redis's clock, not ours: the ids were made by it */
        redisReply *r = command(q, err, &rc, "TIME", "TIME");
        if (rc)
                return rc;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !r->element[0]->str ||
            !r->element[1]->str) {
                freeReplyObject(r);
                return error_set(err, -EPROTO, "redis TIME: unexpected reply");
        }
        long long now = strtoll(r->element[0]->str, NULL, 10) * 1000 +
                        strtoll(r->element[1]->str, NULL, 10) / 1000;
        freeReplyObject(r);
        /* an id of only a time covers every sequence number of that ms;
         * the end bound keeps a busy stream from outrunning the count */
        snprintf(from, sizeof(from), "%lld", now - window_ms > 0 ? now - window_ms : 0);
        snprintf(to, sizeof(to), "%lld", now);
        return tally(q, q->k_events, from, to, "type", t, err);
}

/* --- pay links, SMS delivery reports, outside events --- */

int queue_paylinks_get(struct queue *q, const char *const *ids, size_t n,
                       struct queue_paylink *out, struct error *err)
{
        char key[256];
        int rc = 0;

        for (size_t i = 0; i < n; i++) {
                snprintf(key, sizeof(key), "%s:paylink:%s", q->prefix, ids[i]);
                redisAppendCommand(q->ctx, "HMGET %s id url expires_ms", key);
        }
        for (size_t i = 0; i < n; i++) {
                redisReply *r = NULL;
                memset(&out[i], 0, sizeof(out[i]));
                if (redisGetReply(q->ctx, (void **)&r) != REDIS_OK)
                        r = NULL;
                int one = reply_check(q, r, "HMGET paylink", err);
                if (one < 0) {
                        rc = rc ? rc : one;
                        if (!r)
                                return rc;   /* the connection is gone */
                        continue;
                }
                if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[1]->str) {
                        if (r->element[0]->str)
                                snprintf(out[i].id, sizeof(out[i].id), "%s", r->element[0]->str);
                        snprintf(out[i].url, sizeof(out[i].url), "%s", r->element[1]->str);
                        if (r->element[2]->str)
                                out[i].expires_ms = strtoll(r->element[2]->str, NULL, 10);
                }
                freeReplyObject(r);
        }
        return rc;
}

void queue_txn_paylink(struct queue *q, const char *reminder_id, const struct queue_paylink *l,
                       int ttl_s)
{
        struct cmd c = { 0 };
        snprintf(c.key, sizeof(c.key), "%s:paylink:%s", q->prefix, reminder_id);
        arg(&c, "HSET");
        arg(&c, c.key);
        arg(&c, "id");
        arg(&c, l->id);
        arg(&c, "url");
        arg(&c, l->url);
        arg(&c, "expires_ms");
        arg_num(&c, (long long)l->expires_ms);
        txn_append(q, &c);

        struct cmd e = { 0 };
        arg(&e, "EXPIRE");
        arg(&e, c.key);
        arg_num(&e, ttl_s);
        txn_append(q, &e);

        if (l->id[0]) {
                /* The webhook knows the link by its id. */
                struct cmd x = { 0 };
                snprintf(x.key, sizeof(x.key), "%s:paylink-id:%s", q->prefix, l->id);
                arg(&x, "SET");
                arg(&x, x.key);
                arg(&x, reminder_id);
                arg(&x, "EX");
                arg_num(&x, ttl_s);
                txn_append(q, &x);
        }
}

int queue_paylink_reminder(struct queue *q, const char *link_id, char reminder[20],
                           struct error *err)
{
        int rc;
        redisReply *r = command(q, err, &rc, "GET paylink-id", "GET %s:paylink-id:%s", q->prefix,
                                link_id);
        if (rc)
                return rc;
        rc = r->type == REDIS_REPLY_STRING && r->len < 20 ? 0 : -ENOENT;
        if (rc == 0)
                snprintf(reminder, 20, "%s", r->str);
        freeReplyObject(r);
        return rc;
}

/* One string, "<reminder>\n<segment>\n<job>" (a compact JSON text has no
 * raw line break), with its time to live in the same SET: half the
 * commands of a hash and an EXPIRE, for every SMS. */
void queue_txn_sms_sent(struct queue *q, const char *provider_id, const char *reminder_id,
                        const char *job, const char *segment, int ttl_s)
{
        struct cmd c = { 0 };
        struct buf v = BUF_INIT;
        buf_printf(&v, "%s\n%s\n%s", reminder_id, segment, job);
        snprintf(c.key, sizeof(c.key), "%s:sms:%s", q->prefix, provider_id);
        arg(&c, "SET");
        arg(&c, c.key);
        arg(&c, buf_str(&v));
        arg(&c, "EX");
        arg_num(&c, ttl_s);
        txn_append(q, &c);
        buf_free(&v);
}

int queue_sms_lookup(struct queue *q, const char *provider_id, char reminder[20], char **job,
                     char segment[32], struct error *err)
{
        int rc;
        segment[0] = '\0';
        redisReply *r = redisCommand(q->ctx, "GET %s:sms:%s", q->prefix, provider_id);
        if (r && r->type == REDIS_REPLY_STRING) {
                const char *a = memchr(r->str, '\n', r->len);
                const char *b = a ? memchr(a + 1, '\n', r->len - (size_t)(a + 1 - r->str)) : NULL;
                rc = -ENOENT;
                if (b && a - r->str < 20 && b - a - 1 < 32) {
                        snprintf(reminder, 20, "%.*s", (int)(a - r->str), r->str);
                        snprintf(segment, 32, "%.*s", (int)(b - a - 1), a + 1);
                        *job = xstrndup(b + 1, r->len - (size_t)(b + 1 - r->str));
                        rc = 0;
                }
                freeReplyObject(r);
                return rc;
        }
        if (r && r->type == REDIS_REPLY_NIL) {
                freeReplyObject(r);
                return -ENOENT;
        }
        if (!r || (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "WRONGTYPE", 9) != 0))
                return reply_check(q, r, "GET sms", err);
        if (r->type != REDIS_REPLY_ERROR) {
                freeReplyObject(r);
                return error_set(err, -EPROTO, "redis GET sms: unexpected reply");
        }
        freeReplyObject(r);
        /* A record kept as a hash, before it was one string. */
        r = command(q, err, &rc, "HMGET sms", "HMGET %s:sms:%s reminder job segment",
                    q->prefix, provider_id);
        if (rc)
                return rc;
        rc = -ENOENT;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[0]->str &&
            r->element[1]->str && r->element[0]->len < 20) {
                snprintf(reminder, 20, "%s", r->element[0]->str);
                *job = xstrdup(r->element[1]->str);
                if (r->element[2]->str && r->element[2]->len < 32)
                        snprintf(segment, 32, "%s", r->element[2]->str);
                rc = 0;
        }
        freeReplyObject(r);
        return rc;
}

int queue_sent_channel(struct queue *q, const char *reminder_id, const char *const *channels,
                       size_t n, struct error *err)
{
        int rc, found = -ENOENT;
        for (size_t i = 0; i < n && found < 0; i++) {
                redisReply *r = command(q, err, &rc, "EXISTS sent", "EXISTS %s:sent:%s:%s",
                                        q->prefix, reminder_id, channels[i]);
                if (rc)
                        return rc;
                if (r->type == REDIS_REPLY_INTEGER && r->integer > 0)
                        found = (int)i;
                freeReplyObject(r);
        }
        return found;
}

/* KEYS: marker, stream, jobs stream, key to delete ("" for none).
 * ARGV: ttl, maxlen, job ("" for none), then field/value pairs. */
static const char record_once_lua[] =
        "if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', tonumber(ARGV[1])) then "
        "  return 0 "
        "end "
        "local f = {} "
        "for i = 4, #ARGV do f[#f + 1] = ARGV[i] end "
        "redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(f)) "
        "if ARGV[3] ~= '' then redis.call('XADD', KEYS[3], '*', 'job', ARGV[3]) end "
        "if KEYS[4] ~= '' then redis.call('DEL', KEYS[4]) end "
        "return 1";

int queue_record_once(struct queue *q, const char *marker, int ttl_s, const char *stream,
                      int64_t maxlen, const char *const *fields, size_t n_fields,
                      const char *requeue_job, const char *del_key, struct error *err)
{
        char k_marker[256], k_stream[160], k_del[256], ttl[24], max[24];
        const char *argv[64];
        size_t len[64];
        size_t argc = 0;

        if (n_fields == 0 || n_fields % 2 || n_fields > 40)
                return error_set(err, -EINVAL, "record_once: bad field list");
        snprintf(k_marker, sizeof(k_marker), "%s:%s", q->prefix, marker);
        snprintf(k_stream, sizeof(k_stream), "%s:%s", q->prefix, stream);
        if (del_key)
                snprintf(k_del, sizeof(k_del), "%s:%s", q->prefix, del_key);
        else
                k_del[0] = '\0';
        snprintf(ttl, sizeof(ttl), "%d", ttl_s);
        snprintf(max, sizeof(max), "%lld", (long long)maxlen);
        argv[argc++] = "EVAL";
        argv[argc++] = record_once_lua;
        argv[argc++] = "4";
        argv[argc++] = k_marker;
        argv[argc++] = k_stream;
        argv[argc++] = q->k_jobs;
        argv[argc++] = k_del;
        argv[argc++] = ttl;
        argv[argc++] = max;
        argv[argc++] = requeue_job ? requeue_job : "";
        for (size_t i = 0; i < n_fields; i++)
                argv[argc++] = fields[i] ? fields[i] : "";
        for (size_t i = 0; i < argc; i++)
                len[i] = strlen(argv[i]);
        redisReply *r = redisCommandArgv(q->ctx, (int)argc, argv, len);
        int rc = reply_check(q, r, "record once", err);
        if (rc)
                return rc;
        rc = r->type == REDIS_REPLY_INTEGER ? (int)r->integer : 0;
        freeReplyObject(r);
        return rc;
}

/* ARGV: prefix, lease ms, then reminder id and owner pairs. */
static const char renew_lua[] =
        "local p, lease = ARGV[1], ARGV[2]\n"
        "local out = {}\n"
        "for i = 3, #ARGV, 2 do\n"
        "  local lock = p .. ':sending:' .. ARGV[i]\n"
        "  if redis.call('GET', lock) == ARGV[i + 1] then\n"
        "    redis.call('PEXPIRE', lock, lease)\n"
        "    out[#out + 1] = 1\n"
        "  else out[#out + 1] = 0 end\n"
        "end\n"
        "return out\n";

int queue_renew_leases(struct queue *q, const char *const *ids, const char *const *owners,
                       size_t n, int64_t lease_ms, bool *held, struct error *err)
{
        size_t argc = 5 + 2 * n;
        const char **argv = xcalloc(argc, sizeof(*argv));
        char lease[32];
        int rc;

        if (n == 0) {
                free(argv);
                return 0;
        }
        snprintf(lease, sizeof(lease), "%lld", (long long)lease_ms);
        argv[0] = "EVAL";
        argv[1] = renew_lua;
        argv[2] = "0";
        argv[3] = q->prefix;
        argv[4] = lease;
        for (size_t i = 0; i < n; i++) {
                argv[5 + 2 * i] = ids[i];
                argv[6 + 2 * i] = owners ? owners[i] : q->consumer ? q->consumer : "-";
        }
        redisReply *r = redisCommandArgv(q->ctx, (int)argc, argv, NULL);
        free(argv);
        rc = reply_check(q, r, "renew leases", err);
        if (rc)
                return rc;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
                freeReplyObject(r);
                return error_set(err, -EPROTO, "redis renew leases: unexpected reply");
        }
        for (size_t i = 0; i < n; i++)
                held[i] = r->element[i]->type == REDIS_REPLY_INTEGER && r->element[i]->integer == 1;
        freeReplyObject(r);
        return 0;
}

/* --- generic access: hashes, other streams, scripts, optimistic locking --- */

static void fields_take(struct queue_fields *f, const redisReply *arr)
{
        size_t n = arr && arr->type == REDIS_REPLY_ARRAY ? arr->elements / 2 : 0;
        size_t bytes = 2 * n * sizeof(*f->kv);

        f->kv = NULL;
        f->block = NULL;
        f->n = 0;
        if (!n)
                return;
        for (size_t i = 0; i < 2 * n; i++)
                if (arr->element[i]->type == REDIS_REPLY_STRING)
                        bytes += arr->element[i]->len + 1;
        f->block = xmalloc(bytes);
        f->kv = f->block;
        char *at = (char *)(f->kv + 2 * n);
        for (size_t i = 0; i < n; i++) {
                const redisReply *k = arr->element[2 * i], *v = arr->element[2 * i + 1];
                if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
                        continue;
                for (int j = 0; j < 2; j++) {
                        const redisReply *s = j ? v : k;
                        memcpy(at, s->str, s->len);
                        at[s->len] = '\0';
                        f->kv[2 * f->n + j] = at;
                        at += s->len + 1;
                }
                f->n++;
        }
}

/* f from the field/value pairs of the last lean reply (keep): one
 * allocation. */
static void fields_from_lean(const struct queue *q, struct queue_fields *f)
{
        const struct queue_lean *l = &q->lean;
        size_t n = l->type == REDIS_REPLY_ARRAY ? l->n_el / 2 : 0;

        f->kv = NULL;
        f->block = NULL;
        f->n = 0;
        if (!n)
                return;
        f->block = xmalloc(2 * n * sizeof(*f->kv) + l->n_bytes);
        f->kv = f->block;
        char *bytes = (char *)(f->kv + 2 * n);
        memcpy(bytes, l->bytes, l->n_bytes);
        for (size_t i = 0; i < n; i++) {
                const char *k = lean_str(q, 2 * i), *v = lean_str(q, 2 * i + 1);
                if (!k || !v)
                        continue;
                f->kv[2 * f->n] = bytes + (k - l->bytes);
                f->kv[2 * f->n + 1] = bytes + (v - l->bytes);
                f->n++;
        }
}

void queue_fields_free(struct queue_fields *f)
{
        if (!f)
                return;
        if (f->block) {
                free(f->block);
        } else {
                for (size_t i = 0; i < 2 * f->n; i++)
                        free(f->kv[i]);
                free(f->kv);
        }
        f->kv = NULL;
        f->block = NULL;
        f->n = 0;
}

const char *queue_fields_get(const struct queue_fields *f, const char *name)
{
        for (size_t i = 0; i < f->n; i++)
                if (strcmp(f->kv[2 * i], name) == 0)
                        return f->kv[2 * i + 1];
        return NULL;
}

void queue_hashes_send(struct queue *q, const char *const *keys, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                const char *argv[] = { "HGETALL", keys[i] };
                redisAppendCommandArgv(q->ctx, 2, argv, NULL);
        }
}

int queue_hashes_reply(struct queue *q, size_t n, struct queue_fields *out, struct error *err)
{
        int rc = 0;
        for (size_t i = 0; i < n; i++)
                memset(&out[i], 0, sizeof(out[i]));
        for (size_t i = 0; i < n; i++) {
                struct error e;
                int c = lean_get(q, true, "HGETALL", &e);
                if (c) {
                        if (!rc || c == -EIO)
                                *err = e;
                        if (c == -EIO)
                                return c;
                        rc = rc ? rc : c;
                        continue;
                }
                fields_from_lean(q, &out[i]);
        }
        return rc;
}

int queue_hashes_get(struct queue *q, const char *const *keys, size_t n,
                     struct queue_fields *out, struct error *err)
{
        queue_hashes_send(q, keys, n);
        return queue_hashes_reply(q, n, out, err);
}

int queue_group_create(struct queue *q, const char *stream, struct error *err)
{
        char key[160];
        queue_key(q, key, sizeof(key), stream);
        redisReply *r = redisCommand(q->ctx, "XGROUP CREATE %s %s 0 MKSTREAM", key, QUEUE_GROUP);
        if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) == 0) {
                freeReplyObject(r);
                return 0;
        }
        int rc = reply_check(q, r, "XGROUP CREATE", err);
        if (!rc)
                freeReplyObject(r);
        return rc;
}

/* Appends the entries [[id, [field, value, ...]], ...] of arr to *out. */
static void records_take(struct queue_fields **out, size_t *n, const redisReply *arr)
{
        for (size_t i = 0; arr && arr->type == REDIS_REPLY_ARRAY && i < arr->elements; i++) {
                const redisReply *ent = arr->element[i];
                if (ent->type != REDIS_REPLY_ARRAY || ent->elements < 2 ||
                    ent->element[0]->type != REDIS_REPLY_STRING)
                        continue;
                *out = xrealloc(*out, (*n + 1) * sizeof(**out));
                struct queue_fields *f = &(*out)[(*n)++];
                memset(f, 0, sizeof(*f));
                snprintf(f->id, sizeof(f->id), "%s", ent->element[0]->str);
                fields_take(f, ent->element[1]);
        }
}

int queue_stream_read(struct queue *q, const char *stream, bool own_pending, int count,
                      int block_ms, struct queue_fields **out, size_t *n, struct error *err)
{
        char key[160];
        int rc;
        redisReply *r;

        queue_key(q, key, sizeof(key), stream);
        if (own_pending)
                r = command(q, err, &rc, "XREADGROUP",
                            "XREADGROUP GROUP %s %s COUNT %d STREAMS %s 0", QUEUE_GROUP,
                            q->consumer, count, key);
        else
                r = command(q, err, &rc, "XREADGROUP",
                            "XREADGROUP GROUP %s %s COUNT %d BLOCK %d STREAMS %s >", QUEUE_GROUP,
                            q->consumer, count, block_ms, key);
        if (rc)
                return rc;
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
            r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2)
                records_take(out, n, r->element[0]->element[1]);
        freeReplyObject(r);
        return 0;
}

int queue_stream_last(struct queue *q, const char *stream, int count,
                      struct queue_fields **out, size_t *n, struct error *err)
{
        char key[160];
        int rc;

        queue_key(q, key, sizeof(key), stream);
        redisReply *r = command(q, err, &rc, "XREVRANGE", "XREVRANGE %s + - COUNT %d", key, count);
        if (rc)
                return rc;
        if (r->type == REDIS_REPLY_ARRAY)
                records_take(out, n, r);
        freeReplyObject(r);
        return 0;
}

int queue_stream_len(struct queue *q, const char *stream, long long *len, struct error *err)
{
        char key[160];
        int rc;

        queue_key(q, key, sizeof(key), stream);
        *len = int_reply(q, "XLEN", key, err, &rc);
        return rc;
}

int queue_stream_claim(struct queue *q, const char *stream, int64_t idle_ms, int count,
                       struct queue_fields **out, size_t *n, struct error *err)
{
        char key[160];
        int rc;

        queue_key(q, key, sizeof(key), stream);
        redisReply *r = command(q, err, &rc, "XAUTOCLAIM", "XAUTOCLAIM %s %s %s %lld 0-0 COUNT %d",
                                key, QUEUE_GROUP, q->consumer, (long long)idle_ms, count);
        if (rc)
                return rc;
        /* Redis 7: [next cursor, claimed entries, deleted ids]. */
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2)
                records_take(out, n, r->element[1]);
        freeReplyObject(r);
        return 0;
}

void queue_records_free(struct queue_fields *recs, size_t n)
{
        for (size_t i = 0; i < n; i++)
                queue_fields_free(&recs[i]);
        free(recs);
}

void queue_txn_ack_stream(struct queue *q, const char *stream, const char *entry_id)
{
        struct cmd c = { 0 };
        queue_key(q, c.key, sizeof(c.key), stream);
        arg(&c, "XACK");
        arg(&c, c.key);
        arg(&c, QUEUE_GROUP);
        arg(&c, entry_id);
        txn_append(q, &c);
}

void queue_txn_argv(struct queue *q, int argc, const char *const *argv)
{
        if (guard_keep(q, argc, argv, NULL))
                return;
        txn_begin(q);
        append_argv(q, argc, argv, NULL);
}

int queue_script_add(struct queue *q, const char *src, struct error *err)
{
        for (int i = 0; i < q->n_scripts; i++)
                if (q->scripts[i] == src)
                        return i;
        /* Loading talks to Redis: not in the middle of a transaction. */
        if (q->n_txn)
                return error_set(err, -EBUSY, "script not loaded before the transaction");
        if (q->n_scripts == QUEUE_SCRIPTS_MAX)
                return error_set(err, -ENOSPC, "too many scripts");
        int i = q->n_scripts;
        int rc = load_script(q, src, q->script_sha[i], err);
        if (rc < 0)
                return rc;
        q->scripts[i] = src;
        q->n_scripts++;
        return i;
}

static redisReply *script_run(struct queue *q, int script, int nkeys, int argc,
                              const char *const *argv, struct error *err, int *rc);

int queue_script_call(struct queue *q, int script, int nkeys, int argc, const char *const *argv,
                      long long *result, struct error *err)
{
        int rc;
        redisReply *r = script_run(q, script, nkeys, argc, argv, err, &rc);
        if (!r)
                return rc;
        if (result)
                *result = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
        freeReplyObject(r);
        return 0;
}

/* EVALSHA, and EVAL with the source when Redis lost the script (SCRIPT
 * FLUSH, a failover to a replica that never loaded it). */
static redisReply *script_run(struct queue *q, int script, int nkeys, int argc,
                              const char *const *argv, struct error *err, int *rc)
{
        const char *a[256];
        char nk[16];
        int n = 0;

        if (script < 0 || script >= q->n_scripts || argc + 3 > 256) {
                *rc = error_set(err, -EINVAL, "script call: bad arguments");
                return NULL;
        }
        snprintf(nk, sizeof(nk), "%d", nkeys);
        a[n++] = "EVALSHA";
        a[n++] = q->script_sha[script];
        a[n++] = nk;
        for (int i = 0; i < argc; i++)
                a[n++] = argv[i] ? argv[i] : "";
        redisReply *r = redisCommandArgv(q->ctx, n, a, NULL);
        if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
                freeReplyObject(r);
                a[0] = "EVAL";
                a[1] = q->scripts[script];
                r = redisCommandArgv(q->ctx, n, a, NULL);
        }
        *rc = reply_check(q, r, "EVALSHA", err);
        return *rc ? NULL : r;
}

int queue_script_ints(struct queue *q, int script, int nkeys, int argc, const char *const *argv,
                      long long *out, size_t max, size_t *n, struct error *err)
{
        int rc;
        redisReply *r = script_run(q, script, nkeys, argc, argv, err, &rc);
        if (!r)
                return rc;
        *n = 0;
        if (r->type == REDIS_REPLY_ARRAY)
                for (size_t i = 0; i < r->elements && *n < max; i++)
                        out[(*n)++] = r->element[i]->type == REDIS_REPLY_INTEGER
                                              ? r->element[i]->integer : 0;
        freeReplyObject(r);
        return 0;
}

int queue_watch(struct queue *q, const char *const *keys, size_t n, struct error *err)
{
        const char *a[64];
        if (n == 0 || n > 63)
                return error_set(err, -EINVAL, "watch: 1..63 keys");
        a[0] = "WATCH";
        for (size_t i = 0; i < n; i++)
                a[i + 1] = keys[i];
        redisReply *r = redisCommandArgv(q->ctx, (int)n + 1, a, NULL);
        int rc = reply_check(q, r, "WATCH", err);
        if (!rc)
                freeReplyObject(r);
        return rc;
}

void queue_unwatch(struct queue *q)
{
        freeReplyObject(redisCommand(q->ctx, "UNWATCH"));
}

int queue_exists(struct queue *q, const char *key, struct error *err)
{
        const char *a[] = { "EXISTS", key };
        redisReply *r = redisCommandArgv(q->ctx, 2, a, NULL);
        int rc = reply_check(q, r, "EXISTS", err);
        if (rc)
                return rc;
        rc = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
        freeReplyObject(r);
        return rc;
}

int queue_get(struct queue *q, const char *key, char **out, struct error *err)
{
        const char *a[] = { "GET", key };
        *out = NULL;
        redisReply *r = redisCommandArgv(q->ctx, 2, a, NULL);
        int rc = reply_check(q, r, "GET", err);
        if (rc)
                return rc;
        if (r->type == REDIS_REPLY_STRING)
                *out = xstrndup(r->str, r->len);
        else
                rc = -ENOENT;
        freeReplyObject(r);
        return rc;
}

static char *num_text(long long v)
{
        char b[24];
        snprintf(b, sizeof(b), "%lld", v);
        return xstrdup(b);
}

/* Strings of r into the growing array, nested arrays flattened. */
static void strings_of(const redisReply *r, char ***out, size_t *n, size_t *cap)
{
        if (r->type == REDIS_REPLY_ARRAY) {
                for (size_t i = 0; i < r->elements; i++)
                        strings_of(r->element[i], out, n, cap);
                return;
        }
        if (*n == *cap) {
                *cap = *cap ? 2 * *cap : 16;
                *out = xrealloc(*out, *cap * sizeof(**out));
        }
        if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
                (*out)[(*n)++] = xstrndup(r->str, r->len);
        else if (r->type == REDIS_REPLY_INTEGER)
                (*out)[(*n)++] = num_text(r->integer);
        else
                (*out)[(*n)++] = xstrdup("");
}

int queue_strings(struct queue *q, int argc, const char *const *argv, char ***out, size_t *n,
                  struct error *err)
{
        size_t cap = 0;
        *out = NULL;
        *n = 0;
        redisReply *r = redisCommandArgv(q->ctx, argc, (const char **)argv, NULL);
        int rc = reply_check(q, r, argv[0], err);
        if (rc)
                return rc;
        strings_of(r, out, n, &cap);
        freeReplyObject(r);
        return 0;
}

void queue_strings_free(char **v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}
/* --- walks over whole keyspaces and streams, for dunningctl --- */

/* SCAN or ZSCAN to the end: argv[at] is the cursor; fn gets every
 * stride-th element of each page's list (a zset's members, not scores). */
static int cursor_walk(struct queue *q, const char **argv, int argc, int at, size_t stride,
                       int (*fn)(const char *, void *), void *data, struct error *err)
{
        char cursor[32] = "0";
        int rc = 0;

        argv[at] = cursor;
        do {
                redisReply *r = redisCommandArgv(q->ctx, argc, argv, NULL);
                if ((rc = reply_check(q, r, argv[0], err)))
                        return rc;
                if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                    r->element[0]->type != REDIS_REPLY_STRING) {
                        freeReplyObject(r);
                        return error_set(err, -EPROTO, "redis %s: unexpected reply", argv[0]);
                }
                snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
                const redisReply *list = r->element[1];
                for (size_t i = 0; !rc && list->type == REDIS_REPLY_ARRAY && i < list->elements;
                     i += stride)
                        if (list->element[i]->str)
                                rc = fn(list->element[i]->str, data);
                freeReplyObject(r);
        } while (!rc && strcmp(cursor, "0") != 0);
        return rc;
}

int queue_scan(struct queue *q, const char *match, int (*fn)(const char *key, void *),
               void *data, struct error *err)
{
        const char *argv[] = { "SCAN", NULL, "MATCH", match, "COUNT", "1000" };
        return cursor_walk(q, argv, 6, 1, 1, fn, data, err);
}

int queue_stream_walk(struct queue *q, const char *key, const char *from, const char *to,
                      size_t page, int (*fn)(const struct queue_fields *, void *), void *data,
                      struct error *err)
{
        char start[56], count[24];
        int rc = 0;

        snprintf(start, sizeof(start), "%s", from);
        snprintf(count, sizeof(count), "%zu", page);
        for (;;) {
                const char *argv[] = { "XRANGE", key, start, to, "COUNT", count };
                redisReply *r = redisCommandArgv(q->ctx, 6, argv, NULL);
                if ((rc = reply_check(q, r, "XRANGE", err)))
                        return rc;
                size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
                for (size_t i = 0; i < n && !rc; i++) {
                        const redisReply *e = r->element[i];
                        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
                            e->element[0]->type != REDIS_REPLY_STRING)
                                continue;
                        const redisReply *f = e->element[1];
                        struct queue_fields rec = { 0 };
                        snprintf(rec.id, sizeof(rec.id), "%s", e->element[0]->str);
                        size_t nf = f->type == REDIS_REPLY_ARRAY ? f->elements / 2 : 0;
                        rec.kv = xcalloc(2 * nf + 1, sizeof(*rec.kv));
                        for (size_t j = 0; j < 2 * nf; j++) {
                                const char *v = f->element[j]->str;
                                rec.kv[j] = xstrdup(v ? v : "");
                        }
                        rec.n = nf;
                        snprintf(start, sizeof(start), "(%s", rec.id);
                        rc = fn(&rec, data);
                        queue_fields_free(&rec);
                }
                freeReplyObject(r);
                if (rc || n < page)
                        return rc;
        }
}

int queue_zset_walk(struct queue *q, const char *key, int (*fn)(const char *member, void *),
                    void *data, struct error *err)
{
        const char *argv[] = { "ZSCAN", key, NULL, "COUNT", "1000" };
        return cursor_walk(q, argv, 5, 2, 2, fn, data, err);
}

int queue_key_type(struct queue *q, const char *key, char type[16], struct error *err)
{
        const char *argv[] = { "TYPE", key };
        redisReply *r = redisCommandArgv(q->ctx, 2, argv, NULL);
        int rc = reply_check(q, r, "TYPE", err);
        if (rc)
                return rc;
        snprintf(type, 16, "%s", r->str ? r->str : "none");
        freeReplyObject(r);
        return 0;
}
