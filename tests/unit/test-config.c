/* test-config.c: Check suite for the config loader (config.c, config_yaml.c).
 *
 * Each test writes its config into a fresh mkdtemp directory and asserts
 * the exact error text, "@" in an expected string standing for the path of
 * the file under test. */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "unit.h"

#define MINIMAL "creditor: { name: Acme, iban: NL91ABNA0417164300 }\n"

static char dir[PATH_MAX];

static void setup(void)
{
        snprintf(dir, sizeof(dir), "%s/test-config-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static void teardown(void)
{
        nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes content to dir/name; returns the path (caller frees). */
static char *write_file(const char *name, const char *content)
{
        struct buf b = BUF_INIT;
        FILE *f;

        buf_printf(&b, "%s/%s", dir, name);
        f = fopen(b.data, "w");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fputs(content, f) >= 0, 1);
        ck_assert_int_eq(fclose(f), 0);
        return buf_steal(&b);
}

/* expected with every '@' replaced by path */
static char *expand(const char *expected, const char *path)
{
        struct buf b = BUF_INIT;

        for (const char *p = expected; *p; p++) {
                if (*p == '@')
                        buf_puts(&b, path);
                else
                        buf_putc(&b, *p);
        }
        return buf_steal(&b);
}

/* Loads yaml and asserts it fails with exactly the expected message. */
static void expect_errors(const char *yaml, const char *expected)
{
        struct config *cfg = (struct config *)&cfg;
        struct error err;
        char *path = write_file("dunningd.yaml", yaml);
        char *want = expand(expected, path);
        int r;

        memset(err.msg, 'x', sizeof(err.msg) - 1);
        err.msg[sizeof(err.msg) - 1] = '\0';
        r = config_load(&cfg, path, &err);
        ck_assert_str_eq(err.msg, want);
        ck_assert_int_eq(r, -EINVAL);
        ck_assert_ptr_eq(cfg, (struct config *)&cfg);
        free(want);
        free(path);
}

/* Loads yaml, which must be valid. */
static struct config *load_ok(const char *yaml)
{
        struct config *cfg = NULL;
        struct error err = { .msg = "" };
        char *path = write_file("dunningd.yaml", yaml);
        int r;

        r = config_load(&cfg, path, &err);
        ck_assert_msg(r == 0, "config_load: %d: %s", r, err.msg);
        ck_assert_ptr_nonnull(cfg);
        ck_assert_str_eq(cfg->path, path);
        free(path);
        return cfg;
}

START_TEST(test_unknown_key_top_level)
{
        expect_errors(MINIMAL "bogus: 1\n"
                              "other: { a: 1, b: [2] }\n",
                      "@:2:1: bogus: unknown key\n"
                      "@:3:1: other: unknown key");
}
END_TEST

START_TEST(test_unknown_key_nested)
{
        expect_errors(MINIMAL "queue:\n"
                              "  bacth: 5\n"
                              "channels:\n"
                              "  fax: { transport: outbox }\n"
                              "  email: { transport: outbox, smtp_host: x }\n",
                      "@:3:3: queue.bacth: unknown key\n"
                      "@:5:3: channels.fax: unknown key\n"
                      "@:6:31: channels.email.smtp_host: unknown key");
}
END_TEST

START_TEST(test_bad_creditor_iban)
{
        expect_errors("creditor: { name: Acme, iban: NL91ABNA0417164301 }\n",
                      "@:1:31: creditor.iban: \"NL91ABNA0417164301\" IBAN NL91ABNA0417164301: "
                      "wrong check digits (mod 97)");
}
END_TEST

START_TEST(test_wrong_type)
{
        expect_errors("creditor: { name: A, iban: NL91ABNA0417164300, address: Postbus 1 }\n"
                      "workers: { a: 1 }\n"
                      "queue: 5\n"
                      "log: { level: [debug] }\n"
                      "templates: [a, b]\n"
                      "channels:\n"
                      "  sms:\n"
                      "    sender:\n"
                      "      x: y\n",
                      "@:1:57: creditor.address: expected a list of strings, got a scalar\n"
                      "@:2:10: workers: expected an integer, got a mapping\n"
                      "@:3:8: queue: expected a mapping, got a scalar\n"
                      "@:4:15: log.level: expected a string, got a list\n"
                      "@:5:12: templates: expected a string, got a list\n"
                      "@:9:7: channels.sms.sender: expected a string, got a mapping");
}
END_TEST

START_TEST(test_wrong_type_nested_list)
{
        expect_errors("creditor:\n"
                      "  name: A\n"
                      "  iban: NL91ABNA0417164300\n"
                      "  address: [a, [b], { c: d }]\n",
                      "@:4:12: creditor.address: expected a list of strings, "
                      "got a list of lists or mappings");
}
END_TEST

START_TEST(test_not_an_integer)
{
        expect_errors(MINIMAL "workers: abc\n"
                              "queue: { batch: 1.5, block_ms: 10x, claim_idle_ms: \"\" }\n"
                              "channels: { sms: { max_segments: \" 3\" } }\n",
                      "@:2:10: workers: \"abc\" is not an integer\n"
                      "@:3:17: queue.batch: \"1.5\" is not an integer\n"
                      "@:3:32: queue.block_ms: \"10x\" is not an integer\n"
                      "@:3:52: queue.claim_idle_ms: \"\" is not an integer\n"
                      "@:4:34: channels.sms.max_segments: \" 3\" is not an integer");
}
END_TEST

START_TEST(test_out_of_range)
{
        /* problems of the YAML itself (duplicates) come first */
        expect_errors(MINIMAL "workers: 2\n"
                              "queue:\n"
                              "  batch: 0\n"
                              "  events_maxlen: 999\n"
                              "  retry_max_ms: 604800001\n"
                              "  claim_idle_ms: 99999999999999999999999\n"
                              "  drain_timeout_ms: -1\n"
                              "workers: 257\n",
                      "@:9:1: workers: duplicate key (first at 2:1)\n"
                      "@:4:10: queue.batch: 0 is out of range (1..10000)\n"
                      "@:5:18: queue.events_maxlen: 999 is out of range (1000..100000000)\n"
                      "@:6:17: queue.retry_max_ms: 604800001 is out of range (10..604800000)\n"
                      "@:7:18: queue.claim_idle_ms: 99999999999999999999999 is out of range "
                      "(100..86400000)\n"
                      "@:8:21: queue.drain_timeout_ms: -1 is out of range (0..600000)");
}
END_TEST

START_TEST(test_bounds_accepted)
{
        struct config *cfg = load_ok(MINIMAL "workers: 256\n"
                                             "queue: { batch: 1, drain_timeout_ms: 0,"
                                             " retry_base_ms: 10, retry_max_ms: 10 }\n");

        ck_assert_int_eq(cfg->workers, 256);
        ck_assert_int_eq(cfg->queue.batch, 1);
        ck_assert_int_eq(cfg->queue.drain_timeout_ms, 0);
        ck_assert_int_eq(cfg->queue.retry_max_ms, 10);
        config_free(cfg);
}
END_TEST

START_TEST(test_bad_enum)
{
        expect_errors(MINIMAL "channels:\n"
                              "  email: { transport: smtpx }\n"
                              "  sms: { transport: smtp }\n"
                              "  letter: { transport: \"\" }\n"
                              "log: { level: verbose }\n",
                      "@:3:23: channels.email.transport: unknown value \"smtpx\" "
                      "(expected one of: outbox, smtp)\n"
                      "@:4:21: channels.sms.transport: unknown value \"smtp\" "
                      "(expected one of: outbox, http)\n"
                      "@:5:24: channels.letter.transport: must not be empty\n"
                      "@:6:15: log.level: unknown value \"verbose\" "
                      "(expected one of: debug, info, warning, error)");
}
END_TEST

START_TEST(test_missing_required_in_parent)
{
        expect_errors("workers: 1\n"
                      "creditor:\n"
                      "  name: Acme\n",
                      "@:2:1: creditor.iban: required key missing");
}
END_TEST

START_TEST(test_missing_required_no_parent)
{
        expect_errors("workers: 1\n",
                      "@:1:1: creditor.name: required key missing\n"
                      "@:1:1: creditor.iban: required key missing");
}
END_TEST

START_TEST(test_empty_file)
{
        expect_errors("", "@:1:1: creditor.name: required key missing\n"
                          "@:1:1: creditor.iban: required key missing");
        expect_errors("# only a comment\n---\n",
                      "@:1:1: creditor.name: required key missing\n"
                      "@:1:1: creditor.iban: required key missing");
}
END_TEST

START_TEST(test_required_empty)
{
        expect_errors("creditor:\n"
                      "  name: Acme\n"
                      "  iban:\n",
                      "@:3:8: creditor.iban: must not be empty");
}
END_TEST

START_TEST(test_secret_unreadable)
{
        expect_errors(MINIMAL "redis: { password_file: /nonexistent/dunningd/x }\n",
                      "@:2:25: redis.password_file: cannot read /nonexistent/dunningd/x: "
                      "No such file or directory");
}
END_TEST

START_TEST(test_secret_empty)
{
        char *secret = write_file("secret", "\n");
        struct buf yaml = BUF_INIT;
        struct buf want = BUF_INIT;

        buf_printf(&yaml, MINIMAL "redis:\n  password_file: %s\n", secret);
        buf_printf(&want, "@:3:18: redis.password_file: %s is empty", secret);
        expect_errors(yaml.data, want.data);
        buf_free(&yaml);
        buf_free(&want);
        free(secret);
}
END_TEST

START_TEST(test_secret_too_large)
{
        char *big = xmalloc(64 * 1024 + 3);
        struct buf yaml = BUF_INIT;
        struct buf want = BUF_INIT;
        char *secret;

        memset(big, 'a', 64 * 1024 + 1);
        big[64 * 1024 + 1] = '\0';
        secret = write_file("secret", big);
        buf_printf(&yaml, MINIMAL "redis:\n  password_file: %s\n", secret);
        buf_printf(&want, "@:3:18: redis.password_file: %s is larger than 64 KiB", secret);
        expect_errors(yaml.data, want.data);

        /* exactly 64 KiB plus "\r\n" is fine */
        big[64 * 1024] = '\r';
        big[64 * 1024 + 1] = '\n';
        big[64 * 1024 + 2] = '\0';
        free(write_file("secret", big));
        struct config *cfg = load_ok(yaml.data);
        ck_assert_uint_eq(strlen(cfg->redis.password), 64 * 1024);
        config_free(cfg);

        buf_free(&yaml);
        buf_free(&want);
        free(secret);
        free(big);
}
END_TEST

START_TEST(test_secret_read_and_stripped)
{
        static const struct {
                const char *content, *want;
        } cases[] = {
                { "s3cret\n", "s3cret" },
                { "s3cret\r\n", "s3cret" },
                { "s3cret", "s3cret" },
                { "s3cret\n\n", "s3cret\n" },
                { " two words ", " two words " },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *secret = write_file("secret", cases[i].content);
                struct buf yaml = BUF_INIT;
                struct config *cfg;

                buf_printf(&yaml, MINIMAL "redis: { password_file: \"%s\" }\n", secret);
                cfg = load_ok(yaml.data);
                ck_assert_str_eq(cfg->redis.password, cases[i].want);
                config_free(cfg);
                buf_free(&yaml);
                free(secret);
        }
}
END_TEST

START_TEST(test_secret_not_in_messages)
{
        char *secret = write_file("secret", "hunter2\n");
        struct buf yaml = BUF_INIT;
        struct config *cfg = NULL;
        struct error err;
        char *path;

        buf_printf(&yaml, MINIMAL "redis: { password_file: \"%s\" }\nworkers: 0\n", secret);
        path = write_file("dunningd.yaml", yaml.data);
        ck_assert_int_eq(config_load(&cfg, path, &err), -EINVAL);
        ck_assert_ptr_null(strstr(err.msg, "hunter2"));
        ck_assert_ptr_nonnull(strstr(err.msg, "workers: 0 is out of range"));
        free(path);
        buf_free(&yaml);
        free(secret);
}
END_TEST

START_TEST(test_yaml_syntax_error)
{
        expect_errors(MINIMAL "queue: { batch: 1\n",
                      "@:3:1: yaml: did not find expected ',' or '}'");
        expect_errors(MINIMAL "workers: 1\n  bad: 2\n",
                      "@:3:6: yaml: mapping values are not allowed in this context");
        expect_errors("\tworkers: 1\n",
                      "@:1:1: yaml: found character that cannot start any token");
}
END_TEST

START_TEST(test_yaml_structure)
{
        expect_errors("- a\n- b\n", "@:1:1: yaml: the top level must be a mapping");
        expect_errors(MINIMAL "---\nworkers: 1\n", "@:2:1: yaml: only one document is allowed");
        expect_errors(MINIMAL "templates: &t /x\noutbox: *t\n",
                      "@:2:12: yaml: anchors are not supported");
        expect_errors(MINIMAL "? [a]\n: 1\n", "@:2:3: yaml: mapping keys must be scalars");
        expect_errors(MINIMAL "queue.batch: 5\nqueue: { \"\": 1 }\n",
                      "@:2:1: queue.batch: not a valid key name\n"
                      "@:3:10: queue.\"\": not a valid key name");
        expect_errors(MINIMAL "x: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
                      "@:2:36: yaml: nesting too deep");
        expect_errors(MINIMAL "bic: \xff\n", "@:2:6: yaml: invalid leading UTF-8 octet");
        expect_errors(MINIMAL "workers: *x\n", "@:2:10: yaml: aliases are not supported");
}
END_TEST

START_TEST(test_duplicate_key)
{
        expect_errors(MINIMAL "queue:\n"
                              "  batch: 5\n"
                              "  batch: 6\n"
                              "queue: { batch: 7 }\n",
                      "@:4:3: queue.batch: duplicate key (first at 3:3)\n"
                      "@:5:1: queue: duplicate key (first at 2:1)");
}
END_TEST

START_TEST(test_flow_mapping)
{
        struct config *cfg = load_ok(
                "queue: { batch: 250, block_ms: 500, claim_idle_ms: 30000,\n"
                "         max_deliveries: 3, drain_timeout_ms: 2000 }\n"
                "creditor: { name: \"Acme, Inc.\", iban: NL91ABNA0417164300,\n"
                "            address: [\"Postbus 123\", 3500 AA Utrecht] }\n"
                "channels: { email: { transport: smtp }, sms: { max_segments: 2 } }\n");

        ck_assert_int_eq(cfg->queue.batch, 250);
        ck_assert_int_eq(cfg->queue.block_ms, 500);
        ck_assert_int_eq(cfg->queue.claim_idle_ms, 30000);
        ck_assert_int_eq(cfg->queue.max_deliveries, 3);
        ck_assert_int_eq(cfg->queue.drain_timeout_ms, 2000);
        ck_assert_int_eq(cfg->queue.max_attempts, 8);
        ck_assert_str_eq(cfg->creditor.name, "Acme, Inc.");
        ck_assert_uint_eq(cfg->creditor.n_address, 2);
        ck_assert_str_eq(cfg->creditor.address[0], "Postbus 123");
        ck_assert_str_eq(cfg->creditor.address[1], "3500 AA Utrecht");
        ck_assert_ptr_null(cfg->creditor.address[2]);
        ck_assert_str_eq(cfg->channels.email.transport, "smtp");
        ck_assert_int_eq(cfg->channels.sms.max_segments, 2);
        config_free(cfg);
}
END_TEST

START_TEST(test_full_config)
{
        char *secret = write_file("redis-password", "pw\n");
        char *smtp_secret = write_file("smtp-password", "s3cret\n");
        char *sms_token = write_file("sms-token", "mb-key\n");
        char *mollie_key = write_file("mollie-key", "test_abc\n");
        struct buf yaml = BUF_INIT;
        struct config *cfg;

        buf_printf(&yaml,
                   "redis:\n"
                   "  url: redis://10.0.0.1:6380/2\n"
                   "  password_file: %s\n"
                   "  prefix: acme.dunning-1_a\n"
                   "workers: 16\n"
                   "queue:\n"
                   "  batch: 10\n"
                   "  block_ms: 20\n"
                   "  claim_idle_ms: 3000\n"
                   "  max_deliveries: 4\n"
                   "  drain_timeout_ms: 5000\n"
                   "  max_attempts: 6\n"
                   "  retry_base_ms: 700\n"
                   "  retry_max_ms: 80000\n"
                   "  sent_ttl_days: 30\n"
                   "  events_maxlen: 5000\n"
                   "listen: \"[::1]:9000\"\n"
                   "templates: /etc/dunningd/templates\n"
                   "outbox: /tmp/outbox\n"
                   "creditor:\n"
                   "  name: Acme Energie B.V.\n"
                   "  iban: NL91ABNA0417164300\n"
                   "  bic: ABNANL2A\n"
                   "  address:\n"
                   "    - Postbus 123\n"
                   "    - 3500 AA Utrecht\n"
                   "channels:\n"
                   "  email:\n"
                   "    transport: smtp\n"
                   "    from: \"Acme <debiteuren@acme.example>\"\n"
                   "    reply_to: debiteuren@acme.example\n"
                   "    list_unsubscribe: \"<mailto:afmelden@acme.example>\"\n"
                   "    smtp:\n"
                   "      host: smtp.acme.example\n"
                   "      port: 465\n"
                   "      tls: none\n"
                   "      ca_file: /etc/ssl/ca.pem\n"
                   "      username: dunningd\n"
                   "      password_file: %s\n"
                   "      timeout_ms: 5000\n"
                   "  sms:\n"
                   "    transport: http\n"
                   "    sender: Acme\n"
                   "    max_segments: 10\n"
                   "    provider: twilio\n"
                   "    url: http://127.0.0.1:8080/2010-04-01\n"
                   "    token_file: %s\n"
                   "    account_sid: AC123\n"
                   "    report_url: https://dunning.acme.example/webhooks/sms/twilio\n"
                   "    default_country: BE\n"
                   "    quiet_hours: \"22:30-07:45\"\n"
                   "    connect_timeout_ms: 1500\n"
                   "    timeout_ms: 4000\n"
                   "  letter:\n"
                   "    transport: outbox\n"
                   "log:\n"
                   "  level: debug\n"
                   "paylink:\n"
                   "  provider: mollie\n"
                   "  api_url: http://127.0.0.1:8081/v2\n"
                   "  api_key_file: %s\n"
                   "  redirect_url: https://acme.example/paid\n"
                   "  webhook_url: https://dunning.acme.example/webhooks/mollie\n"
                   "  expires_days: 21\n"
                   "  timeout_ms: 3000\n",
                   secret, smtp_secret, sms_token, mollie_key);
        cfg = load_ok(yaml.data);
        ck_assert_str_eq(cfg->redis.url, "redis://10.0.0.1:6380/2");
        ck_assert_str_eq(cfg->redis.password, "pw");
        ck_assert_str_eq(cfg->redis.prefix, "acme.dunning-1_a");
        ck_assert_int_eq(cfg->workers, 16);
        ck_assert_int_eq(cfg->queue.batch, 10);
        ck_assert_int_eq(cfg->queue.block_ms, 20);
        ck_assert_int_eq(cfg->queue.claim_idle_ms, 3000);
        ck_assert_int_eq(cfg->queue.max_deliveries, 4);
        ck_assert_int_eq(cfg->queue.drain_timeout_ms, 5000);
        ck_assert_int_eq(cfg->queue.max_attempts, 6);
        ck_assert_int_eq(cfg->queue.retry_base_ms, 700);
        ck_assert_int_eq(cfg->queue.retry_max_ms, 80000);
        ck_assert_int_eq(cfg->queue.sent_ttl_days, 30);
        ck_assert_int_eq(cfg->queue.events_maxlen, 5000);
        ck_assert_str_eq(cfg->listen, "[::1]:9000");
        ck_assert_str_eq(cfg->templates, "/etc/dunningd/templates");
        ck_assert_str_eq(cfg->outbox, "/tmp/outbox");
        ck_assert_str_eq(cfg->creditor.name, "Acme Energie B.V.");
        ck_assert_str_eq(cfg->creditor.iban, "NL91ABNA0417164300");
        ck_assert_str_eq(cfg->creditor.bic, "ABNANL2A");
        ck_assert_uint_eq(cfg->creditor.n_address, 2);
        ck_assert_str_eq(cfg->creditor.address[0], "Postbus 123");
        ck_assert_str_eq(cfg->creditor.address[1], "3500 AA Utrecht");
        ck_assert_ptr_null(cfg->creditor.address[2]);
        ck_assert_str_eq(cfg->channels.email.transport, "smtp");
        ck_assert_str_eq(cfg->channels.email.from, "Acme <debiteuren@acme.example>");
        ck_assert_str_eq(cfg->channels.email.reply_to, "debiteuren@acme.example");
        ck_assert_str_eq(cfg->channels.email.list_unsubscribe, "<mailto:afmelden@acme.example>");
        ck_assert_str_eq(cfg->channels.email.smtp.host, "smtp.acme.example");
        ck_assert_int_eq(cfg->channels.email.smtp.port, 465);
        ck_assert_str_eq(cfg->channels.email.smtp.tls, "none");
        ck_assert_str_eq(cfg->channels.email.smtp.ca_file, "/etc/ssl/ca.pem");
        ck_assert_str_eq(cfg->channels.email.smtp.username, "dunningd");
        ck_assert_str_eq(cfg->channels.email.smtp.password, "s3cret");
        ck_assert_int_eq(cfg->channels.email.smtp.timeout_ms, 5000);
        ck_assert_str_eq(cfg->channels.sms.transport, "http");
        ck_assert_str_eq(cfg->channels.sms.sender, "Acme");
        ck_assert_int_eq(cfg->channels.sms.max_segments, 10);
        ck_assert_str_eq(cfg->channels.sms.provider, "twilio");
        ck_assert_str_eq(cfg->channels.sms.url, "http://127.0.0.1:8080/2010-04-01");
        ck_assert_str_eq(cfg->channels.sms.token, "mb-key");
        ck_assert_str_eq(cfg->channels.sms.account_sid, "AC123");
        ck_assert_str_eq(cfg->channels.sms.report_url,
                         "https://dunning.acme.example/webhooks/sms/twilio");
        ck_assert_str_eq(cfg->channels.sms.default_country, "BE");
        ck_assert_str_eq(cfg->channels.sms.quiet_hours, "22:30-07:45");
        ck_assert_int_eq(cfg->channels.sms.connect_timeout_ms, 1500);
        ck_assert_int_eq(cfg->channels.sms.timeout_ms, 4000);
        ck_assert_str_eq(cfg->channels.letter.transport, "outbox");
        ck_assert_str_eq(cfg->log.level, "debug");
        ck_assert_str_eq(cfg->paylink.provider, "mollie");
        ck_assert_str_eq(cfg->paylink.api_url, "http://127.0.0.1:8081/v2");
        ck_assert_str_eq(cfg->paylink.api_key, "test_abc");
        ck_assert_str_eq(cfg->paylink.redirect_url, "https://acme.example/paid");
        ck_assert_str_eq(cfg->paylink.webhook_url, "https://dunning.acme.example/webhooks/mollie");
        ck_assert_int_eq(cfg->paylink.expires_days, 21);
        ck_assert_int_eq(cfg->paylink.timeout_ms, 3000);
        config_free(cfg);
        free(sms_token);
        free(mollie_key);
        buf_free(&yaml);
        free(secret);
        free(smtp_secret);
}
END_TEST

START_TEST(test_defaults)
{
        struct config *cfg = load_ok("creditor:\n  name: Acme\n  iban: NL91ABNA0417164300\n");

        ck_assert_str_eq(cfg->redis.url, "redis://127.0.0.1:6379/0");
        ck_assert_ptr_null(cfg->redis.password);
        ck_assert_str_eq(cfg->redis.prefix, "dunning");
        ck_assert_int_eq(cfg->workers, 8);
        ck_assert_int_eq(cfg->queue.batch, 100);
        ck_assert_int_eq(cfg->queue.block_ms, 1000);
        ck_assert_int_eq(cfg->queue.claim_idle_ms, 60000);
        ck_assert_int_eq(cfg->queue.max_deliveries, 5);
        ck_assert_int_eq(cfg->queue.drain_timeout_ms, 10000);
        ck_assert_int_eq(cfg->queue.max_attempts, 8);
        ck_assert_int_eq(cfg->queue.retry_base_ms, 30000);
        ck_assert_int_eq(cfg->queue.retry_max_ms, 21600000);
        ck_assert_int_eq(cfg->queue.sent_ttl_days, 90);
        ck_assert_int_eq(cfg->queue.events_maxlen, 1000000);
        ck_assert_str_eq(cfg->listen, "127.0.0.1:9464");
        ck_assert_str_eq(cfg->templates, "/usr/share/dunningd/templates");
        ck_assert_str_eq(cfg->outbox, "/var/spool/dunningd/outbox");
        ck_assert_ptr_null(cfg->creditor.bic);
        ck_assert_ptr_null(cfg->creditor.address);
        ck_assert_uint_eq(cfg->creditor.n_address, 0);
        ck_assert_str_eq(cfg->channels.email.transport, "outbox");
        ck_assert_str_eq(cfg->channels.email.from, "dunningd <dunningd@localhost>");
        ck_assert_ptr_null(cfg->channels.email.reply_to);
        ck_assert_ptr_null(cfg->channels.email.list_unsubscribe);
        ck_assert_str_eq(cfg->channels.email.smtp.host, "127.0.0.1");
        ck_assert_int_eq(cfg->channels.email.smtp.port, 587);
        ck_assert_str_eq(cfg->channels.email.smtp.tls, "starttls");
        ck_assert_ptr_null(cfg->channels.email.smtp.ca_file);
        ck_assert_ptr_null(cfg->channels.email.smtp.username);
        ck_assert_ptr_null(cfg->channels.email.smtp.password);
        ck_assert_int_eq(cfg->channels.email.smtp.timeout_ms, 30000);
        ck_assert_str_eq(cfg->channels.sms.transport, "outbox");
        ck_assert_str_eq(cfg->channels.sms.sender, "dunningd");
        ck_assert_int_eq(cfg->channels.sms.max_segments, 3);
        ck_assert_str_eq(cfg->channels.letter.transport, "outbox");
        ck_assert_str_eq(cfg->log.level, "info");
        config_free(cfg);
}
END_TEST

START_TEST(test_example_config)
{
        const char *root = getenv("DUNNINGD_SOURCE_ROOT");
        struct config *cfg = NULL;
        struct error err = { .msg = "" };
        struct buf path = BUF_INIT;
        int r;

        ck_assert_msg(root && *root, "DUNNINGD_SOURCE_ROOT is not set");
        buf_printf(&path, "%s/config/dunningd.yaml", root);
        r = config_load(&cfg, path.data, &err);
        ck_assert_msg(r == 0, "%s", err.msg);
        ck_assert_str_eq(cfg->creditor.name, "Acme Energie B.V.");
        ck_assert_str_eq(cfg->channels.email.transport, "outbox");
        ck_assert_str_eq(cfg->channels.sms.transport, "outbox");
        ck_assert_str_eq(cfg->channels.letter.transport, "outbox");
        ck_assert_uint_eq(cfg->n_flows, 0);
        ck_assert(!cfg->timing.enabled);
        ck_assert_uint_eq(cfg->timing.n_holidays, 3);
        config_free(cfg);

        /* The flows example, commented out ("#flows:" and the lines after
         * it up to a blank one), is valid once uncommented. */
        char *text = NULL;
        FILE *f = fopen(path.data, "r");
        size_t cap = 0;
        struct buf yaml = BUF_INIT;
        bool in = false;
        ck_assert_ptr_nonnull(f);
        while (getline(&text, &cap, f) > 0) {
                if (!strncmp(text, "#flows:", 7))
                        in = true;
                else if (text[0] != '#')
                        in = false;
                buf_puts(&yaml, in ? text + 1 : text);
        }
        free(text);
        fclose(f);
        char *copy = write_file("example.yaml", yaml.data);
        r = config_load(&cfg, copy, &err);
        ck_assert_msg(r == 0, "%s", err.msg);
        ck_assert_uint_eq(cfg->n_flows, 2);
        ck_assert_uint_eq(cfg->flows[0].n_steps, 4);
        ck_assert(cfg->flows[1].steps[2].handover);
        config_free(cfg);
        free(copy);
        buf_free(&yaml);
        buf_free(&path);
}
END_TEST

START_TEST(test_limits)
{
        expect_errors(MINIMAL "redis: { username: \"a b\" }\n"
                              "limits:\n"
                              "  rate: { sms: 50/sec, letter: \"2000/day burst 0\" }\n"
                              "  contact: { max: -1 }\n",
                      "@:2:20: redis.username: \"a b\" must not contain spaces or control "
                      "characters\n"
                      "@:4:16: limits.rate.sms: \"50/sec\" has a unit other than s, min, h or "
                      "day\n"
                      "@:4:32: limits.rate.letter: \"2000/day burst 0\" may only be followed by "
                      "\" burst N\" (N 1..1000000)\n"
                      "@:5:19: limits.contact.max: -1 is out of range (0..30)");
        expect_errors(MINIMAL "redis: { username: dunningd }\n"
                              "history: { enabled: false }\n"
                              "limits: { contact: { gap_hours: 24 } }\n",
                      "@:2:20: redis.password_file: required when redis.username is set\n"
                      "@:3:21: history.enabled: must be true when limits.contact is set");
        char *pw = write_file("redis.pass", "secret\n");
        char *yaml = NULL;
        ck_assert(asprintf(&yaml, MINIMAL "redis: { username: dunningd, password_file: %s }\n"
                                          "limits:\n"
                                          "  rate: { sms: 50/s, email: 600/min }\n"
                                          "  contact: { max: 3, days: 14, gap_hours: 48 }\n"
                                          "retention: { events_days: 90 }\n",
                           pw) >= 0);
        struct config *cfg = load_ok(yaml);
        free(yaml);
        free(pw);
        ck_assert_str_eq(cfg->redis.password, "secret");
        ck_assert_str_eq(cfg->redis.username, "dunningd");
        ck_assert_str_eq(cfg->limits.rate[1], "50/s");
        ck_assert_ptr_null(cfg->limits.rate[2]);
        ck_assert_int_eq(cfg->limits.contact_max, 3);
        ck_assert_int_eq(cfg->limits.contact_days, 14);
        ck_assert_int_eq(cfg->limits.contact_gap_hours, 48);
        ck_assert_int_eq(cfg->retention.events_days, 90);
        ck_assert_int_eq(cfg->retention.payments_days, 0);
        config_free(cfg);
}
END_TEST

START_TEST(test_multiple_errors)
{
        expect_errors("workers: 0\n"
                      "queue:\n"
                      "  batch: x\n"
                      "  bacth: 1\n"
                      "creditor: { name: A }\n"
                      "log: { level: loud }\n"
                      "listen: localhost\n",
                      "@:1:10: workers: 0 is out of range (1..256)\n"
                      "@:3:10: queue.batch: \"x\" is not an integer\n"
                      "@:4:3: queue.bacth: unknown key\n"
                      "@:6:15: log.level: unknown value \"loud\" "
                      "(expected one of: debug, info, warning, error)\n"
                      "@:7:9: listen: \"localhost\" must be HOST:PORT with PORT 1..65535 "
                      "([ADDR]:PORT for IPv6)\n"
                      "@:5:1: creditor.iban: required key missing");
}
END_TEST

START_TEST(test_many_errors_truncated)
{
        struct buf yaml = BUF_INIT;
        struct config *cfg = NULL;
        struct error err;
        char *path;
        size_t len;

        buf_puts(&yaml, MINIMAL);
        for (int i = 0; i < 200; i++)
                buf_printf(&yaml, "unknown_key_%03d: 1\n", i);
        path = write_file("dunningd.yaml", yaml.data);
        ck_assert_int_eq(config_load(&cfg, path, &err), -EINVAL);
        len = strlen(err.msg);
        ck_assert_uint_lt(len, sizeof(err.msg));
        ck_assert_str_eq(err.msg + len - 4, "\n...");
        ck_assert_ptr_nonnull(strstr(err.msg, ":2:1: unknown_key_000: unknown key\n"));
        ck_assert_ptr_null(strstr(err.msg, "unknown_key_199"));
        free(path);
        buf_free(&yaml);
}
END_TEST

START_TEST(test_file_unreadable)
{
        struct config *cfg = (struct config *)&cfg;
        struct error err;
        struct buf path = BUF_INIT;
        struct buf want = BUF_INIT;

        buf_printf(&path, "%s/missing.yaml", dir);
        buf_printf(&want, "%s: cannot read: No such file or directory", path.data);
        ck_assert_int_eq(config_load(&cfg, path.data, &err), -ENOENT);
        ck_assert_str_eq(err.msg, want.data);
        ck_assert_ptr_eq(cfg, (struct config *)&cfg);

        buf_reset(&want);
        buf_printf(&want, "%s: cannot read: Is a directory", dir);
        ck_assert_int_eq(config_load(&cfg, dir, &err), -EISDIR);
        ck_assert_str_eq(err.msg, want.data);
        buf_free(&path);
        buf_free(&want);
}
END_TEST

START_TEST(test_retry_max_below_base)
{
        expect_errors(MINIMAL "queue:\n  retry_base_ms: 5000\n  retry_max_ms: 4000\n",
                      "@:4:17: queue.retry_max_ms: 4000 is less than queue.retry_base_ms (5000)");
        expect_errors(MINIMAL "queue: { retry_base_ms: 30000000 }\n",
                      "@:2:25: queue.retry_max_ms: 21600000 is less than "
                      "queue.retry_base_ms (30000000)");
}
END_TEST

START_TEST(test_provider_needs)
{
        /* What a provider needs is named at the key that chose it. */
        expect_errors(MINIMAL "channels: { sms: { transport: http, provider: twilio } }\n"
                              "paylink: { provider: mollie }\n",
                      "@:2:31: channels.sms.token_file: required when channels.sms.transport "
                      "is http\n"
                      "@:2:47: channels.sms.account_sid: required when channels.sms.provider "
                      "is twilio\n"
                      "@:3:22: paylink.api_key_file: required when paylink.provider is mollie\n"
                      "@:3:22: paylink.redirect_url: required when paylink.provider is mollie");
        expect_errors(MINIMAL "paylink: { provider: static, url_template: \"https://p.example/x\" }\n"
                              "channels: { sms: { quiet_hours: \"9-17\", default_country: nl,"
                              " url: \"ftp://x\" } }\n",
                      "@:2:44: paylink.url_template: \"https://p.example/x\" must contain {token}\n"
                      "@:3:33: channels.sms.quiet_hours: \"9-17\" must be HH:MM-HH:MM "
                      "(e.g. 21:00-08:00) or none\n"
                      "@:3:58: channels.sms.default_country: \"nl\" must be an ISO 3166-1 "
                      "alpha-2 code such as NL\n"
                      "@:3:67: channels.sms.url: \"ftp://x\" must start with https:// "
                      "(or http:// for a local service)\n"
                      "@:2:22: paylink.secret_file: required when paylink.provider is static");
}
END_TEST

START_TEST(test_ui_needs_token)
{
        /* the dashboard is never served without a token */
        expect_errors(MINIMAL "ui: { enabled: true }\n",
                      "@:2:16: ui.token_file: required when ui.enabled is true");
        /* nor with one that can be guessed: 16 characters at least */
        char *short_token = write_file("token", "s3cret-15-chars\n");
        char *long_token = write_file("token2", "s3cret-16-chars!\n");
        struct buf yaml = BUF_INIT;
        buf_printf(&yaml, MINIMAL "ui: { enabled: true, token_file: \"%s\" }\n", short_token);
        expect_errors(yaml.data, "@:2:34: ui.token_file: the token is 15 characters; at least "
                                 "16 are needed");
        buf_free(&yaml);
        buf_printf(&yaml, MINIMAL "ui: { enabled: true, token_file: \"%s\" }\n", long_token);
        struct config *cfg = load_ok(yaml.data);
        ck_assert_uint_eq(strlen(cfg->ui.token), 16);
        config_free(cfg);
        buf_free(&yaml);
        free(short_token);
        free(long_token);
}
END_TEST

START_TEST(test_timezone_known)
{
        expect_errors(MINIMAL "default_timezone: Europe/Amsterdm\n",
                      "@:2:19: default_timezone: \"Europe/Amsterdm\" is not a known IANA time "
                      "zone (e.g. Europe/Amsterdam)");
        struct config *cfg = load_ok(MINIMAL "default_timezone: America/New_York\n");
        ck_assert_str_eq(cfg->default_timezone, "America/New_York");
        config_free(cfg);
}
END_TEST

START_TEST(test_string_checks)
{
        expect_errors(MINIMAL "redis: { url: \"http://x\", prefix: \"a b\" }\n"
                              "listen: \"[::1]9000\"\n",
                      "@:2:15: redis.url: \"http://x\" must start with unix:// or redis://\n"
                      "@:2:35: redis.prefix: \"a b\" may only contain A-Z a-z 0-9 _ . -\n"
                      "@:3:9: listen: \"[::1]9000\" must be HOST:PORT with PORT 1..65535 "
                      "([ADDR]:PORT for IPv6)");
        expect_errors(MINIMAL "listen: \"0.0.0.0:65536\"\n",
                      "@:2:9: listen: \"0.0.0.0:65536\" must be HOST:PORT with PORT 1..65535 "
                      "([ADDR]:PORT for IPv6)");
        expect_errors(MINIMAL "listen: \":80\"\n",
                      "@:2:9: listen: \":80\" must be HOST:PORT with PORT 1..65535 "
                      "([ADDR]:PORT for IPv6)");

        struct config *cfg = load_ok(MINIMAL "listen: \"0.0.0.0:65535\"\n"
                                             "redis: { url: \"unix:///tmp/r.sock\" }\n");
        ck_assert_str_eq(cfg->listen, "0.0.0.0:65535");
        config_free(cfg);
}
END_TEST

START_TEST(test_flows_parsed)
{
        struct config *cfg = load_ok(MINIMAL
                "flows:\n"
                "  default:\n"
                "    - { step: reminder-1, after_due_days: 3, channels: [email, sms] }\n"
                "    - { step: reminder-2, after_previous_days: 7, channels: [email, sms, letter] }\n"
                "    - { step: final-notice, after_previous_days: 7, channels: [letter, email] }\n"
                "    - { step: handover, after_previous_days: 14 }\n"
                "  structural-late:\n"
                "    - step: reminder-1\n"
                "      channels: [sms]\n"
                "    - step: handover\n");

        ck_assert_uint_eq(cfg->n_flows, 2);
        const struct config_flow *f = &cfg->flows[0];
        ck_assert_str_eq(f->segment, "default");
        ck_assert_uint_eq(f->n_steps, 4);
        ck_assert_str_eq(f->steps[0].step, "reminder-1");
        ck_assert_int_eq(f->steps[0].after_due_days, 3);
        ck_assert_int_eq(f->steps[0].after_previous_days, -1);
        ck_assert_uint_eq(f->steps[0].channel_mask, 1u << 0 | 1u << 1);
        ck_assert_uint_eq(f->steps[1].channel_mask, 7u);
        ck_assert_uint_eq(f->steps[2].channel_mask, 1u << 0 | 1u << 2);
        ck_assert_uint_eq(f->steps[2].n_channels, 2);
        ck_assert_str_eq(f->steps[2].channels[0], "letter");
        ck_assert_int_eq(f->steps[3].after_due_days, -1);
        ck_assert_int_eq(f->steps[3].after_previous_days, 14);
        ck_assert(f->steps[3].handover);
        ck_assert(!f->steps[2].handover);
        ck_assert_uint_eq(f->steps[3].channel_mask, 0);
        f = &cfg->flows[1];
        ck_assert_str_eq(f->segment, "structural-late");
        ck_assert_uint_eq(f->n_steps, 2);
        ck_assert_uint_eq(f->steps[0].channel_mask, 1u << 1);
        ck_assert_int_eq(f->steps[1].after_previous_days, -1);
        ck_assert(f->steps[1].handover);
        config_free(cfg);

        /* no flows: none */
        cfg = load_ok(MINIMAL);
        ck_assert_uint_eq(cfg->n_flows, 0);
        ck_assert_ptr_null(cfg->flows);
        ck_assert(!cfg->timing.enabled);
        config_free(cfg);
}
END_TEST

START_TEST(test_flows_field_errors)
{
        expect_errors(MINIMAL "flows:\n"
                              "  default:\n"
                              "    - step: reminder-1\n"
                              "      channels: [sms, fax]\n"
                              "      after_due_days: -1\n"
                              "      bogus: 1\n"
                              "    - { after_previous_days: x }\n"
                              "    - nope\n",
                      "@:9:7: flows.default: \"nope\" is not a mapping (expected a list of "
                      "mappings)\n"
                      "@:5:23: flows.default[0].channels: item 2 \"fax\" is not a channel "
                      "(email, sms, letter)\n"
                      "@:6:23: flows.default[0].after_due_days: -1 is out of range (0..3650)\n"
                      "@:7:7: flows.default[0].bogus: unknown key\n"
                      "@:8:30: flows.default[1].after_previous_days: \"x\" is not an integer\n"
                      "@:8:7: flows.default[1].step: required key missing");
}
END_TEST

/* A list among the steps was dropped without a word, and the rule
 * checks then looked for its neighbours under the wrong names (a crash,
 * also on SIGHUP). */
START_TEST(test_flows_nested_list)
{
        expect_errors(MINIMAL "flows:\n"
                              "  default:\n"
                              "    - [x]\n"
                              "    - step: reminder-1\n"
                              "      after_due_days: 3\n"
                              "      after_previous_days: 3\n",
                      "@:4:5: flows.default: a list inside the list (expected a list of "
                      "mappings)");
}
END_TEST

START_TEST(test_flows_rule_errors)
{
        expect_errors(MINIMAL "flows:\n"
                              "  default:\n"
                              "    - { step: reminder-1, after_due_days: 3, after_previous_days: 2 }\n"
                              "    - { step: handover }\n"
                              "    - { step: reminder-1, channels: [email] }\n"
                              "  late: []\n"
                              "  \"bad name\": [ { step: x } ]\n"
                              "  other: { step: x }\n"
                              "  x2:\n"
                              "    - { step: \"a b\" }\n"
                              "  x3:\n"
                              "    - { step: handover, channels: [letter] }\n"
                              "  x4: 5\n",
                      "@:4:7: flows.default[0]: after_due_days and after_previous_days are "
                      "exclusive\n"
                      "@:5:7: flows.default[1]: the handover step must be the last\n"
                      "@:6:7: flows.default[2]: step \"reminder-1\" is already flows.default[0]\n"
                      "@:7:9: flows.late: must not be empty\n"
                      "@:8:3: flows.bad name: a segment name must be 1-64 characters from A-Z "
                      "a-z 0-9 . _ -\n"
                      "@:9:10: flows.other: expected a list of mappings, got a mapping\n"
                      "@:11:15: flows.x2[0].step: \"a b\" must be 1-64 characters from A-Z a-z "
                      "0-9 . _ -\n"
                      "@:13:7: flows.x3[0]: the handover step sends no message: no channels\n"
                      "@:14:7: flows.x4: expected a list of mappings, got a scalar");
        expect_errors(MINIMAL "flows: [a]\n",
                      "@:2:8: flows: expected a mapping of segments to lists of steps, got a "
                      "list");
}
END_TEST

START_TEST(test_timing_keys)
{
        struct config *cfg = load_ok(MINIMAL "timing:\n"
                                             "  enabled: true\n"
                                             "  send_window: \"09:00-18:30\"\n"
                                             "  min_payments: 5\n"
                                             "  weekends: false\n"
                                             "  holidays: [2026-12-25, 2026-12-26]\n");
        ck_assert(cfg->timing.enabled);
        ck_assert_str_eq(cfg->timing.send_window, "09:00-18:30");
        ck_assert_int_eq(cfg->timing.min_payments, 5);
        ck_assert(!cfg->timing.weekends);
        ck_assert_uint_eq(cfg->timing.n_holidays, 2);
        ck_assert_str_eq(cfg->timing.holidays[1], "2026-12-26");
        config_free(cfg);

        cfg = load_ok(MINIMAL);
        ck_assert_str_eq(cfg->timing.send_window, "08:00-20:00");
        ck_assert_int_eq(cfg->timing.min_payments, 3);
        ck_assert(cfg->timing.weekends);
        ck_assert_uint_eq(cfg->timing.n_holidays, 0);
        config_free(cfg);

        expect_errors(MINIMAL "timing:\n"
                              "  send_window: 8-20\n"
                              "  min_payments: 0\n"
                              "  holidays: [2026-12-25, 2026-13-01]\n",
                      "@:3:16: timing.send_window: \"8-20\" must be HH:MM-HH:MM (e.g. "
                      "21:00-08:00) or none\n"
                      "@:4:17: timing.min_payments: 0 is out of range (1..1000)\n"
                      "@:5:26: timing.holidays: item 2 \"2026-13-01\" is not a date (YYYY-MM-DD)");
}
END_TEST

START_TEST(test_line_break_in_value)
{
        /* Found by tests/fuzz/fuzz-config.c: a value with a line break,
         * quoted in its message, split the one-problem-per-line list. */
        expect_errors(MINIMAL "redis: { url: \"a\\nb\" }\n"
                              "listen: x\n\n  y\n",
                      "@:2:15: redis.url: \"a\\nb\" must start with unix:// or redis://\n"
                      "@:3:9: listen: \"x\\ny\" must be HOST:PORT with PORT 1..65535 "
                      "([ADDR]:PORT for IPv6)");
}
END_TEST

START_TEST(test_free_null)
{
        config_free(NULL);
}
END_TEST

static Suite *config_suite(void)
{
        Suite *s = suite_create("config");
        TCase *tc = tcase_create("load");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_unknown_key_top_level);
        tcase_add_test(tc, test_unknown_key_nested);
        tcase_add_test(tc, test_wrong_type);
        tcase_add_test(tc, test_bad_creditor_iban);
        tcase_add_test(tc, test_wrong_type_nested_list);
        tcase_add_test(tc, test_not_an_integer);
        tcase_add_test(tc, test_out_of_range);
        tcase_add_test(tc, test_bounds_accepted);
        tcase_add_test(tc, test_bad_enum);
        tcase_add_test(tc, test_missing_required_in_parent);
        tcase_add_test(tc, test_missing_required_no_parent);
        tcase_add_test(tc, test_empty_file);
        tcase_add_test(tc, test_required_empty);
        tcase_add_test(tc, test_secret_unreadable);
        tcase_add_test(tc, test_ui_needs_token);
        tcase_add_test(tc, test_secret_empty);
        tcase_add_test(tc, test_secret_too_large);
        tcase_add_test(tc, test_secret_read_and_stripped);
        tcase_add_test(tc, test_secret_not_in_messages);
        tcase_add_test(tc, test_yaml_syntax_error);
        tcase_add_test(tc, test_yaml_structure);
        tcase_add_test(tc, test_duplicate_key);
        tcase_add_test(tc, test_flow_mapping);
        tcase_add_test(tc, test_full_config);
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_example_config);
        tcase_add_test(tc, test_multiple_errors);
        tcase_add_test(tc, test_limits);
        tcase_add_test(tc, test_many_errors_truncated);
        tcase_add_test(tc, test_file_unreadable);
        tcase_add_test(tc, test_retry_max_below_base);
        tcase_add_test(tc, test_string_checks);
        tcase_add_test(tc, test_provider_needs);
        tcase_add_test(tc, test_timezone_known);
        tcase_add_test(tc, test_flows_parsed);
        tcase_add_test(tc, test_flows_field_errors);
        tcase_add_test(tc, test_flows_rule_errors);
        tcase_add_test(tc, test_flows_nested_list);
        tcase_add_test(tc, test_timing_keys);
        tcase_add_test(tc, test_line_break_in_value);
        tcase_add_test(tc, test_free_null);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(config_suite());
}
