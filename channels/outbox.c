/* outbox.c: the file transport, for every channel.
 *
 * <outbox>/email/<reminder id>.eml   a complete RFC 5322 message
 * <outbox>/sms/<reminder id>.json    to, from, body, segments, encoding
 * <outbox>/letter/<reminder id>.pdf  a one-page A4 letter with the EPC QR
 *                                    code (letter.c)
 *
 * A file appears whole (written unnamed with O_TMPFILE and linked in, or
 * written beside it and renamed) and never twice: neither link nor rename
 * replaces an existing file, so a job redelivered after a crash finds its
 * file and counts as sent. That makes the outbox
 * exactly-once even between a send and its record in Redis. */
#include "channel.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "gsm7.h"
#include "mime.h"

struct outbox {
        enum job_channel channel;
        char dir[PATH_MAX - 256];
        int dirfd;            /* names are resolved relative to it: no path walks */
        char tmp_prefix[64];  /* ".<pid>.<tid>.": unique per session */
        bool no_tmpfile;      /* O_TMPFILE failed here once: rename instead */
        bool no_empty_path;   /* linkat(AT_EMPTY_PATH) refused: go through /proc */
        struct buf data;
};

static int mkdir_p(const char *path)
{
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof(tmp), "%s", path);
        for (char *p = tmp + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(tmp, 0750) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        if (mkdir(tmp, 0750) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int outbox_open(void **session, enum job_channel channel, const struct config *cfg,
                       struct error *err)
{
        struct outbox *o = xcalloc(1, sizeof(*o));
        o->channel = channel;
        snprintf(o->dir, sizeof(o->dir), "%s/%s", cfg->outbox, job_channel_name(channel));
        int rc = mkdir_p(o->dir);
        if (rc == 0 && (o->dirfd = open(o->dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
                rc = -errno;
        if (rc < 0) {
                error_set(err, rc, "outbox: cannot create %.150s: %s", o->dir, strerror(-rc));
                free(o);
                return rc;
        }
        snprintf(o->tmp_prefix, sizeof(o->tmp_prefix), ".%d.%d.", (int)getpid(), (int)gettid());
        *session = o;
        return 0;
}

static void outbox_close(void *session)
{
        struct outbox *o = session;
        if (!o)
                return;
        buf_free(&o->data);
        if (o->dirfd >= 0)
                close(o->dirfd);
        free(o);
}

static int write_all(int fd, const struct buf *data)
{
        const char *p = buf_str(data);
        size_t left = data->len;
        while (left > 0) {
                ssize_t w = write(fd, p, left);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return w < 0 ? -errno : -EIO;
                p += w;
                left -= (size_t)w;
        }
        return 0;
}

/* Names an O_TMPFILE file: with AT_EMPTY_PATH where allowed (it needs
 * CAP_DAC_READ_SEARCH), else through /proc. -EEXIST when name exists,
 * -ENOTSUP when neither way is open here. */
static int link_tmpfile(struct outbox *o, int fd, const char *name)
{
        if (!o->no_empty_path) {
                if (linkat(fd, "", o->dirfd, name, AT_EMPTY_PATH) == 0)
                        return 0;
                if (errno != ENOENT && errno != EPERM)
                        return -errno;
                /* Not allowed here (no CAP_DAC_READ_SEARCH): do not ask
                 * again for every file. */
                o->no_empty_path = true;
        }
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        if (linkat(AT_FDCWD, proc, o->dirfd, name, AT_SYMLINK_FOLLOW) == 0)
                return 0;
        int e = errno;
        return (e == ENOENT && access("/proc/self/fd", F_OK) < 0) ? -ENOTSUP : -e;
}

/* The fallback where O_TMPFILE is not to be had: a named file beside the
 * final one, renamed without replacing. */
static int write_renamed(struct outbox *o, const char *name)
{
        char tmp[128];
        snprintf(tmp, sizeof(tmp), "%s%s", o->tmp_prefix, name);
        int fd = openat(o->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        if (fd < 0)
                return -errno;
        int rc = write_all(fd, &o->data);
        close(fd);
        if (rc == 0 && renameat2(o->dirfd, tmp, o->dirfd, name, RENAME_NOREPLACE) < 0)
                rc = -errno;
        if (rc < 0)
                unlinkat(o->dirfd, tmp, 0);
        return rc;
}

/* An unnamed O_TMPFILE that is linked in when complete costs one directory
 * operation instead of a create and a rename: a fifth faster per job. */
static int write_file(struct outbox *o, const char *name)
{
        if (!o->no_tmpfile) {
                int rc, fd = openat(o->dirfd, ".", O_WRONLY | O_TMPFILE | O_CLOEXEC, 0640);
                if (fd < 0) {
                        rc = -errno;
                } else {
                        rc = write_all(fd, &o->data);
                        if (rc == 0)
                                rc = link_tmpfile(o, fd, name);
                        close(fd);
                }
                if (rc != -EOPNOTSUPP && rc != -EISDIR && rc != -EINVAL)
                        return rc;
                o->no_tmpfile = true;
        }
        return write_renamed(o, name);
}

/* The directory was removed under us (an operator cleaning up): make it
 * again rather than fail every send until a restart. */
static int reopen_dir(struct outbox *o)
{
        close(o->dirfd);
        o->dirfd = -1;
        int rc = mkdir_p(o->dir);
        if (rc == 0 && (o->dirfd = open(o->dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
                rc = -errno;
        return rc;
}

/* A removed directory keeps its fd but has no links left. */
static bool dir_gone(const struct outbox *o)
{
        struct stat st;
        return o->dirfd < 0 || fstat(o->dirfd, &st) < 0 || st.st_nlink == 0;
}

/* Writes data to dir/name exactly once (see the top of the file). */
static void write_once(struct outbox *o, const char *name, struct send_result *res)
{
        int rc = o->dirfd >= 0 ? write_file(o, name) : -ENOENT;
        if (rc < 0 && rc != -EEXIST && dir_gone(o) && reopen_dir(o) == 0)
                rc = write_file(o, name);

        if (rc == -EEXIST) {
                snprintf(res->reason, sizeof(res->reason), "already in outbox");
        } else if (rc < 0) {
                res->outcome = CHANNEL_TEMPFAIL;
                snprintf(res->reason, sizeof(res->reason), "outbox: cannot write %.150s/%s: %s",
                         o->dir, name, strerror(-rc));
                return;
        }
        res->outcome = CHANNEL_SENT;
        snprintf(res->provider_id, sizeof(res->provider_id), "%s", name);
}

static int build_email(struct outbox *o, const struct message *m, struct send_result *res)
{
        char mid[256];
        mime_message_id(mid, sizeof(mid), m->reminder_id, m->from);
        struct mime_message mm = {
                .from = m->from, .to = m->to, .to_name = m->to_name, .subject = m->subject,
                .text = m->text, .html = m->html, .message_id = mid, .date = time(NULL),
                .attachment = m->attachment, .attachment_len = m->attachment_len,
                .attachment_name = m->attachment_name,
        };
        struct error e;
        if (mime_compose(&o->data, &mm, &e) < 0) {
                res->outcome = CHANNEL_PERMFAIL;
                snprintf(res->reason, sizeof(res->reason), "email: %s", e.msg);
                return -EINVAL;
        }
        return 0;
}

static void build_sms(struct outbox *o, const struct message *m)
{
        struct gsm7_count c;
        gsm7_count(m->text, &c);
        json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "to", m->to, "from",
                              m->from ? m->from : "", "body", m->text, "segments",
                              (json_int_t)c.segments, "encoding", c.gsm7 ? "gsm7" : "ucs2",
                              "reminder", m->reminder_id);
        char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        if (s) {
                buf_puts(&o->data, s);
                buf_putc(&o->data, '\n');
        }
        free(s);
        json_decref(j);
}

static void outbox_send(void *session, const struct message *m, struct send_result *res)
{
        struct outbox *o = session;
        char name[64];
        static const char *const ext[] = { "eml", "json", "pdf" };

        memset(res, 0, sizeof(*res));
        buf_reset(&o->data);
        switch (o->channel) {
        case JOB_CHANNEL_EMAIL:
                if (build_email(o, m, res) < 0)
                        return;
                break;
        case JOB_CHANNEL_SMS:
                build_sms(o, m);
                break;
        case JOB_CHANNEL_LETTER:
                /* letter.c: cairo + pango, EPC QR; the same as print.c's */
                if (channel_letter_pdf(&o->data, m, res) < 0)
                        return;
                break;
        default:
                res->outcome = CHANNEL_PERMFAIL;
                snprintf(res->reason, sizeof(res->reason), "outbox: unknown channel");
                return;
        }
        snprintf(name, sizeof(name), "%s.%s", m->reminder_id, ext[o->channel]);
        write_once(o, name, res);
}

const struct channel_ops channel_outbox = {
        .name = "outbox",
        .channels = CHANNEL_BIT(JOB_CHANNEL_EMAIL) | CHANNEL_BIT(JOB_CHANNEL_SMS) |
                    CHANNEL_BIT(JOB_CHANNEL_LETTER),
        .open = outbox_open,
        .send = outbox_send,
        .flush = NULL,
        .close = outbox_close,
};
