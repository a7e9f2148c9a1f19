/* test-learning.c: does dunningd learn which channel makes each customer
 * pay? A simulated population against a real Redis and a real daemon.
 *
 * Every synthetic customer has a hidden chance to pay per channel: high on
 * one channel (never the one they state as preferred), low on the others.
 * Each round gives every customer a new invoice and a reminder; for each
 * reminder sent, this test draws whether the customer pays (seeded, so a
 * run is repeatable) and feeds the payment back through the payments
 * stream, naming the reminder as a pay link does. The share of reminders
 * sent on each customer's best channel must rise round over round, and
 * `dunningctl stats` must report per channel the conversion this test saw,
 * close to what the hidden chances predict. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define CUSTOMERS 300
#define ROUNDS 8
#define P_BEST 0.8
#define P_OTHER 0.05

static const char *const channels[] = { "email", "sms", "letter" };

static int channel_index(const char *name)
{
        for (int c = 0; c < 3; c++)
                if (strcmp(channels[c], name) == 0)
                        return c;
        return -1;
}

/* Customer i states channel i % 3 as preferred and pays best on the
 * next one. */
static int best_of(int i)
{
        return (i + 1) % 3;
}

static double chance(int i, int c)
{
        return c == best_of(i) ? P_BEST : P_OTHER;
}

static uint64_t rng = 0x5eed1234abcdULL;

static double draw(void)
{
        uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        return (double)(z >> 11) / 9007199254740992.0;
}

static void write_round(struct harness *h, int round, const char *due, char *path, size_t n)
{
        snprintf(path, n, "%s/round-%d.jsonl", h->dir, round);
        FILE *f = fopen(path, "w");
        ck_assert(f != NULL);
        for (int i = 1; i <= CUSTOMERS; i++) {
                char email[64], phone[32];
                harness_email_of(i, email, sizeof(email));
                harness_phone_of(i, phone, sizeof(phone));
                fprintf(f,
                        "{\"v\":1,\"campaign\":\"sim-%d\",\"step\":\"reminder-1\","
                        "\"customer\":{\"id\":\"C-%d\",\"name\":\"Klant %d\",\"locale\":\"nl-NL\","
                        "\"email\":\"%s\",\"phone\":\"%s\",\"address\":{\"lines\":[\"Dorpsstraat "
                        "%d\"],\"postal_code\":\"1234 AB\",\"city\":\"Utrecht\",\"country\":\"NL\"},"
                        "\"preferred_channel\":\"%s\"},\"invoices\":[{\"number\":\"INV-%d-%d\","
                        "\"amount_cents\":%d,\"currency\":\"EUR\",\"issued\":\"2026-10-01\","
                        "\"due\":\"%s\"}]}\n",
                        round, i, i, email, phone, i, channels[i % 3], round, i, 5000 + i, due);
        }
        ck_assert(fclose(f) == 0);
}

static bool attributed_reached(void *arg)
{
        void **a = arg;
        return harness_count_events(a[0], "attributed") >= *(size_t *)a[1];
}

