/* test-email.c: the SMTP e-mail channel against a real SMTP server.
 *
 * tests/integration/smtpd.py (aiosmtpd, run with /usr/bin/python3) records
 * every message it accepts; the tests drive the channel through its API
 * (plain, STARTTLS several times in one process: libESMTP issue #30, an
 * unknown CA, AUTH, 550/451, TCP_NODELAY) and then dunningd end to end (a
 * 550 falls back to SMS, a 451 is retried). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "channel.h"
#include "config.h"
#include "harness.h"
#include "history.h"
#include "job.h"

struct smtpd {
        pid_t pid;
        int port;
        char dir[256];
};

static char tmpdir[256];
static struct smtpd srv;

static const char *src_root(void)
{
        const char *r = getenv("DUNNINGD_SOURCE_ROOT");
        return r ? r : ".";
}

static void run(const char *cmd)
{
        ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

/* A self-signed certificate for 127.0.0.1 as DIR/NAME.pem + DIR/NAME.key. */
static void make_cert(const char *name)
{
        char cmd[1024];
        snprintf(cmd, sizeof(cmd),
                 "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                 "-addext subjectAltName=IP:127.0.0.1,DNS:127.0.0.1 "
                 "-keyout %s/%s.key -out %s/%s.pem 2>/dev/null",
                 tmpdir, name, tmpdir, name);
        run(cmd);
}

static void write_at(const char *path, const char *content)
{
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fputs(content, f);
        ck_assert_int_eq(fclose(f), 0);
}

static void smtpd_start(const char *mode)
{
        int p[2];
        char script[512], cert[320], key[320], log[320];

        snprintf(srv.dir, sizeof(srv.dir), "%s/smtpd", tmpdir);
        mkdir(srv.dir, 0700);
        snprintf(script, sizeof(script), "%s/tests/integration/smtpd.py", src_root());
        snprintf(cert, sizeof(cert), "%s/server.pem", tmpdir);
        snprintf(key, sizeof(key), "%s/server.key", tmpdir);
        snprintf(log, sizeof(log), "%s/smtpd.log", tmpdir);
        ck_assert_int_eq(pipe(p), 0);
        srv.pid = fork();
        ck_assert_int_ge(srv.pid, 0);
        if (srv.pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGTERM);
                dup2(p[1], 1);
                int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
                dup2(fd, 2);
                close(p[0]);
                execl("/usr/bin/python3", "python3", script, srv.dir, mode, cert, key,
                      "dunningd", "pa ss:wörd", (char *)NULL);
                _exit(127);
        }
        close(p[1]);
        char line[64] = "";
        size_t n = 0;
        int64_t deadline = harness_now_ms() + 20000;
        while (!strchr(line, '\n') && harness_now_ms() < deadline) {
                struct pollfd pfd = { .fd = p[0], .events = POLLIN };
                if (poll(&pfd, 1, 200) <= 0)
                        continue;
                ssize_t r = read(p[0], line + n, sizeof(line) - 1 - n);
                if (r <= 0)
                        break;
                n += (size_t)r;
                line[n] = '\0';
        }
        close(p[0]);
        ck_assert_msg(sscanf(line, "READY %d", &srv.port) == 1, "smtpd.py did not start: %s",
                      harness_read_file(log));
}

static void smtpd_stop(void)
{
        if (srv.pid > 0) {
                kill(srv.pid, SIGTERM);
                waitpid(srv.pid, NULL, 0);
        }
        srv.pid = 0;
}

static void setup(void)
{
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-email-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        signal(SIGPIPE, SIG_IGN);
        make_cert("server");
}

static void teardown(void)
{
        char cmd[300];
        smtpd_stop();
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
        if (system(cmd) != 0)
                fprintf(stderr, "cannot remove %s\n", tmpdir);
}

