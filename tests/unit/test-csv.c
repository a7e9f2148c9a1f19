/* test-csv.c: the RFC 4180 reader: quoting, line ends, BOM, line numbers. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "csv.h"
#include "unit.h"

static struct csv parse_ok(const char *data, char sep)
{
        struct error err = { "" };
        struct csv csv;
        int r = csv_parse(&csv, data, strlen(data), sep, &err);

        ck_assert_msg(r == 0, "csv_parse: %s", err.msg);
        return csv;
}

static void expect_fields(const struct csv_record *rec, int line, size_t n, const char *const *f)
{
        ck_assert_int_eq(rec->line, line);
        ck_assert_uint_eq(rec->n_fields, n);
        for (size_t i = 0; i < n; i++)
                ck_assert_str_eq(rec->fields[i], f[i]);
}

#define EXPECT(rec, line, ...) expect_fields(rec, line, sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(char *), (const char *const[]){ __VA_ARGS__ })

static void expect_error(const char *data, const char *msg)
{
        struct error err = { "" };
        struct csv csv = { (struct csv_record *)1, 7, ',' };

        ck_assert_int_eq(csv_parse(&csv, data, strlen(data), 0, &err), -EINVAL);
        ck_assert_ptr_null(csv.records);
        ck_assert_uint_eq(csv.n_records, 0);
        ck_assert_str_eq(err.msg, msg);
}

START_TEST(test_simple)
{
        struct csv csv = parse_ok("a,b,c\n1,2,3\n", 0);

        ck_assert_uint_eq(csv.n_records, 2);
        ck_assert_int_eq(csv.separator, ',');
        EXPECT(&csv.records[0], 1, "a", "b", "c");
        EXPECT(&csv.records[1], 2, "1", "2", "3");
        csv_free(&csv);
}
END_TEST

START_TEST(test_empty_fields_and_no_final_newline)
{
        struct csv csv = parse_ok("a,,c\n,,\nx,y,", 0);

        ck_assert_uint_eq(csv.n_records, 3);
        EXPECT(&csv.records[0], 1, "a", "", "c");
        EXPECT(&csv.records[1], 2, "", "", "");
        EXPECT(&csv.records[2], 3, "x", "y", "");
        csv_free(&csv);
}
END_TEST

START_TEST(test_quoted)
{
        struct csv csv = parse_ok("name,amount\n\"de Vries, Jan\",\"1,50\"\n\"\",x\n", 0);

        ck_assert_uint_eq(csv.n_records, 3);
        EXPECT(&csv.records[1], 2, "de Vries, Jan", "1,50");
        EXPECT(&csv.records[2], 3, "", "x");
        csv_free(&csv);
}
END_TEST

START_TEST(test_doubled_quotes)
{
        struct csv csv = parse_ok("a,b\n\"Bakkerij \"\"De Korenschoof\"\"\",\"\"\"\"\n", 0);

        EXPECT(&csv.records[1], 2, "Bakkerij \"De Korenschoof\"", "\"");
        csv_free(&csv);
}
END_TEST

START_TEST(test_embedded_newline)
{
        struct csv csv = parse_ok("id,address\n"
                                  "1,\"Dorpsstraat 1\n1234 AB Utrecht\"\n"
                                  "2,\"a\r\n\r\nb\"\r\n"
                                  "3,plain\n",
                                  0);

        ck_assert_uint_eq(csv.n_records, 4);
        EXPECT(&csv.records[1], 2, "1", "Dorpsstraat 1\n1234 AB Utrecht");
        EXPECT(&csv.records[2], 4, "2", "a\r\n\r\nb");
        /* the line numbers after multi-line fields are physical lines */
        EXPECT(&csv.records[3], 7, "3", "plain");
        csv_free(&csv);
}
END_TEST

START_TEST(test_bom_crlf)
{
        struct csv csv = parse_ok("\xef\xbb\xbf" "campaign,step\r\nc1,s1\r\nc2,s2\r\n", 0);

        ck_assert_uint_eq(csv.n_records, 3);
        EXPECT(&csv.records[0], 1, "campaign", "step");
        EXPECT(&csv.records[1], 2, "c1", "s1");
        EXPECT(&csv.records[2], 3, "c2", "s2");
        csv_free(&csv);
}
END_TEST

