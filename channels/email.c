/* email.c: the SMTP transport of the e-mail channel, through libESMTP.
 *
 * A libESMTP session runs whole inside smtp_start_session() (connect,
 * EHLO, STARTTLS, AUTH, every queued message, QUIT): there is no
 * connection to keep open between calls. send() therefore runs one session
 * for its one message, and send_batch() one session for several, and both
 * read the outcome of every message from libESMTP's per-message and
 * per-recipient status (the session "succeeds" even when the server
 * refused a recipient).
 *
 * Two libESMTP 1.1.0 pitfalls are worked around here (NOTES.md):
 * - the second STARTTLS session of a process crashes with the library's
 *   own TLS context (libESMTP issue #30): every session gets the SSL_CTX
 *   this channel creates in open() and frees in close(), which verifies
 *   the server (SSL_VERIFY_PEER, ca_file or the system's paths, host name);
 * - libESMTP never sets TCP_NODELAY and every message over 2 KB waits for
 *   a delayed ACK: on SMTP_EV_CONNECT we set it on the process's TCP
 *   sockets whose peer is the configured server.
 *
 * Implicit TLS (tls: tls, port 465) is not offered by libESMTP: open()
 * refuses it. */
#include "channel.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <auth-client.h>
#include <libesmtp.h>

#include "buf.h"
#include "mime.h"

/* The most messages one session carries. */
#define EMAIL_BATCH_MAX 1000

struct email {
        char hostport[300];      /* "host:port" for smtp_set_server */
        char *host;
        int port;
        char *username;          /* NULL: no AUTH */
        char *password;          /* owned copy; wiped in close() */
        char *reply_to;
        char *list_unsubscribe;
        bool starttls;
        long timeout_ms;
        SSL_CTX *ctx;            /* owned for the channel's whole life (#30) */
        struct addrinfo *server; /* resolved once: whose sockets get TCP_NODELAY */
        /* Told of each message the server took (set_accepted), or NULL. */
        void (*accepted)(void *arg, const char *reminder_id);
        void *accepted_arg;
};

/* What the event callback learned during one session. */
struct session_state {
        const struct email *e;
        bool no_starttls;        /* STARTTLS required but not offered */
        bool bad_certificate;    /* the server's certificate was refused */
        /* The session's messages, to name the one a MESSAGESENT is for. */
        const struct message *const *msgs;
        const smtp_message_t *sm;
        const smtp_recipient_t *rcpt;
        size_t n;
};

/* The server answered DATA for m: when it took it (and its one recipient),
 * whoever asked is told now, not when the whole batch is done. */
static void message_sent(struct session_state *st, smtp_message_t m)
{
        const struct email *e = st->e;
        for (size_t i = 0; e->accepted && i < st->n; i++) {
                if (st->sm[i] != m || !st->rcpt[i])
                        continue;
                const smtp_status_t *ms = smtp_message_transfer_status(m);
                const smtp_status_t *rs = smtp_recipient_status(st->rcpt[i]);
                if (ms && rs && ms->code / 100 == 2 && rs->code / 100 == 2)
                        e->accepted(e->accepted_arg, st->msgs[i]->reminder_id);
                return;
        }
}

static pthread_once_t auth_once = PTHREAD_ONCE_INIT;

static void auth_init(void)
{
        auth_client_init();
}

static void wipe_free(char *s)
{
        if (!s)
                return;
        explicit_bzero(s, strlen(s));
        free(s);
}

static char *dup_or_null(const char *s)
{
        return s ? xstrdup(s) : NULL;
}

static void email_close(void *session)
{
        struct email *e = session;

        if (!e)
                return;
        SSL_CTX_free(e->ctx);
        if (e->server)
                freeaddrinfo(e->server);
        free(e->host);
        free(e->username);
        wipe_free(e->password);
        free(e->reply_to);
        free(e->list_unsubscribe);
        free(e);
}

