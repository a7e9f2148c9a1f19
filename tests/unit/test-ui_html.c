/* test-ui.c: the pure parts of the dashboard: escaping, the language a
 * request gets, money, the SVG chart, the session cookie. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "ui.h"
#include "ui_html.h"
#include "ui_pages.h"
#include "unit.h"

START_TEST(test_escape)
{
        struct buf b = BUF_INIT;
        ui_html_escape(&b, "<img src=x onerror=alert(1)> & \"q\" 'a'");
        ck_assert_str_eq(buf_str(&b),
                         "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;q&quot; &#39;a&#39;");
        buf_reset(&b);
        ui_html_escape(&b, NULL);
        ck_assert_uint_eq(b.len, 0);
        ui_url_encode(&b, "C 1/<x>?&é");
        ck_assert_str_eq(buf_str(&b), "C%201%2F%3Cx%3E%3F%26%C3%A9");
        buf_free(&b);
}
END_TEST

START_TEST(test_lang)
{
        ck_assert_int_eq(ui_lang_pick(NULL, NULL), UI_LANG_EN);
        ck_assert_int_eq(ui_lang_pick(NULL, "nl-NL,nl;q=0.9,en;q=0.8"), UI_LANG_NL);
        ck_assert_int_eq(ui_lang_pick(NULL, "en-GB,en;q=0.9,nl;q=0.8"), UI_LANG_EN);
        ck_assert_int_eq(ui_lang_pick(NULL, "de-DE, en;q=0.5, nl;q=0.7"), UI_LANG_NL);
        ck_assert_int_eq(ui_lang_pick(NULL, "de, fr"), UI_LANG_EN);
        ck_assert_int_eq(ui_lang_pick(NULL, "nld"), UI_LANG_EN);   /* not "nl" */
        /* the switch wins over the header; junk in it does not */
        ck_assert_int_eq(ui_lang_pick("en", "nl"), UI_LANG_EN);
        ck_assert_int_eq(ui_lang_pick("xx", "nl"), UI_LANG_NL);
        ck_assert_str_eq(ui_text(UI_LANG_NL, "timeline"), "Tijdlijn");
        ck_assert_str_eq(ui_text(UI_LANG_EN, "timeline"), "Timeline");
        ck_assert_str_eq(ui_text(UI_LANG_NL, "no-such-key"), "no-such-key");
}
END_TEST

START_TEST(test_money)
{
        struct buf b = BUF_INIT;
        ui_money(&b, UI_LANG_NL, 123456789);
        ck_assert_str_eq(buf_str(&b), "1.234.567,89");
        buf_reset(&b);
        ui_money(&b, UI_LANG_EN, 123456789);
        ck_assert_str_eq(buf_str(&b), "1,234,567.89");
        buf_reset(&b);
        ui_money(&b, UI_LANG_EN, -5);
        ck_assert_str_eq(buf_str(&b), "-0.05");
        buf_reset(&b);
        ui_money(&b, UI_LANG_NL, 100000);
        ck_assert_str_eq(buf_str(&b), "1.000,00");
        buf_free(&b);
}
END_TEST

START_TEST(test_count)
{
        static const struct {
                long long n;
                const char *nl, *en;
        } cases[] = {
                { 0, "0", "0" },
                { 999, "999", "999" },
                { 5000, "5.000", "5,000" },
                { 1234567, "1.234.567", "1,234,567" },
                { -1234, "-1.234", "-1,234" },
        };
        struct buf b = BUF_INIT;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                buf_reset(&b);
                ui_count(&b, UI_LANG_NL, cases[i].n);
                ck_assert_str_eq(buf_str(&b), cases[i].nl);
                buf_reset(&b);
                ui_count(&b, UI_LANG_EN, cases[i].n);
                ck_assert_str_eq(buf_str(&b), cases[i].en);
        }
        buf_free(&b);
}
END_TEST

/* The lines that say a list was cut: the language's sentence, the
 * language's numbers, and nothing in them left unescaped. */
