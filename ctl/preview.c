/* preview.c: `dunningctl render` and `dunningctl preview`, for template
 * authors and credit managers checking a campaign before it goes out. */
#include "preview.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "channel.h"
#include "dispatch.h"
#include "job.h"
#include "mustache.h"
#include "policy.h"
#include "render.h"

/* Campaign files, jobs and templates are small; refuse the absurd. */
#define PREVIEW_MAX_INPUT (16 * 1024 * 1024)

static int read_file(const char *path, struct buf *out)
{
        int rc = buf_read_file(out, path, PREVIEW_MAX_INPUT);
        errno = -rc;
        return rc;
}

/* "dir/reminder.html.mustache" -> "reminder.html" */
static char *template_name(const char *path)
{
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t n = strlen(base);
        if (n > 9 && strcmp(base + n - 9, ".mustache") == 0)
                n -= 9;
        return xstrndup(base, n);
}

/* Adds every *.mustache below dir as a partial named by its path. */
static int add_partials(struct mustache_set *set, const char *dir, const char *rel,
                        struct error *err)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s%s%s", dir, rel[0] ? "/" : "", rel);
        DIR *d = opendir(path);
        if (!d)
                return error_set(err, -errno, "%s: %s", path, strerror(errno));
        struct dirent *e;
        int rc = 0;
        while (rc == 0 && (e = readdir(d)) != NULL) {
                if (e->d_name[0] == '.')
                        continue;
                char sub[2048], full[4096];
                struct stat st;
                snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
                snprintf(full, sizeof(full), "%s/%s", dir, sub);
                if (stat(full, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        rc = add_partials(set, dir, sub, err);
                        continue;
                }
                size_t n = strlen(sub);
                if (n <= 9 || strcmp(sub + n - 9, ".mustache") != 0)
                        continue;
                struct buf text = BUF_INIT;
                if (read_file(full, &text) < 0) {
                        rc = error_set(err, -EIO, "%s: cannot read", full);
                } else {
                        char *name = xstrndup(sub, n - 9);
                        rc = mustache_set_add(set, name, buf_str(&text), text.len, err);
                        free(name);
                }
                buf_free(&text);
        }
        closedir(d);
        return rc;
}

int preview_render_cmd(int argc, char **argv)
{
        static const struct option opts[] = {
                { "partials", required_argument, NULL, 'p' },
                { "strict", no_argument, NULL, 's' },
                { 0 },
        };
        const char *partials = NULL;
        bool strict = false;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                if (c == 'p')
                        partials = optarg;
                else if (c == 's')
                        strict = true;
                else
                        return 2;
        }
        if (optind + 2 != argc) {
                fputs("usage: dunningctl render TEMPLATE.mustache DATA.json [--partials DIR] "
                      "[--strict]\n", stderr);
                return 2;
        }
        const char *tpath = argv[optind], *dpath = argv[optind + 1];
        struct buf text = BUF_INIT, data = BUF_INIT, out = BUF_INIT;
        struct mustache_set *set = mustache_set_new();
        struct mustache_value *ctx = NULL;
        struct error err;
        char *name = template_name(tpath);
        int rc = 1;

        if (read_file(tpath, &text) < 0) {
                fprintf(stderr, "dunningctl: %s: cannot read: %s\n", tpath, strerror(errno));
                goto out;
        }
        if (read_file(dpath, &data) < 0) {
                fprintf(stderr, "dunningctl: %s: cannot read: %s\n", dpath, strerror(errno));
                goto out;
        }
        if (mustache_value_from_json(&ctx, buf_str(&data), data.len, &err) < 0) {
                fprintf(stderr, "dunningctl: %s: %s\n", dpath, err.msg);
                goto out;
        }
        if ((partials && add_partials(set, partials, "", &err) < 0) ||
            mustache_set_add(set, name, buf_str(&text), text.len, &err) < 0) {
                fprintf(stderr, "dunningctl: %s\n", err.msg);
                goto out;
        }
        /* HTML templates escape, everything else is plain text. */
        size_t n = strlen(name);
        struct mustache_render_opts ro = {
                .escape = n > 5 && strcmp(name + n - 5, ".html") == 0 ? MUSTACHE_ESCAPE_HTML
                                                                     : MUSTACHE_ESCAPE_NONE,
                .strict = strict,
        };
        if (mustache_render(&out, set, name, ctx, &ro, &err) < 0) {
                fprintf(stderr, "dunningctl: %s\n", err.msg);
                goto out;
        }
        fwrite(buf_str(&out), 1, out.len, stdout);
        rc = 0;