/* A config for the channel alone; strings borrowed from the test. */
static struct config cfg_for(const char *tls)
{
        struct config c;
        memset(&c, 0, sizeof(c));
        c.channels.email.transport = (char *)"smtp";
        c.channels.email.from = (char *)"Acme <debiteuren@acme.example>";
        c.channels.email.smtp.host = (char *)"127.0.0.1";
        c.channels.email.smtp.port = srv.port;
        c.channels.email.smtp.tls = (char *)tls;
        c.channels.email.smtp.timeout_ms = 10000;
        return c;
}

static struct message msg_for(const char *id, const char *to)
{
        struct message m = {
                .channel = JOB_CHANNEL_EMAIL,
                .reminder_id = id,
                .to = to,
                .to_name = "Zoë Çelik",
                .from = "Acme <debiteuren@acme.example>",
                .subject = "Betalingsherinnering — € 12,50 voor Zoë",
                .text = "Beste Zoë,\n\nBetaal € 12,50.\n",
                .html = "<p>Beste Zo&euml;,</p>\n",
        };
        return m;
}

static void *open_channel(const struct config *c, int want_rc)
{
        void *s = NULL;
        struct error err = { 0 };
        const struct channel_ops *ops = channel_lookup(JOB_CHANNEL_EMAIL, "smtp");
        ck_assert_ptr_nonnull(ops);
        int rc = ops->open(&s, JOB_CHANNEL_EMAIL, c, &err);
        ck_assert_msg(rc == want_rc, "open: %d: %s", rc, err.msg);
        return s;
}

static int count_received(void)
{
        int n = 0;
        char path[400];
        for (;; n++) {
                snprintf(path, sizeof(path), "%s/msg-%d.eml", srv.dir, n + 1);
                if (access(path, F_OK) != 0)
                        return n;
        }
}

static json_t *parse_received(int n)
{
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/data/mime_check.py %s/msg-%d.eml",
                 src_root(), srv.dir, n);
        FILE *p = popen(cmd, "r");
        json_error_t je;
        json_t *j = json_loadf(p, 0, &je);
        ck_assert_int_eq(pclose(p), 0);
        ck_assert_msg(j != NULL, "mime_check.py: %s", je.text);
        return j;
}

static const char *jstr(json_t *j, const char *key)
{
        const char *v = json_string_value(json_object_get(j, key));
        ck_assert_msg(v != NULL, "no %s in the received message", key);
        return v;
}

START_TEST(test_plain_full_message)
{
        smtpd_start("plain");
        struct config c = cfg_for("none");
        c.channels.email.reply_to = (char *)"debiteuren@acme.example";
        c.channels.email.list_unsubscribe = (char *)"<mailto:afmelden@acme.example>";
        void *s = open_channel(&c, 0);
        unsigned char pdf[5000];
        for (size_t i = 0; i < sizeof(pdf); i++)
                pdf[i] = (unsigned char)(i * 13);
        struct message m = msg_for("r-00000000000000aa", "klant1@example.nl");
        m.attachment = pdf;
        m.attachment_len = sizeof(pdf);
        m.attachment_name = "aanmaning.pdf";
        struct send_result res;
        channel_smtp.send(s, &m, &res);
        ck_assert_msg(res.outcome == CHANNEL_SENT, "%d %s", res.outcome, res.reason);
        ck_assert_str_eq(res.provider_id, "<r-00000000000000aa@acme.example>");
        ck_assert_int_eq(count_received(), 1);

        char path[400];
        snprintf(path, sizeof(path), "%s/msg-1.env", srv.dir);
        char *env = harness_read_file(path);
        ck_assert_str_eq(env, "debiteuren@acme.example\nklant1@example.nl\n");
        free(env);
        json_t *j = parse_received(1);
        ck_assert_str_eq(jstr(j, "structure"),
                         "multipart/mixed(multipart/alternative(text/plain,text/html),"
                         "application/pdf)");
        ck_assert_str_eq(jstr(j, "subject"), m.subject);
        ck_assert_str_eq(jstr(j, "to"), "Zoë Çelik <klant1@example.nl>");
        ck_assert_str_eq(jstr(j, "message-id"), "<r-00000000000000aa@acme.example>");
        ck_assert_str_eq(jstr(j, "reply-to"), "debiteuren@acme.example");
        ck_assert_str_eq(jstr(j, "list-unsubscribe"), "<mailto:afmelden@acme.example>");
        ck_assert_str_eq(jstr(j, "auto-submitted"), "auto-generated");
        ck_assert_str_eq(jstr(j, "text"), m.text);
        ck_assert_str_eq(jstr(j, "html"), m.html);
        ck_assert_str_eq(jstr(j, "attachment_name"), "aanmaning.pdf");
        char *hex = malloc(sizeof(pdf) * 2 + 1);
        for (size_t i = 0; i < sizeof(pdf); i++)
                snprintf(hex + 2 * i, 3, "%02x", pdf[i]);
        ck_assert_str_eq(jstr(j, "attachment_hex"), hex);
        free(hex);
        json_decref(j);
        channel_smtp.close(s);
}
END_TEST