START_TEST(test_text_counts)
{
        static const char *const keys[] = { "dead_cut", "campaigns_cut", "campaigns_dead_cut",
                                            "timeline_cut" };
        struct buf b = BUF_INIT;
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                /* both languages have it, and they differ */
                ck_assert_str_ne(ui_text(UI_LANG_NL, keys[i]), keys[i]);
                ck_assert_str_ne(ui_text(UI_LANG_EN, keys[i]), keys[i]);
                ck_assert_str_ne(ui_text(UI_LANG_NL, keys[i]), ui_text(UI_LANG_EN, keys[i]));
                buf_reset(&b);
                ui_text_counts(&b, UI_LANG_EN, keys[i], 1, 2);
                ck_assert_msg(!strchr(buf_str(&b), '{'), "%s: a placeholder is left: %s",
                              keys[i], buf_str(&b));
        }
        buf_reset(&b);
        ui_text_counts(&b, UI_LANG_NL, "dead_cut", 200, 5000);
        ck_assert_str_eq(buf_str(&b), "200 van 5.000 onbestelbare opdrachten getoond: de oudste.");
        buf_reset(&b);
        ui_text_counts(&b, UI_LANG_EN, "dead_cut", 200, 5000);
        ck_assert_str_eq(buf_str(&b), "Showing 200 of 5,000 dead letters: the oldest.");
        buf_reset(&b);
        ui_text_counts(&b, UI_LANG_EN, "campaigns_cut", 20, 35);
        ck_assert_str_eq(buf_str(&b), "Showing 20 of 35 campaigns of the last 30 days.");
        buf_reset(&b);
        ui_text_counts(&b, UI_LANG_NL, "timeline_cut", 5000, 0);
        ck_assert(strncmp(buf_str(&b), "Alleen de nieuwste 5.000 gebeurtenissen", 39) == 0);
        /* a missing text shows its key, escaped, numbers still put in;
         * anything but {1} and {2} is text */
        buf_reset(&b);
        ui_text_counts(&b, UI_LANG_EN, "<b>{2}&{1}{3}{", 1000, 7);
        ck_assert_str_eq(buf_str(&b), "&lt;b&gt;7&amp;1,000{3}{");
        buf_free(&b);
}
END_TEST

static bool has(const struct buf *b, const char *needle)
{
        return strstr(buf_str(b), needle) != NULL;
}

/* A page shows the cut line when the API's object says the list was cut,
 * and none when it was not. */
START_TEST(test_pages_say_when_cut)
{
        struct ui_page en = { .lang = UI_LANG_EN, .csrf = "", .self = "/ui/" };
        struct ui_page nl = { .lang = UI_LANG_NL, .csrf = "", .self = "/ui/" };
        struct buf b = BUF_INIT;

        json_t *dead = json_pack("{s[{ssss}]sIsbsIsI}", "entries", "id", "1-0", "reason",
                                 "invalid", "count", (json_int_t)1, "truncated", 1, "total",
                                 (json_int_t)5000, "shown", (json_int_t)200);
        ck_assert_ptr_nonnull(dead);
        ui_page_dead(&b, &nl, dead, NULL);
        ck_assert_msg(has(&b, "<p class=\"cut\" id=\"dead-cut\">200 van 5.000 "), "%s",
                      buf_str(&b));
        buf_reset(&b);
        ui_page_dead(&b, &en, dead, NULL);
        ck_assert(has(&b, "id=\"dead-cut\">Showing 200 of 5,000 dead letters"));
        buf_reset(&b);
        json_object_set_new(dead, "truncated", json_false());
        json_object_set_new(dead, "total", json_integer(200));
        ui_page_dead(&b, &en, dead, NULL);
        ck_assert_msg(!has(&b, "class=\"cut\""), "a whole list says it was cut: %s",
                      buf_str(&b));
        buf_reset(&b);
        json_t *none = json_pack("{s[]sIsbsIsI}", "entries", "count", (json_int_t)0,
                                 "truncated", 0, "total", (json_int_t)0, "shown",
                                 (json_int_t)0);
        ui_page_dead(&b, &en, none, NULL);
        ck_assert(!has(&b, "class=\"cut\"") && has(&b, "No dead letters."));
        buf_reset(&b);

        json_t *camps = json_pack("{s[]sbsIsIsI}", "campaigns", "dead_truncated", 1, "total",
                                  (json_int_t)35, "shown", (json_int_t)20, "dead_scanned",
                                  (json_int_t)10000);
        ck_assert_ptr_nonnull(camps);
        ui_page_campaigns(&b, &en, camps);
        ck_assert_msg(has(&b, "id=\"campaigns-cut\">Showing 20 of 35 campaigns") &&
                              has(&b, "id=\"campaigns-dead-cut\">Dead letters per campaign: "
                                      "only the oldest 10,000 were counted."),
                      "%s", buf_str(&b));
        buf_reset(&b);
        ui_page_campaigns(&b, &nl, camps);
        ck_assert(has(&b, ">20 van 35 campagnes") && has(&b, "alleen de oudste 10.000 zijn"));
        buf_reset(&b);
        json_object_set_new(camps, "total", json_integer(20));
        json_object_set_new(camps, "dead_truncated", json_false());
        ui_page_campaigns(&b, &en, camps);
        ck_assert(!has(&b, "class=\"cut\""));
        buf_reset(&b);

        json_t *cust = json_pack("{sss[]s[]sbsI}", "customer", "C-1", "invoices", "timeline",
                                 "timeline_complete", 0, "timeline_searched",
                                 (json_int_t)5000);
        ck_assert_ptr_nonnull(cust);
        ui_page_customer(&b, &en, cust);
        ck_assert_msg(has(&b, "<p class=\"cut\" id=\"timeline-cut\">Only the newest 5,000 "
                              "events of all customers were searched"),
                      "%s", buf_str(&b));
        buf_reset(&b);
        ui_page_customer(&b, &nl, cust);
        ck_assert(has(&b, "id=\"timeline-cut\">Alleen de nieuwste 5.000 gebeurtenissen"));
        buf_reset(&b);
        json_object_set_new(cust, "timeline_complete", json_true());
        ui_page_customer(&b, &en, cust);
        ck_assert(!has(&b, "class=\"cut\""));
        buf_free(&b);
        json_decref(dead);
        json_decref(none);
        json_decref(camps);
        json_decref(cust);
}
END_TEST