static bool is_ip(const char *host)
{
        unsigned char a[sizeof(struct in6_addr)];

        return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

/* The context every session of this channel uses: peer verification is
 * ours to configure since libESMTP does not set up this one. */
static int make_ctx(struct email *e, const char *ca_file, struct error *err)
{
        e->ctx = SSL_CTX_new(TLS_client_method());
        if (!e->ctx)
                return error_set(err, -ENOMEM, "channels.email.smtp: cannot create a TLS context");
        SSL_CTX_set_min_proto_version(e->ctx, TLS1_2_VERSION);
        /* TLS 1.2 at most: over TLS 1.3 libESMTP 1.1.0 now and then drops
         * the session right after the second EHLO (it sends QUIT before
         * reading the reply; smtp_errno() says "dropped connection" while
         * smtp_start_session() returns success). Measured with aiosmtpd:
         * 1 session in 3 failed with TLS 1.3, none in 6 runs of 8 tests
         * with TLS 1.2. The likely cause is the server's post-handshake
         * NewSessionTicket messages, which TLS 1.2 does not have. */
        SSL_CTX_set_max_proto_version(e->ctx, TLS1_2_VERSION);
        SSL_CTX_set_verify(e->ctx, SSL_VERIFY_PEER, NULL);
        int ok = ca_file ? SSL_CTX_load_verify_locations(e->ctx, ca_file, NULL)
                         : SSL_CTX_set_default_verify_paths(e->ctx);
        if (ok != 1) {
                if (ca_file)
                        return error_set(err, -EINVAL,
                                         "channels.email.smtp.ca_file: cannot load %.150s",
                                         ca_file);
                return error_set(err, -EINVAL,
                                 "channels.email.smtp: cannot load the system CA paths");
        }
        /* OpenSSL checks the name too, not only libESMTP's own match. */
        X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(e->ctx);
        ok = is_ip(e->host) ? X509_VERIFY_PARAM_set1_ip_asc(vp, e->host)
                            : X509_VERIFY_PARAM_set1_host(vp, e->host, 0);
        if (ok != 1)
                return error_set(err, -EINVAL, "channels.email.smtp.host: not usable for TLS");
        return 0;
}

static int email_open(void **session, enum job_channel channel, const struct config *cfg,
                      struct error *err)
{
        const struct config_channel *c = &cfg->channels.email;
        struct email *e = xcalloc(1, sizeof(*e));
        int rc = 0;

        if (channel != JOB_CHANNEL_EMAIL) {
                rc = error_set(err, -ENOTSUP, "channels.%s.transport: smtp is for email only",
                               job_channel_name(channel));
                goto out;
        }
        if (!strcmp(c->smtp.tls, "tls")) {
                rc = error_set(err, -ENOTSUP,
                               "channels.email.smtp.tls: implicit TLS is not supported by "
                               "libESMTP; use starttls");
                goto out;
        }
        if (c->smtp.username && !c->smtp.password) {
                rc = error_set(err, -EINVAL,
                               "channels.email.smtp.username: needs smtp.password_file");
                goto out;
        }
        e->host = xstrdup(c->smtp.host);
        e->port = c->smtp.port;
        {
                struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
                char port[16];
                snprintf(port, sizeof(port), "%d", e->port);
                /* A name that does not resolve now only loses TCP_NODELAY;
                 * the session itself reports the connection problem. */
                if (getaddrinfo(e->host, port, &hints, &e->server) != 0)
                        e->server = NULL;
        }
        if (strchr(e->host, ':'))
                snprintf(e->hostport, sizeof(e->hostport), "[%s]:%d", e->host, e->port);
        else
                snprintf(e->hostport, sizeof(e->hostport), "%s:%d", e->host, e->port);
        e->username = dup_or_null(c->smtp.username);
        e->password = dup_or_null(c->smtp.password);
        e->reply_to = dup_or_null(c->reply_to);
        e->list_unsubscribe = dup_or_null(c->list_unsubscribe);
        e->starttls = !strcmp(c->smtp.tls, "starttls");
        e->timeout_ms = c->smtp.timeout_ms;
        if (e->starttls) {
                rc = make_ctx(e, c->smtp.ca_file, err);
                if (rc < 0)
                        goto out;
        }
        pthread_once(&auth_once, auth_init);
        *session = e;
        e = NULL;
out:
        email_close(e);
        return rc;
}

static bool same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
        if (a->sa_family != b->sa_family)
                return false;
        if (a->sa_family == AF_INET) {
                const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
                return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
        }
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port &&
               !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
}