/* libESMTP issue #30: the second STARTTLS session of a process crashed
 * with the library's own TLS context. */
START_TEST(test_starttls_sessions_in_one_process)
{
        char ca[320];
        smtpd_start("starttls");
        snprintf(ca, sizeof(ca), "%s/server.pem", tmpdir);
        struct config c = cfg_for("starttls");
        c.channels.email.smtp.ca_file = ca;
        for (int round = 0; round < 2; round++) {
                void *s = open_channel(&c, 0);
                for (int i = 0; i < 3; i++) {
                        char id[32];
                        snprintf(id, sizeof(id), "r-%016d", round * 10 + i);
                        struct message m = msg_for(id, "klant1@example.nl");
                        struct send_result res;
                        channel_smtp.send(s, &m, &res);
                        ck_assert_msg(res.outcome == CHANNEL_SENT, "session %d: %s",
                                      round * 3 + i, res.reason);
                }
                channel_smtp.close(s);
        }
        ck_assert_int_eq(count_received(), 6);
}
END_TEST

START_TEST(test_unknown_ca_refused)
{
        char ca[320];
        make_cert("other");
        smtpd_start("starttls");
        snprintf(ca, sizeof(ca), "%s/other.pem", tmpdir);
        struct config c = cfg_for("starttls");
        c.channels.email.smtp.ca_file = ca;
        void *s = open_channel(&c, 0);
        struct message m = msg_for("r-00000000000000bb", "klant1@example.nl");
        struct send_result res;
        channel_smtp.send(s, &m, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_TEMPFAIL);
        ck_assert_str_eq(res.provider_id, "");
        /* nor with the system's CAs */
        channel_smtp.close(s);
        c.channels.email.smtp.ca_file = NULL;
        s = open_channel(&c, 0);
        channel_smtp.send(s, &m, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_TEMPFAIL);
        channel_smtp.close(s);
        ck_assert_int_eq(count_received(), 0);
}
END_TEST

START_TEST(test_starttls_required_but_not_offered)
{
        smtpd_start("plain");
        struct config c = cfg_for("starttls");
        void *s = open_channel(&c, 0);
        struct message m = msg_for("r-00000000000000cc", "klant1@example.nl");
        struct send_result res;
        channel_smtp.send(s, &m, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_TEMPFAIL);
        ck_assert_str_eq(res.reason, "smtp: server does not offer STARTTLS");
        channel_smtp.close(s);
        ck_assert_int_eq(count_received(), 0);
}
END_TEST

START_TEST(test_auth)
{
        char ca[320], pw[320];
        smtpd_start("auth");
        snprintf(ca, sizeof(ca), "%s/server.pem", tmpdir);
        struct config c = cfg_for("starttls");
        c.channels.email.smtp.ca_file = ca;
        c.channels.email.smtp.username = (char *)"dunningd";
        c.channels.email.smtp.password = (char *)"pa ss:wörd";
        void *s = open_channel(&c, 0);
        struct message m = msg_for("r-00000000000000dd", "klant1@example.nl");
        struct send_result res;
        channel_smtp.send(s, &m, &res);
        ck_assert_msg(res.outcome == CHANNEL_SENT, "%s", res.reason);
        channel_smtp.close(s);
        snprintf(pw, sizeof(pw), "%s/auth-ok", srv.dir);
        ck_assert_int_eq(access(pw, F_OK), 0);
        /* a wrong password: not sent, and never in the reason */
        c.channels.email.smtp.password = (char *)"wrong-secret";
        s = open_channel(&c, 0);
        channel_smtp.send(s, &m, &res);
        ck_assert_int_ne(res.outcome, CHANNEL_SENT);
        ck_assert_ptr_null(strstr(res.reason, "wrong-secret"));
        channel_smtp.close(s);
        ck_assert_int_eq(count_received(), 1);
}
END_TEST