static size_t count(const char *s, const char *needle)
{
        size_t n = 0;
        for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
                n++;
        return n;
}

START_TEST(test_svg)
{
        struct stats_day d[3] = { 0 };
        struct buf b = BUF_INIT;
        for (int i = 0; i < 3; i++)
                d[i].day_ms = (int64_t)(20000 + i) * 86400000LL;
        d[0].sent[JOB_CHANNEL_EMAIL] = 4;
        d[0].sent[JOB_CHANNEL_SMS] = 2;
        d[2].sent[JOB_CHANNEL_LETTER] = 8;
        d[2].paid[JOB_CHANNEL_LETTER] = 3;
        ui_svg_daily(&b, UI_LANG_NL, d, 3);
        const char *s = buf_str(&b);
        ck_assert(strncmp(s, "<svg ", 5) == 0);
        ck_assert(strstr(s, "</svg>") && strstr(s, "Betalingen"));
        /* one bar segment per channel and day that sent something */
        ck_assert_uint_eq(count(s, "class=\"bar\""), 3);
        ck_assert(strstr(s, "data-day=\"2024-10-04\" data-channel=\"email\" data-sent=\"4\""));
        ck_assert(strstr(s, "data-channel=\"letter\" data-sent=\"8\""));
        /* the tallest bar reaches the top of the axis (8 of 8) */
        ck_assert(strstr(s, ">8</text>"));
        ck_assert(strstr(s, "height=\"196.0\" fill=\"#d69e2e\""));
        ck_assert_uint_eq(count(s, "<polyline"), 1);
        buf_reset(&b);
        ui_svg_daily(&b, UI_LANG_EN, d, 0);   /* no days: an empty chart, no crash */
        ck_assert_uint_eq(count(buf_str(&b), "class=\"bar\""), 0);
        buf_free(&b);
}
END_TEST

START_TEST(test_session)
{
        char v[96];
        ui_session_make("tok", 2000, v);
        ck_assert(ui_session_valid("tok", v, 1000));
        ck_assert(!ui_session_valid("tok", v, 2000));           /* expired */
        ck_assert(!ui_session_valid("other", v, 1000));         /* another token */
        v[strlen(v) - 1] ^= 1;
        ck_assert(!ui_session_valid("tok", v, 1000));           /* tampered */
        ui_session_make("tok", 999999, v);
        ck_assert(!ui_session_valid("tok", v, 1000));           /* too far ahead */
        ck_assert(!ui_session_valid("tok", "", 1000));
        ck_assert(!ui_session_valid("tok", "2000.", 1000));
        ck_assert(!ui_session_valid("tok", NULL, 1000));
}
END_TEST

#define EVIL "<x onmouseover=\"alert(1)\">'&"
#define EVIL_ESCAPED "&lt;x onmouseover=&quot;alert(1)&quot;&gt;&#39;&amp;"

/* Every string a page shows comes from Redis or a job: put markup in all
 * of them and no page may let it through. */