START_TEST(test_lone_cr)
{
        struct csv csv = parse_ok("a,b\rc,d\r", 0);

        ck_assert_uint_eq(csv.n_records, 2);
        EXPECT(&csv.records[1], 2, "c", "d");
        csv_free(&csv);
}
END_TEST

START_TEST(test_utf8)
{
        struct csv csv = parse_ok("customer.name,city\n\"Zo\xc3\xab \xc3\x87""elik\",M\xc3\xbcnchen\n", 0);

        EXPECT(&csv.records[1], 2, "Zo\xc3\xab \xc3\x87""elik", "M\xc3\xbcnchen");
        csv_free(&csv);
}
END_TEST

START_TEST(test_blank_lines_skipped)
{
        struct csv csv = parse_ok("a,b\n\n1,2\r\n\r\n\n3,4\n\n", 0);

        ck_assert_uint_eq(csv.n_records, 3);
        EXPECT(&csv.records[1], 3, "1", "2");
        EXPECT(&csv.records[2], 6, "3", "4");
        csv_free(&csv);
}
END_TEST

START_TEST(test_semicolon)
{
        struct csv csv = parse_ok("campaign;customer.name;amount\nc1;\"Jansen; J.\";12,50\n", 0);

        ck_assert_int_eq(csv.separator, ';');
        EXPECT(&csv.records[1], 2, "c1", "Jansen; J.", "12,50");
        csv_free(&csv);

        /* a ',' in the header keeps ',' */
        csv = parse_ok("a,b;c\n1,2;3\n", 0);
        ck_assert_int_eq(csv.separator, ',');
        EXPECT(&csv.records[1], 2, "1", "2;3");
        csv_free(&csv);

        /* forced */
        csv = parse_ok("a,b;c\n", ';');
        EXPECT(&csv.records[0], 1, "a,b", "c");
        csv_free(&csv);
}
END_TEST

START_TEST(test_empty_input)
{
        struct csv csv = parse_ok("", 0);

        ck_assert_uint_eq(csv.n_records, 0);
        csv_free(&csv);
        csv = parse_ok("\xef\xbb\xbf", 0);
        ck_assert_uint_eq(csv.n_records, 0);
        csv_free(&csv);
        csv_free(NULL);
}
END_TEST

START_TEST(test_errors)
{
        expect_error("a,b\n1,\"open\n2,3\n4,5\n", "2: unterminated quoted field");
        expect_error("a,b\n1,\"x\ny\"\n\"z,5\n", "4: unterminated quoted field");
        expect_error("a,b\n1,2\n3,ab\"c\n", "3: stray quote in unquoted field (quote the whole field and double the quote)");
        expect_error("a,b\n\"x\nx\"y,2\n", "3: unexpected character after closing quote");
}
END_TEST

START_TEST(test_nul_byte)
{
        struct error err = { "" };
        struct csv csv;

        ck_assert_int_eq(csv_parse(&csv, "a,b\n1,\0", 7, 0, &err), -EINVAL);
        ck_assert_str_eq(err.msg, "2: NUL byte");
}
END_TEST

static Suite *csv_suite(void)
{
        Suite *s = suite_create("csv");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_simple);
        tcase_add_test(tc, test_empty_fields_and_no_final_newline);
        tcase_add_test(tc, test_quoted);
        tcase_add_test(tc, test_doubled_quotes);
        tcase_add_test(tc, test_embedded_newline);
        tcase_add_test(tc, test_bom_crlf);
        tcase_add_test(tc, test_lone_cr);
        tcase_add_test(tc, test_utf8);
        tcase_add_test(tc, test_blank_lines_skipped);
        tcase_add_test(tc, test_semicolon);
        tcase_add_test(tc, test_empty_input);
        tcase_add_test(tc, test_errors);
        tcase_add_test(tc, test_nul_byte);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(csv_suite());
}