START_TEST(test_550_permfail_451_tempfail)
{
        char path[320];
        smtpd_start("plain");
        snprintf(path, sizeof(path), "%s/smtpd/reject-550", tmpdir);
        write_at(path, "perm@example.nl\n");
        snprintf(path, sizeof(path), "%s/smtpd/reject-451", tmpdir);
        write_at(path, "temp@example.nl\n");
        struct config c = cfg_for("none");
        void *s = open_channel(&c, 0);
        struct message m[3] = {
                msg_for("r-0000000000000001", "ok@example.nl"),
                msg_for("r-0000000000000002", "perm@example.nl"),
                msg_for("r-0000000000000003", "temp@example.nl"),
        };
        const struct message *mp[3] = { &m[0], &m[1], &m[2] };
        struct send_result res[3];
        /* one session for all three, each with its own outcome */
        channel_smtp.send_batch(s, mp, 3, res);
        ck_assert_msg(res[0].outcome == CHANNEL_SENT, "%s", res[0].reason);
        ck_assert_int_eq(res[1].outcome, CHANNEL_PERMFAIL);
        ck_assert_int_eq(res[2].outcome, CHANNEL_TEMPFAIL);
        ck_assert_msg(!strncmp(res[1].reason, "smtp: 550 5.1.1", 15), "%s", res[1].reason);
        ck_assert_msg(!strncmp(res[2].reason, "smtp: 451 4.3.0", 15), "%s", res[2].reason);
        for (int i = 0; i < 3; i++)
                ck_assert_msg(!strchr(res[i].reason, '@'), "address in: %s", res[i].reason);
        /* and one session per send */
        struct send_result r;
        channel_smtp.send(s, &m[1], &r);
        ck_assert_int_eq(r.outcome, CHANNEL_PERMFAIL);
        channel_smtp.send(s, &m[2], &r);
        ck_assert_int_eq(r.outcome, CHANNEL_TEMPFAIL);
        channel_smtp.close(s);
        ck_assert_int_eq(count_received(), 1);
}
END_TEST

START_TEST(test_connection_refused_is_tempfail)
{
        srv.port = 1;  /* nothing listens on port 1 */
        struct config c = cfg_for("none");
        void *s = open_channel(&c, 0);
        struct message m = msg_for("r-00000000000000ee", "klant1@example.nl");
        struct send_result res;
        channel_smtp.send(s, &m, &res);
        ck_assert_int_eq(res.outcome, CHANNEL_TEMPFAIL);
        ck_assert_msg(!strncmp(res.reason, "smtp: ", 6), "%s", res.reason);
        channel_smtp.close(s);
        /* implicit TLS is refused at open */
        c = cfg_for("tls");
        open_channel(&c, -ENOTSUP);
}
END_TEST

/* The channel sets TCP_NODELAY on every socket of the process connected to
 * the server: a socket of ours to it gets the option too. Also measures
 * the rate of one session per message and of one session per batch. */