static void assert_escaped(const struct buf *b, const char *page)
{
        const char *s = buf_str(b);
        ck_assert_msg(!strstr(s, "<x "), "%s lets markup through: %s", page, s);
        ck_assert_msg(!strstr(s, "onmouseover=\"alert"), "%s lets an attribute out", page);
        ck_assert_msg(strstr(s, EVIL_ESCAPED), "%s does not show the text", page);
        ck_assert_msg(!strstr(s, "<script>"), "%s has inline script", page);
}

START_TEST(test_pages_escape_everything)
{
        struct ui_page p = { .lang = UI_LANG_EN, .csrf = EVIL, .self = "/ui/" };
        struct buf b = BUF_INIT;
        json_t *row = json_pack("{sssssIsIsIsisI}", "channel", EVIL, "step", EVIL, "sent",
                                (json_int_t)3, "paid_direct", (json_int_t)1, "paid_assisted",
                                (json_int_t)0, "conversion", 0, "collected_cents",
                                (json_int_t)100);
        json_t *stats = json_pack("{s[o]}", "rows", row);
        json_t *queue = json_pack("{sIsIsIsf}", "depth", (json_int_t)1, "scheduled",
                                  (json_int_t)2, "dead", (json_int_t)3, "throughput_per_min", 1.5);
        ui_page_overview(&b, &p, stats, queue, NULL, 0);
        assert_escaped(&b, "overview");
        buf_reset(&b);

        json_t *camps = json_pack("{s[{sssOs{s{s{sIsI}}sI}}]}", "campaigns", "campaign", EVIL,
                                  "stats", stats, "progress", "steps", EVIL, "sent",
                                  (json_int_t)1, "held_out", (json_int_t)0, "dead",
                                  (json_int_t)0);
        ck_assert_ptr_nonnull(camps);
        ui_page_campaigns(&b, &p, camps);
        assert_escaped(&b, "campaigns");
        buf_reset(&b);

        json_t *cust = json_pack(
                "{sssssbs{sIsI}s{sss[s]ss}s{s{sIsIsI}}s[{sssIsIssss}]s[{sssIssssssssssssss}]}",
                "customer", EVIL, "segment", EVIL, "segment_derived", 1, "payments", "on_time",
                (json_int_t)1, "late", (json_int_t)0, "policy", "step", EVIL, "order", EVIL,
                "reason", EVIL, "channels", EVIL, "sent", (json_int_t)1, "paid_direct",
                (json_int_t)0, "paid_assisted", (json_int_t)0, "invoices", "number", EVIL,
                "amount_cents", (json_int_t)1, "paid_cents", (json_int_t)0, "status", EVIL,
                "currency", EVIL, "timeline", "id", EVIL, "time_ms", (json_int_t)0, "type", EVIL,
                "channel", EVIL, "step", EVIL, "campaign", EVIL, "reason", EVIL, "invoice", EVIL,
                "amount_cents", "12");
        ck_assert_ptr_nonnull(cust);
        ui_page_customer(&b, &p, cust);
        assert_escaped(&b, "customer");
        buf_reset(&b);

        json_t *dead = json_pack("{s[{sssssssssssssssIsb}]}", "entries", "id", EVIL, "time",
                                 EVIL, "customer", EVIL, "name", EVIL, "email", EVIL, "phone",
                                 EVIL, "reason", EVIL, "error", EVIL, "attempts", (json_int_t)1,
                                 "revealed", 0);
        ck_assert_ptr_nonnull(dead);
        ui_page_dead(&b, &p, dead, EVIL);
        assert_escaped(&b, "dead letters");
        /* ids in URLs are percent-encoded, not only escaped */
        ck_assert(strstr(buf_str(&b), "/ui/dead/%3Cx%20onmouseover%3D%22alert%281%29%22%3E%27%26/retry"));
        buf_reset(&b);

        ui_page_not_found(&b, &p, EVIL);
        assert_escaped(&b, "not found");
        buf_reset(&b);
        ui_page_login(&b, &p, true);
        ck_assert(strstr(buf_str(&b), "name=\"token\"") && !strstr(buf_str(&b), "<x "));
        buf_free(&b);
        json_decref(stats);
        json_decref(queue);
        json_decref(camps);
        json_decref(cust);
        json_decref(dead);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("ui");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_escape);
        tcase_add_test(tc, test_lang);
        tcase_add_test(tc, test_money);
        tcase_add_test(tc, test_count);
        tcase_add_test(tc, test_text_counts);
        tcase_add_test(tc, test_pages_say_when_cut);
        tcase_add_test(tc, test_svg);
        tcase_add_test(tc, test_session);
        tcase_add_test(tc, test_pages_escape_everything);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(suite());
}
