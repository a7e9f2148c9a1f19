/* test-phone.c: E.164 normalisation. The NL vectors are read from the
 * table in $DUNNINGD_CONFORMANCE/phone-e164.md (libphonenumber NL
 * metadata), not copied here; the other countries' cases are ours. */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phone.h"
#include "unit.h"

/* Whether s holds a run of six or more digits (a number echoed back). */
static bool has_digit_run(const char *s)
{
        int run = 0;
        for (; *s; s++) {
                run = isdigit((unsigned char)*s) ? run + 1 : 0;
                if (run >= 6)
                        return true;
        }
        return false;
}

static void expect_ok(const char *in, const char *country, const char *want,
                      enum phone_kind want_kind)
{
        char out[PHONE_E164_SIZE];
        enum phone_kind k = (enum phone_kind)-1;
        struct error err = { "" };
        int rc = phone_normalize(in, country, out, &k, &err);
        ck_assert_msg(rc == 0, "\"%s\" (%s): rc %d: %s", in, country ? country : "-", rc, err.msg);
        ck_assert_msg(strcmp(out, want) == 0, "\"%s\" (%s): got %s, want %s", in,
                      country ? country : "-", out, want);
        ck_assert_msg(k == want_kind, "\"%s\": kind %s, want %s", in, phone_kind_name(k),
                      phone_kind_name(want_kind));
}

static void expect_err(const char *in, const char *country, const char *want_msg)
{
        char out[PHONE_E164_SIZE] = "x";
        struct error err = { "" };
        int rc = phone_normalize(in, country, out, NULL, &err);
        ck_assert_msg(rc == -EINVAL, "\"%s\" (%s): rc %d, out %s, want -EINVAL", in,
                      country ? country : "-", rc, out);
        ck_assert_str_eq(out, "");
        ck_assert_msg(!has_digit_run(err.msg), "\"%s\": the error echoes the number: %s", in,
                      err.msg);
        if (want_msg)
                ck_assert_msg(strcmp(err.msg, want_msg) == 0, "\"%s\": error \"%s\", want \"%s\"",
                              in, err.msg, want_msg);
}

/* ---- the conformance table ----------------------------------------------- */

/* The text between the first pair of backticks in cell, into out; false
 * when there is none. */
static bool backticked(const char *cell, char *out, size_t size)
{
        const char *a = strchr(cell, '`'), *b = a ? strchr(a + 1, '`') : NULL;
        if (!b || (size_t)(b - a - 1) >= size)
                return false;
        memcpy(out, a + 1, (size_t)(b - a - 1));
        out[b - a - 1] = '\0';
        return true;
}

static char *trim(char *s)
{
        while (isspace((unsigned char)*s))
                s++;
        char *e = s + strlen(s);
        while (e > s && isspace((unsigned char)e[-1]))
                *--e = '\0';
        return s;
}