START_TEST(test_tcp_nodelay_and_rate)
{
        smtpd_start("plain");
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        int v = 1;
        socklen_t len = sizeof(v);
        getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len);
        ck_assert_int_eq(v, 0);

        struct config c = cfg_for("none");
        void *s = open_channel(&c, 0);
        enum { N = 60 };
        struct message m[N];
        const struct message *mp[N];
        struct send_result res[N];
        char ids[N][32];
        char big[6000];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        for (int i = 0; i < N; i++) {
                snprintf(ids[i], sizeof(ids[i]), "r-%016d", i);
                m[i] = msg_for(ids[i], "klant1@example.nl");
                m[i].text = big;   /* over 2 KB: Nagle would hold each one */
                mp[i] = &m[i];
        }
        int64_t t0 = harness_now_ms();
        channel_smtp.send_batch(s, mp, N, res);
        int64_t t1 = harness_now_ms();
        for (int i = 0; i < N; i++)
                ck_assert_msg(res[i].outcome == CHANNEL_SENT, "%d: %s", i, res[i].reason);
        len = sizeof(v);
        getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len);
        ck_assert_int_eq(v, 1);
        for (int i = 0; i < 20; i++)
                channel_smtp.send(s, &m[i], &res[i]);
        int64_t t2 = harness_now_ms();
        fprintf(stderr, "email rate: %d messages in one session %lld ms (%.0f/s); "
                        "20 sessions of one %lld ms (%.0f/s)\n",
                N, (long long)(t1 - t0), N * 1000.0 / (double)(t1 - t0 + 1),
                (long long)(t2 - t1), 20 * 1000.0 / (double)(t2 - t1 + 1));
        /* with Nagle and delayed ACKs: 40 ms a message, 2.4 s */
        ck_assert_int_lt(t1 - t0, 1500);
        close(fd);
        channel_smtp.close(s);
        ck_assert_int_eq(count_received(), N + 20);
}
END_TEST

/* ---- end to end with dunningd ---- */

static struct harness *h;

static void e2e_setup(void)
{
        setup();
        h = harness_new();
}

static void e2e_teardown(void)
{
        harness_free(h);
        h = NULL;
        teardown();
}

static void enqueue(int i)
{
        char *job = harness_job_json(i, NULL);
        harness_redis_cmd(h, "XADD " HARNESS_PREFIX ":jobs * job %s", job);
        free(job);
}

/* The value of field of the first event of type for reminder, or NULL. */
static char *event_field(const char *type, const char *reminder, const char *field)
{
        struct harness_entry *e;
        size_t n = harness_xrange(h, HARNESS_PREFIX ":events", &e);
        char *v = NULL;
        for (size_t i = 0; i < n && !v; i++) {
                const char *t = harness_entry_get(&e[i], "type");
                const char *r = harness_entry_get(&e[i], "reminder");
                const char *f = harness_entry_get(&e[i], field);
                if (t && r && f && !strcmp(t, type) && !strcmp(r, reminder))
                        v = strdup(f);
        }
        harness_entries_free(e, n);
        return v;
}

struct wait_event {
        const char *type, *reminder;
};

static bool has_event(void *arg)
{
        struct wait_event *w = arg;
        char *v = event_field(w->type, w->reminder, "channel");
        bool found = v != NULL;
        free(v);
        return found;
}

/* Writes the daemon's config with c, e-mail over plain SMTP to srv. */
static void write_smtp_config(struct harness_config *c)
{
        static char yaml[256];
        snprintf(yaml, sizeof(yaml),
                 "transport: smtp, smtp: { host: 127.0.0.1, port: %d, tls: none, "
                 "timeout_ms: 10000 }",
                 srv.port);
        c->email_yaml = yaml;
        harness_config_write(h, c);
}