START_TEST(test_policy_learns_each_customers_channel)
{
        struct harness *h = harness_new();
        struct harness_config cfg;
        harness_config_defaults(&cfg);
        cfg.workers = 2;
        cfg.log_level = "info";
        /* The defaults a credit team would run, costs aside: the test is
         * about learning which channel pays, not about price. */
        cfg.policy_yaml = "exploration: 0.1, seed: 11, cost_cents: { sms: 0, letter: 0 }";
        /* A pay link in every reminder: the payments below come back
         * through it, naming the reminder. */
        char secret[300], extra[600];
        snprintf(secret, sizeof(secret), "%s/paylink-secret", h->dir);
        FILE *fp = fopen(secret, "w");
        ck_assert(fp && fputs("learning-test-secret\n", fp) >= 0 && fclose(fp) == 0);
        snprintf(extra, sizeof(extra),
                 "history: { segment_refresh_ms: 100 }\n"
                 "paylink: { provider: static, url_template: \"https://pay.example/p/{token}\", "
                 "secret_file: %s }\n", secret);
        cfg.extra_yaml = extra;
        harness_config_write(h, &cfg);
        struct harness_daemon *d = harness_daemon_start(h);

        /* Due in two weeks: every payment is on time. */
        char due[16];
        time_t t = time(NULL) + 14 * 86400;
        struct tm tm;
        strftime(due, sizeof(due), "%Y-%m-%d", gmtime_r(&t, &tm));

        double share[ROUNDS];
        long long sent_on[3] = { 0 }, paid_on[3] = { 0 };
        double expect_on[3] = { 0 };
        size_t payments = 0, sent_total = 0;
        for (int r = 0; r < ROUNDS; r++) {
                char path[512], campaign[32];
                struct harness_ctl ctl;
                write_round(h, r, due, path, sizeof(path));
                harness_ctl_run(h, &ctl, "enqueue", path, NULL);
                ck_assert_msg(ctl.status == 0, "enqueue: %s", ctl.err);
                harness_ctl_free(&ctl);
                sent_total += CUSTOMERS;
                ck_assert_uint_eq(harness_wait_sent(h, sent_total, 30000), sent_total);

                snprintf(campaign, sizeof(campaign), "sim-%d", r);
                struct harness_entry *e;
                size_t n = harness_xrange(h, "dunning:events", &e), on_best = 0, seen = 0;
                for (size_t k = 0; k < n; k++) {
                        if (strcmp(harness_entry_get(&e[k], "type"), "sent") != 0 ||
                            strcmp(harness_entry_get(&e[k], "campaign"), campaign) != 0)
                                continue;
                        int i = atoi(harness_entry_get(&e[k], "customer") + 2);
                        int c = channel_index(harness_entry_get(&e[k], "channel"));
                        ck_assert(i >= 1 && i <= CUSTOMERS && c >= 0);
                        seen++;
                        on_best += c == best_of(i);
                        sent_on[c]++;
                        expect_on[c] += chance(i, c);
                        if (draw() < chance(i, c)) {
                                paid_on[c]++;
                                payments++;
                                harness_redis_cmd(h, "XADD dunning:payments * type payment "
                                                     "source sim provider_id sim-%d-%d reminder %s "
                                                     "amount_cents %d method ideal",
                                                  r, i, harness_entry_get(&e[k], "reminder"),
                                                  5000 + i);
                        }
                }
                harness_entries_free(e, n);
                ck_assert_uint_eq(seen, CUSTOMERS);
                share[r] = (double)on_best / CUSTOMERS;
                fprintf(stderr, "round %d: %.0f%% on the best channel, %zu payments so far\n", r,
                        share[r] * 100, payments);
                /* Every payment applied before the next round is sent. */
                void *arg[2] = { h, &payments };
                ck_assert_msg(harness_wait_until(attributed_reached, arg, 30000),
                              "payments not applied: %zu attributed of %zu",
                              harness_count_events(h, "attributed"), payments);
                harness_sleep_ms(200);   /* past segment_refresh_ms */
        }

        /* It learns: the share on the best channel rises from one pair of
         * rounds to the next (a single round of 300 customers moves by a
         * few points either way: sampling, not forgetting), from a first
         * round that knows only the stated preferences, which are never
         * the best channel here, to about two thirds at the end. */
        double pair[ROUNDS / 2];
        for (int r = 0; r + 1 < ROUNDS; r += 2)
                pair[r / 2] = (share[r] + share[r + 1]) / 2;
        for (int k = 1; k < ROUNDS / 2; k++)
                ck_assert_msg(pair[k] > pair[k - 1], "rounds %d-%d: %.2f after %.2f", 2 * k,
                              2 * k + 1, pair[k], pair[k - 1]);
        ck_assert_msg(share[0] < 0.25, "round 0 already %.2f on the best channel", share[0]);
        ck_assert_msg(pair[ROUNDS / 2 - 1] > 0.45 && pair[ROUNDS / 2 - 1] > pair[0] + 0.3,
                      "the last rounds only %.2f on the best channel (the first %.2f)",
                      pair[ROUNDS / 2 - 1], pair[0]);

        /* stats reports per channel what happened: every payment credited
         * directly, the conversion the test saw, which is what the hidden
         * chances predict within sampling error. */
        struct harness_ctl ctl;
        harness_ctl_run(h, &ctl, "stats", "--json", NULL);
        ck_assert_msg(ctl.status == 0, "stats: %s", ctl.err);
        json_t *root = json_loads(ctl.out, 0, NULL);
        ck_assert_msg(root != NULL, "%s", ctl.out);
        long long stats_sent[3] = { 0 }, stats_direct[3] = { 0 };
        json_t *row;
        size_t k;
        json_array_foreach(json_object_get(root, "rows"), k, row) {
                int c = channel_index(json_string_value(json_object_get(row, "channel")));
                ck_assert(c >= 0);
                stats_sent[c] += json_integer_value(json_object_get(row, "sent"));
                stats_direct[c] += json_integer_value(json_object_get(row, "paid_direct"));
                ck_assert_int_eq(json_integer_value(json_object_get(row, "paid_assisted")), 0);
        }
        for (int c = 0; c < 3; c++) {
                ck_assert_int_eq(stats_sent[c], sent_on[c]);
                ck_assert_int_eq(stats_direct[c], paid_on[c]);
                if (sent_on[c] < 20)
                        continue;
                double seen = (double)paid_on[c] / (double)sent_on[c];
                double want = expect_on[c] / (double)sent_on[c];
                double se = sqrt(want * (1 - want) / (double)sent_on[c]);
                ck_assert_msg(fabs(seen - want) < 4 * se + 0.01,
                              "%s: conversion %.3f, the hidden chances say %.3f", channels[c],
                              seen, want);
        }
        json_decref(root);
        harness_ctl_free(&ctl);
        harness_daemon_stop(d);
        harness_free(h);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("learning");
        TCase *tc = tcase_create("learning");
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_policy_learns_each_customers_channel);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return harness_run(suite());
}