START_TEST(test_conformance_vectors)
{
        const char *dir = getenv("DUNNINGD_CONFORMANCE");
        char path[1024], line[1024];
        FILE *f = NULL;

        if (dir) {
                snprintf(path, sizeof(path), "%s/phone-e164.md", dir);
                f = fopen(path, "r");
        }
        if (!f) {
                fprintf(stderr,
                        "test-phone: SKIPPED the NL conformance vectors: %s/phone-e164.md not "
                        "found (set DUNNINGD_CONFORMANCE to ../shared/conformance)\n",
                        dir ? dir : "$DUNNINGD_CONFORMANCE");
                return;
        }
        bool in_vectors = false;
        int n = 0, valid = 0, invalid = 0;
        while (fgets(line, sizeof(line), f)) {
                if (strncmp(line, "## ", 3) == 0) {
                        in_vectors = strstr(line, "Vectors") != NULL;
                        continue;
                }
                if (!in_vectors || strncmp(line, "| `", 3) != 0)
                        continue;
                /* | `input` | `E.164` or — | type per metadata | yes/no | */
                char *cells[6] = { 0 };
                int nc = 0;
                for (char *p = line + 1, *tok; nc < 6 && (tok = strsep(&p, "|"));)
                        cells[nc++] = tok;
                ck_assert_msg(nc >= 4, "phone-e164.md: row with %d cells: %s", nc, line);
                char in[128], want[32];
                ck_assert_msg(backticked(cells[0], in, sizeof(in)), "no input in %s", line);
                const char *type = trim(cells[2]), *sms = trim(cells[3]);
                bool want_sms = strncmp(sms, "yes", 3) == 0;
                n++;
                if (strstr(type, "invalid")) {
                        expect_err(in, "NL", NULL);
                        ck_assert_msg(!want_sms, "%s: invalid yet SMS-capable?", in);
                        invalid++;
                        continue;
                }
                ck_assert_msg(backticked(cells[1], want, sizeof(want)), "no E.164 in %s", line);
                enum phone_kind k;
                if (strncmp(type, "mobile", 6) == 0)
                        k = PHONE_MOBILE;
                else if (strncmp(type, "fixed", 5) == 0)
                        k = PHONE_FIXED;
                else if (strstr(type, "toll") || strstr(type, "pager") ||
                         strstr(type, "premium") || strstr(type, "VoIP"))
                        k = PHONE_OTHER;
                else
                        ck_abort_msg("phone-e164.md: unknown type \"%s\"", type);
                expect_ok(in, "NL", want, k);
                ck_assert_msg(phone_sms_capable(k) == want_sms, "%s: SMS-capable %d, want %d", in,
                              phone_sms_capable(k), want_sms);
                valid++;
        }
        fclose(f);
        fprintf(stderr, "test-phone: %d NL vectors from %s (%d valid, %d invalid)\n", n, path,
                valid, invalid);
        ck_assert_msg(valid >= 5 && invalid >= 3, "the vector table was not found in %s", path);
}
END_TEST

/* ---- NL beyond the table ----------------------------------------------- */

START_TEST(test_nl_forms)
{
        expect_ok("+31 (0)6 1234 5678", "NL", "+31612345678", PHONE_MOBILE);
        expect_ok("0031 (0)6-12345678", "NL", "+31612345678", PHONE_MOBILE);
        expect_ok("+31 06 12345678", "NL", "+31612345678", PHONE_MOBILE);  /* trunk after +CC */
        expect_ok("(06) 12 34 56 78", "NL", "+31612345678", PHONE_MOBILE);
        expect_ok("06.12.34.56.78", "NL", "+31612345678", PHONE_MOBILE);
        expect_ok("06\xc2\xa0" "12345678", "NL", "+31612345678", PHONE_MOBILE);  /* NBSP */
        expect_ok("  +31612345678  ", NULL, "+31612345678", PHONE_MOBILE);
        expect_ok("0612345678", "nl", "+31612345678", PHONE_MOBILE);
        expect_ok("020 123 4567", "NL", "+31201234567", PHONE_FIXED);
        expect_ok("0900 1234", "NL", "+319001234", PHONE_OTHER);     /* premium */
        expect_ok("085 123 4567", "NL", "+31851234567", PHONE_OTHER);  /* VoIP */
        expect_ok("14020", "NL", "+3114020", PHONE_OTHER);             /* UAN */
        /* NL metadata is used for +31 whatever the default country. */
        expect_ok("+31 10 123 4567", "DE", "+31101234567", PHONE_FIXED);

        expect_err("06-1234567", "NL", "phone: too short for NL");
        expect_err("+31 6 1234 567", "NL", "phone: too short for NL");
        expect_err("06123456789", "NL", "phone: too long for NL");
        expect_err("0671234567", "NL", "phone: not in any NL number range");
        expect_err("+31 6", "NL", "phone: too short for NL");
        expect_err("+31", "NL", "phone: too short for NL");
}
END_TEST

START_TEST(test_sms_capable)
{
        ck_assert(phone_sms_capable(PHONE_MOBILE));
        ck_assert(phone_sms_capable(PHONE_UNKNOWN));
        ck_assert(!phone_sms_capable(PHONE_FIXED));
        ck_assert(!phone_sms_capable(PHONE_OTHER));
        ck_assert_str_eq(phone_kind_name(PHONE_FIXED), "fixed line");
}
END_TEST

/* ---- other countries ------------------------------------------------------- */