START_TEST(test_daemon_550_falls_back_to_sms_451_retried)
{
        char rid0[19], rid3[19], path[400];
        smtpd_start("plain");
        snprintf(path, sizeof(path), "%s/reject-550", srv.dir);
        write_at(path, "klant0@example.nl\n");
        snprintf(path, sizeof(path), "%s/reject-451", srv.dir);
        write_at(path, "klant3@example.nl\n");
        struct harness_config c;
        harness_config_defaults(&c);
        c.retry_base_ms = 300;
        c.retry_max_ms = 600;
        write_smtp_config(&c);
        harness_daemon_start(h);
        harness_reminder_id(0, rid0);
        harness_reminder_id(3, rid3);
        enqueue(0);   /* preferred channel email: refused with 550 */
        enqueue(3);   /* email: 451 until the server accepts it */

        struct wait_event sent0 = { "sent", rid0 }, failed3 = { "failed", rid3 },
                          sent3 = { "sent", rid3 };
        ck_assert_msg(harness_wait_until(has_event, &sent0, 20000), "no sent event for job 0");
        char *ch = event_field("sent", rid0, "channel");
        ck_assert_str_eq(ch, "sms");
        free(ch);
        snprintf(path, sizeof(path), "%s/sms/%s.json", h->outbox, rid0);
        ck_assert_msg(access(path, F_OK) == 0, "no sms outbox file %s", path);
        /* The customer's history marks the address (by its hash), ... */
        char *mark = harness_redis_str(h, "HGET " HARNESS_PREFIX ":customer:C-0 invalid:email");
        char want[16];
        snprintf(want, sizeof(want), ":%08x", history_contact_hash("klant0@example.nl"));
        ck_assert_msg(mark && strstr(mark, want) && !strchr(mark, '@'), "mark %s", mark);
        free(mark);
        /* ... so the customer's next reminder goes another way (the
         * policy weighs SMS and letter) without asking the server again:
         * it would take the address now (one message reaches it in this
         * test, job 3's, counted below). */
        snprintf(path, sizeof(path), "%s/reject-550", srv.dir);
        ck_assert_int_eq(unlink(path), 0);
        char *text = harness_job_json(0, NULL);
        char *step = strstr(text, "\"" HARNESS_STEP "\"");
        ck_assert_ptr_nonnull(step);
        step[strlen(HARNESS_STEP)] = '2';       /* reminder-1 -> reminder-2 */
        struct job *next = NULL;
        struct error jerr;
        ck_assert_int_eq(job_parse(&next, text, strlen(text), &jerr), 0);
        harness_redis_cmd(h, "XADD " HARNESS_PREFIX ":jobs * job %s", text);
        free(text);
        struct wait_event sent_next = { "sent", next->reminder_id };
        ck_assert_msg(harness_wait_until(has_event, &sent_next, 20000), "no sent event for "
                      "job 0's next step");
        ch = event_field("sent", next->reminder_id, "channel");
        ck_assert_msg(ch && strcmp(ch, "email") != 0, "channel %s", ch);
        free(ch);
        job_free(next);

        ck_assert_msg(harness_wait_until(has_event, &failed3, 20000), "no failed event for job 3");
        char *err = event_field("failed", rid3, "error");
        ck_assert_msg(err && !strncmp(err, "smtp: 451", 9), "error: %s", err);
        ck_assert_ptr_null(strchr(err, '@'));
        free(err);
        snprintf(path, sizeof(path), "%s/reject-451", srv.dir);
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_msg(harness_wait_until(has_event, &sent3, 20000), "job 3 was not retried");
        ch = event_field("sent", rid3, "channel");
        ck_assert_str_eq(ch, "email");
        free(ch);
        ck_assert_int_eq(count_received(), 1);
        snprintf(path, sizeof(path), "%s/msg-1.env", srv.dir);
        char *env = harness_read_file(path);
        ck_assert_ptr_nonnull(strstr(env, "klant3@example.nl"));
        free(env);
}
END_TEST

static bool received_1(void *arg)
{
        return count_received() >= 1;
}

static bool marked(void *arg)
{
        return harness_redis_int(h, "EXISTS " HARNESS_PREFIX ":sent:%s:email", (const char *)arg) ==
               1;
}

/* Messages received for address (the .env files' recipients). */
static int received_for(const char *address)
{
        int n = 0, total = count_received();
        char path[400];
        for (int i = 1; i <= total; i++) {
                snprintf(path, sizeof(path), "%s/msg-%d.env", srv.dir, i);
                char *env = harness_read_file(path);
                n += env && strstr(env, address) != NULL;
                free(env);
        }
        return n;
}