out:
        free(name);
        buf_free(&text);
        buf_free(&data);
        buf_free(&out);
        mustache_value_free(ctx);
        mustache_set_free(set);
        return rc;
}

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Prints or writes one channel's message; 0, or 1 on an error. */
static int preview_channel(const struct config *cfg, const struct render *r,
                           const struct job *job, enum job_channel ch,
                           const struct mustache_value *ctx, bool strict, const char *out_dir)
{
        struct dispatch_prepared p = { 0 };
        struct error err;
        const char *name = job_channel_name(ch);
        int rc = 0;

        /* Rendered exactly as the dispatcher does it. */
        if (dispatch_prepare(&p, cfg, r, job, ch, ctx, strict, now_ms(), &err) < 0) {
                fprintf(stderr, "dunningctl: %s: %s\n", name, err.msg);
                rc = 1;
                goto out;
        }
        if (!out_dir) {
                if (ch == JOB_CHANNEL_EMAIL)
                        printf("=== email subject\n%s\n=== email text\n%s",
                               buf_str(&p.parts.subject), buf_str(&p.parts.text));
                else
                        printf("=== %s\n%s\n", name, buf_str(&p.parts.text));
                if (p.parts.html.len)
                        printf("=== email html\n%s", buf_str(&p.parts.html));
                goto out;
        }
        /* The outbox driver writes exactly what would be sent. */
        struct config c = *cfg;
        c.outbox = (char *)out_dir;
        void *session = NULL;
        if (channel_outbox.open(&session, ch, &c, &err) < 0) {
                fprintf(stderr, "dunningctl: %s\n", err.msg);
                rc = 1;
                goto out;
        }
        struct send_result res;
        channel_outbox.send(session, &p.msg, &res);
        channel_outbox.close(session);
        if (res.outcome != CHANNEL_SENT) {
                fprintf(stderr, "dunningctl: %s: %s\n", name, res.reason);
                rc = 1;
        } else {
                printf("%s/%s/%s\n", out_dir, name, res.provider_id);
        }
out:
        dispatch_prepared_free(&p);
        return rc;
}

int preview_job_cmd(const struct config *cfg, int argc, char **argv)
{
        static const struct option opts[] = {
                { "channel", required_argument, NULL, 'c' },
                { "out", required_argument, NULL, 'o' },
                { "strict", no_argument, NULL, 's' },
                { 0 },
        };
        enum job_channel only = JOB_CHANNEL_NONE;
        const char *out_dir = NULL;
        bool strict = false;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                if (c == 'c') {
                        only = job_channel_from_name(optarg);
                        if (only == JOB_CHANNEL_NONE) {
                                fprintf(stderr, "dunningctl: --channel: no channel %s\n", optarg);
                                return 2;
                        }
                } else if (c == 'o') {
                        out_dir = optarg;
                } else if (c == 's') {
                        strict = true;
                } else {
                        return 2;
                }
        }
        if (optind + 1 != argc) {
                fputs("usage: dunningctl preview JOB.json [--channel C] [--out DIR] [--strict]\n",
                      stderr);
                return 2;
        }
        struct buf text = BUF_INIT;
        struct job *job = NULL;
        struct render *r = NULL;
        struct mustache_value *ctx = NULL;
        struct error err;
        struct render_extra extra = { .now_ms = now_ms() };
        int rc = 1;

        if (read_file(argv[optind], &text) < 0) {
                fprintf(stderr, "dunningctl: %s: cannot read: %s\n", argv[optind], strerror(errno));
                goto out;
        }
        if (job_parse(&job, buf_str(&text), text.len, &err) < 0) {
                fprintf(stderr, "dunningctl: %s: %s\n", argv[optind], err.msg);
                goto out;
        }
        if (render_load(&r, cfg->templates, cfg->default_locale, &err) < 0 ||
            render_context(&ctx, job, cfg, &extra, NULL, &err) < 0) {
                fprintf(stderr, "dunningctl: %s\n", err.msg);
                goto out;
        }
        rc = 0;
        for (int ch = 0; ch < JOB_CHANNEL__N; ch++) {
                if (only != JOB_CHANNEL_NONE ? ch != (int)only
                                             : !policy_reachable(job, (enum job_channel)ch))
                        continue;
                if (preview_channel(cfg, r, job, (enum job_channel)ch, ctx, strict, out_dir))
                        rc = 1;
        }
out:
        buf_free(&text);
        job_free(job);
        render_free(r);
        mustache_value_free(ctx);
        return rc;
}