START_TEST(test_other_countries)
{
        /* trunk 0 dropped, nationally and after "(0)" */
        expect_ok("030 1234567", "DE", "+49301234567", PHONE_UNKNOWN);
        expect_ok("+49 (0)30 1234567", "NL", "+49301234567", PHONE_UNKNOWN);
        expect_ok("0049 30 1234567", "NL", "+49301234567", PHONE_UNKNOWN);
        expect_ok("0470 12 34 56", "BE", "+32470123456", PHONE_UNKNOWN);
        expect_ok("+44 (0)20 7946 0958", NULL, "+442079460958", PHONE_UNKNOWN);
        expect_ok("07700 900123", "GB", "+447700900123", PHONE_UNKNOWN);
        expect_ok("06 12 34 56 78", "FR", "+33612345678", PHONE_UNKNOWN);
        expect_ok("079 123 45 67", "CH", "+41791234567", PHONE_UNKNOWN);
        /* no trunk prefix: Italy keeps its leading 0, Spain has none */
        expect_ok("+39 06 1234 5678", "NL", "+390612345678", PHONE_UNKNOWN);
        expect_ok("06 1234 5678", "IT", "+390612345678", PHONE_UNKNOWN);
        expect_ok("612 34 56 78", "ES", "+34612345678", PHONE_UNKNOWN);
        /* Hungary's trunk prefix is 06 */
        expect_ok("06 30 123 4567", "HU", "+36301234567", PHONE_UNKNOWN);
        /* Lithuania: 8 before 2025, 0 since */
        expect_ok("8 612 34567", "LT", "+37061234567", PHONE_UNKNOWN);
        expect_ok("0 612 34567", "LT", "+37061234567", PHONE_UNKNOWN);
        /* NANP: trunk 1, international prefix 011, 10 digits */
        expect_ok("(415) 555-2671", "US", "+14155552671", PHONE_UNKNOWN);
        expect_ok("1 415 555 2671", "US", "+14155552671", PHONE_UNKNOWN);
        expect_ok("+1 (416) 555-0199", "NL", "+14165550199", PHONE_UNKNOWN);
        expect_ok("011 31 6 12345678", "CA", "+31612345678", PHONE_MOBILE);
        /* a calling code outside the table: E.164 shape only */
        expect_ok("+27 82 123 4567", "NL", "+27821234567", PHONE_UNKNOWN);
        expect_ok("+27 (0)82 123 4567", "NL", "+27821234567", PHONE_UNKNOWN);
        expect_ok("+86 139 1234 5678", NULL, "+8613912345678", PHONE_UNKNOWN);
        expect_ok("+861234567890123", NULL, "+861234567890123", PHONE_UNKNOWN);  /* 15 */

        expect_err("415 555 267", "US", "phone: too short for US/CA");
        expect_err("+1 415 555 26712", NULL, "phone: too long for US/CA");
        expect_err("(015) 555-2671", "US", "phone: not a valid US/CA number");
        expect_err("+49 30", NULL, "phone: too short for DE");
        expect_err("+49 30 1234 5678 9012 3", NULL, "phone: too long for DE");
        expect_err("+8612345678901234", NULL, "phone: too long (E.164 allows 15 digits)");
        expect_err("+27 12", NULL, "phone: too short");
        expect_err("+0 6 12345678", NULL, "phone: a country code cannot start with 0");
}
END_TEST

START_TEST(test_bad_input)
{
        expect_err("", "NL", "phone: empty");
        expect_err(NULL, "NL", "phone: empty");
        expect_err("   ", "NL", "phone: no digits");
        expect_err("+", "NL", "phone: no digits");
        expect_err("06-1234x678", "NL", "phone: unexpected character 'x'");
        expect_err("06-12345678 ext 12", "NL", "phone: unexpected character 'e'");
        expect_err("06\xe2\x80\x93" "12345678", "NL", "phone: unexpected byte 0xe2");
        expect_err("+31 +6 12345678", "NL", "phone: '+' is allowed only at the start");
        expect_err("0612345678", NULL, "phone: no country code (+CC) and no default country");
        expect_err("0612345678", "ZZ", "phone: default country ZZ is not known here");
        expect_err("00", "NL", "phone: no digits after the country prefix");
        expect_err("0612345678901234567890123456789", "NL",
                   "phone: too long (E.164 allows 15 digits)");
}
END_TEST

int main(void)
{
        Suite *s = suite_create("phone");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_conformance_vectors);
        tcase_add_test(tc, test_nl_forms);
        tcase_add_test(tc, test_sms_capable);
        tcase_add_test(tc, test_other_countries);
        tcase_add_test(tc, test_bad_input);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