/* The moment the server takes a message, its reminder is marked sent in
 * Redis, not when the batch is recorded: a daemon killed while the next
 * message of the session hangs leaves the first one marked, and whoever
 * takes the batch over does not send it again (issue 9: no SMTP duplicate
 * after a SIGKILL). */
START_TEST(test_daemon_accepted_is_marked_at_once)
{
        char rid0[19], rid3[19], path[400];
        smtpd_start("plain");
        snprintf(path, sizeof(path), "%s/slow-data", srv.dir);
        write_at(path, "klant3@example.nl\n");
        struct harness_config c;
        harness_config_defaults(&c);
        c.workers = 1;
        c.batch = 50;
        write_smtp_config(&c);
        harness_reminder_id(0, rid0);
        harness_reminder_id(3, rid3);
        enqueue(0);
        enqueue(3);
        struct harness_daemon *d = harness_daemon_start(h);
        ck_assert_msg(harness_wait_until(received_1, NULL, 20000), "nothing received");
        ck_assert_msg(harness_wait_until(marked, rid0, 5000), "no marker for %s", rid0);
        /* still in the session: the batch is not recorded */
        ck_assert_uint_eq(harness_count_events(h, "sent"), 0);
        harness_daemon_kill(d);
        ck_assert_int_eq(unlink(path), 0);
        harness_daemon_start(h);
        struct wait_event we = { "sent", rid3 };
        ck_assert_msg(harness_wait_until(has_event, &we, 30000), "customer 3 not sent");
        char *why = event_field("skipped", rid0, "reason");
        ck_assert_str_eq(why, "already-sent");
        free(why);
        ck_assert_int_eq(received_for("klant0@example.nl"), 1);
}
END_TEST

static bool received_20(void *arg)
{
        return count_received() >= 20;
}

/* The e-mails of one batch go out in one SMTP session (EHLO counted by
 * the server), each with its own outcome. */
START_TEST(test_daemon_batches_emails_in_one_session)
{
        char path[400];
        smtpd_start("plain");
        struct harness_config c;
        harness_config_defaults(&c);
        c.workers = 1;
        c.batch = 50;
        write_smtp_config(&c);
        /* 20 customers whose channel is e-mail (i % 3 == 0), queued first. */
        for (int i = 0; i < 60; i += 3)
                enqueue(i);
        harness_daemon_start(h);
        ck_assert_msg(harness_wait_until(received_20, NULL, 20000), "%d of 20 received",
                      count_received());
        ck_assert_int_eq(harness_wait_sent(h, 20, 20000), 20);
        snprintf(path, sizeof(path), "%s/ehlo.log", srv.dir);
        char *log = harness_read_file(path);
        ck_assert_ptr_nonnull(log);
        int sessions = 0;
        for (char *p = log; *p; p++)
                sessions += *p == '\n';
        free(log);
        ck_assert_msg(sessions >= 1 && sessions <= 2, "%d SMTP sessions for 20 e-mails", sessions);
        ck_assert_int_eq(count_received(), 20);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("email");
        TCase *tc = tcase_create("channel");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_plain_full_message);
        tcase_add_test(tc, test_starttls_sessions_in_one_process);
        tcase_add_test(tc, test_unknown_ca_refused);
        tcase_add_test(tc, test_starttls_required_but_not_offered);
        tcase_add_test(tc, test_auth);
        tcase_add_test(tc, test_550_permfail_451_tempfail);
        tcase_add_test(tc, test_connection_refused_is_tempfail);
        tcase_add_test(tc, test_tcp_nodelay_and_rate);
        suite_add_tcase(s, tc);
        TCase *e2e = tcase_create("daemon");
        tcase_add_checked_fixture(e2e, e2e_setup, e2e_teardown);
        tcase_set_timeout(e2e, 120);
        tcase_add_test(e2e, test_daemon_550_falls_back_to_sms_451_retried);
        tcase_add_test(e2e, test_daemon_batches_emails_in_one_session);
        tcase_add_test(e2e, test_daemon_accepted_is_marked_at_once);
        suite_add_tcase(s, e2e);
        return harness_run(s);
}