/* Whether fd is a TCP socket connected to one of the addresses. */
static bool is_server_socket(int fd, const struct addrinfo *ai)
{
        int type = 0;
        socklen_t len = sizeof(type);
        struct sockaddr_storage peer;

        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM)
                return false;
        len = sizeof(peer);
        if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0)
                return false;
        if (peer.ss_family != AF_INET && peer.ss_family != AF_INET6)
                return false;
        for (; ai; ai = ai->ai_next)
                if (same_addr((const struct sockaddr *)&peer, ai->ai_addr))
                        return true;
        return false;
}

/* libESMTP hides its socket: set TCP_NODELAY on every TCP socket of the
 * process whose peer is the server (another worker's socket to the same
 * server gets it too, which it wants anyway). */
static void set_nodelay(const struct email *e)
{
        int one = 1;
        DIR *d = opendir("/proc/self/fd");
        if (!d || !e->server) {
                if (d)
                        closedir(d);
                return;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                int fd = atoi(de->d_name);
                if (de->d_name[0] != '.' && fd != dirfd(d) && is_server_socket(fd, e->server))
                        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
        closedir(d);
}

static void on_event(smtp_session_t session, int event, void *arg, ...)
{
        struct session_state *st = arg;
        va_list ap;

        /* Certificate events pass an int *ok that we leave at 0: a
         * certificate OpenSSL did not accept is never waved through. */
        switch (event) {
        case SMTP_EV_CONNECT:
                set_nodelay(st->e);
                break;
        case SMTP_EV_MESSAGESENT:
                va_start(ap, arg);
                message_sent(st, va_arg(ap, smtp_message_t));
                va_end(ap);
                break;
        case SMTP_EV_EXTNA_STARTTLS:
                st->no_starttls = true;
                break;
        case SMTP_EV_INVALID_PEER_CERTIFICATE:
        case SMTP_EV_NO_PEER_CERTIFICATE:
        case SMTP_EV_WRONG_PEER_CERTIFICATE:
                st->bad_certificate = true;
                break;
        default:
                break;
        }
}

static int on_auth(auth_client_request_t req, char **result, int fields, void *arg)
{
        const struct email *e = arg;

        for (int i = 0; i < fields; i++) {
                if (req[i].flags & AUTH_PASS)
                        result[i] = e->password;
                else if (req[i].flags & AUTH_USER)
                        result[i] = e->username;
                else
                        result[i] = (char *)"";
        }
        return 1;
}

/* One line of server text with every word that holds an '@' (an address)
 * and every control character replaced. */
static void scrub(char *out, size_t size, int code, const char *text)
{
        struct buf b = BUF_INIT;

        buf_printf(&b, "smtp: %d", code);
        for (const char *p = text ? text : ""; *p;) {
                size_t n = strcspn(p, " \t\r\n");
                if (n) {
                        buf_putc(&b, ' ');
                        if (memchr(p, '@', n)) {
                                buf_puts(&b, "[address]");
                        } else {
                                for (size_t i = 0; i < n; i++)
                                        buf_putc(&b, (unsigned char)p[i] < 0x20 ||
                                                                     p[i] == 0x7f
                                                             ? '?'
                                                             : p[i]);
                        }
                }
                p += n;
                p += strspn(p, " \t\r\n");
        }
        snprintf(out, size, "%s", buf_str(&b));
        buf_free(&b);
}

static void fail(struct send_result *res, enum channel_outcome o, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void fail(struct send_result *res, enum channel_outcome o, const char *fmt, ...)
{
        va_list ap;

        res->outcome = o;
        va_start(ap, fmt);
        vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
        va_end(ap);
}

/* The outcome of one message from its statuses after the session. */
static void read_status(smtp_message_t sm, smtp_recipient_t rcpt, const struct session_state *st,
                        const char *session_error, struct send_result *res)
{
        const smtp_status_t *mail = smtp_reverse_path_status(sm);
        const smtp_status_t *rs = smtp_recipient_status(rcpt);
        const smtp_status_t *data = smtp_message_transfer_status(sm);
        bool rcpt_ok = rs && rs->code / 100 == 2;
        const smtp_status_t *why = NULL;
        enum channel_outcome o = CHANNEL_TEMPFAIL;

        /* The recipient first: its refusal is about this address. Then the
         * content: refused for an accepted recipient, try another channel.
         * A refused MAIL FROM is the sender's problem: retry. */
        if (rs && rs->code >= 400) {
                why = rs;
                o = rs->code >= 500 ? CHANNEL_PERMFAIL : CHANNEL_TEMPFAIL;
        } else if (rcpt_ok && data && data->code / 100 == 2) {
                why = data;
                o = CHANNEL_SENT;
        } else if (data && data->code >= 400) {
                why = data;
                o = rcpt_ok && data->code >= 500 ? CHANNEL_PERMFAIL : CHANNEL_TEMPFAIL;
        } else if (mail && mail->code >= 400) {
                why = mail;
        }
        if (why) {
                res->outcome = o;
                scrub(res->reason, sizeof(res->reason), why->code, why->text);
        } else if (st->no_starttls) {
                fail(res, CHANNEL_TEMPFAIL, "smtp: server does not offer STARTTLS");
        } else if (st->bad_certificate) {
                fail(res, CHANNEL_TEMPFAIL, "smtp: server certificate refused");
        } else if (session_error[0]) {
                fail(res, CHANNEL_TEMPFAIL, "smtp: %s", session_error);
        } else {
                fail(res, CHANNEL_TEMPFAIL, "smtp: message not transferred");
        }
}

/* Runs one SMTP session carrying msgs[0..n-1] and writes the outcome of
 * each into res[i]. */
static void deliver(struct email *e, const struct message *const *msgs, size_t n,
                    struct send_result *res)
{
        smtp_session_t s = smtp_create_session();
        auth_context_t actx = NULL;
        struct buf *data = xcalloc(n, sizeof(*data));
        smtp_message_t *sm = xcalloc(n, sizeof(*sm));
        smtp_recipient_t *rcpt = xcalloc(n, sizeof(*rcpt));
        struct session_state st = { .e = e, .msgs = msgs, .sm = sm, .rcpt = rcpt, .n = n };
        size_t queued = 0;
        char session_error[160] = "";
        int ok = 0;

        for (size_t i = 0; i < n; i++)
                memset(&res[i], 0, sizeof(res[i]));
        if (!s) {
                for (size_t i = 0; i < n; i++)
                        fail(&res[i], CHANNEL_TEMPFAIL, "smtp: cannot create a session");
                goto out;
        }
        smtp_set_server(s, e->hostport);
        smtp_set_eventcb(s, on_event, &st);
        for (int w = Timeout_GREETING; w <= Timeout_DATA2; w++)
                smtp_set_timeout(s, w | Timeout_OVERRIDE_RFC2822_MINIMUM, e->timeout_ms);
        if (e->starttls) {
                smtp_starttls_set_ctx(s, e->ctx);
                smtp_starttls_enable(s, Starttls_REQUIRED);
        } else {
                smtp_starttls_enable(s, Starttls_DISABLED);
        }
        if (e->username) {
                actx = auth_create_context();
                auth_set_mechanism_flags(actx, AUTH_PLUGIN_PLAIN, 0);
                auth_set_interact_cb(actx, on_auth, e);
                smtp_auth_set_context(s, actx);
        }

        for (size_t i = 0; i < n; i++) {
                const struct message *m = msgs[i];
                char mid[256];
                struct error err;

                mime_message_id(mid, sizeof(mid), m->reminder_id, m->from);
                struct mime_message mm = {
                        .from = m->from, .to = m->to, .to_name = m->to_name,
                        .reply_to = e->reply_to, .subject = m->subject, .text = m->text,
                        .html = m->html, .message_id = mid, .date = time(NULL),
                        .list_unsubscribe = e->list_unsubscribe,
                        .attachment = m->attachment, .attachment_len = m->attachment_len,
                        .attachment_name = m->attachment_name,
                };
                if (mime_compose(&data[i], &mm, &err) < 0) {
                        fail(&res[i], CHANNEL_PERMFAIL, "email: %s", err.msg);
                        continue;
                }
                struct buf envelope_from = BUF_INIT;
                const char *lt = strrchr(m->from, '<');
                if (lt)
                        buf_append(&envelope_from, lt + 1, strcspn(lt + 1, ">"));
                else
                        buf_puts(&envelope_from, m->from);
                sm[i] = smtp_add_message(s);
                if (sm[i]) {
                        smtp_set_reverse_path(sm[i], buf_str(&envelope_from));
                        rcpt[i] = smtp_add_recipient(sm[i], m->to);
                        smtp_set_message_str(sm[i], (void *)buf_str(&data[i]));
                }
                buf_free(&envelope_from);
                if (!sm[i] || !rcpt[i]) {
                        fail(&res[i], CHANNEL_TEMPFAIL, "smtp: cannot queue the message");
                        continue;
                }
                snprintf(res[i].provider_id, sizeof(res[i].provider_id), "<%s>", mid);
                queued++;
        }
        if (queued == 0)
                goto out;

        ok = smtp_start_session(s);
        /* libESMTP may return success for a session it ended early: its
         * error code says so then. */
        int se = smtp_errno();
        if (!ok || se) {
                char b[128];
                const char *msg = smtp_strerror(se, b, sizeof(b));
                snprintf(session_error, sizeof(session_error), "%s", msg ? msg : "session failed");
        }
        for (size_t i = 0; i < n; i++)
                if (sm[i] && rcpt[i])
                        read_status(sm[i], rcpt[i], &st, session_error, &res[i]);
        for (size_t i = 0; i < n; i++)
                if (res[i].outcome != CHANNEL_SENT)
                        res[i].provider_id[0] = '\0';
out:
        if (s)
                smtp_destroy_session(s);
        if (actx)
                auth_destroy_context(actx);
        for (size_t i = 0; i < n; i++)
                buf_free(&data[i]);
        free(data);
        free(sm);
        free(rcpt);
}

static void email_set_accepted(void *session, void (*fn)(void *arg, const char *reminder_id),
                               void *arg)
{
        struct email *e = session;
        e->accepted = fn;
        e->accepted_arg = arg;
}

static void email_send(void *session, const struct message *m, struct send_result *res)
{
        deliver(session, &m, 1, res);
}

static void email_send_batch(void *session, const struct message *const *msgs, size_t n,
                             struct send_result *res)
{
        for (size_t i = 0; i < n; i += EMAIL_BATCH_MAX)
                deliver(session, msgs + i, n - i < EMAIL_BATCH_MAX ? n - i : EMAIL_BATCH_MAX,
                        res + i);
}

const struct channel_ops channel_smtp = {
        .name = "smtp",
        .channels = CHANNEL_BIT(JOB_CHANNEL_EMAIL),
        .open = email_open,
        .send = email_send,
        .send_batch = email_send_batch,
        .set_accepted = email_set_accepted,
        .flush = NULL,
        .close = email_close,
};
