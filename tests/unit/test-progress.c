/* test-progress.c: dunningctl's progress line: its text, when it is drawn,
 * and how it is rewritten in place. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"
#include "unit.h"

START_TEST(test_format)
{
        char line[128];
        size_t n;

        n = progress_format(line, sizeof(line), "reading a.csv", 1200, 5000, "rows", 0.5);
        ck_assert_str_eq(line, "reading a.csv: 1200/5000 rows (24%), 2400 rows/s");
        ck_assert_uint_eq(n, strlen(line));
        /* no total: no fraction; no time yet: no rate */
        progress_format(line, sizeof(line), "reading", 7, 0, "rows", 0);
        ck_assert_str_eq(line, "reading: 7 rows");
        /* done past a total that was a guess never says more than 100% */
        progress_format(line, sizeof(line), "x", 12, 10, "jobs", -1);
        ck_assert_str_eq(line, "x: 12/10 jobs (100%)");
        /* a small buffer is cut, NUL-terminated, and the length says so */
        n = progress_format(line, 10, "enqueueing", 1, 2, "jobs", 1);
        ck_assert_str_eq(line, "enqueuein");
        ck_assert_uint_eq(n, 9);
}
END_TEST

/* What a struct progress wrote to a memory stream so far. */
static char *drawn(FILE *f, char **mem)
{
        fflush(f);
        return *mem;
}

START_TEST(test_small_runs_draw_nothing)
{
        char *mem = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&mem, &len);
        struct progress p;

        progress_begin(&p, f, "reading", "rows");
        for (size_t i = 1; i <= PROGRESS_MIN_ITEMS - 1; i++)
                progress_update(&p, i, PROGRESS_MIN_ITEMS - 1);
        ck_assert(!progress_end(&p));
        ck_assert_str_eq(drawn(f, &mem) ? mem : "", "");

        /* off (NULL: not a terminal, or --json) draws nothing however large */
        progress_begin(&p, NULL, "reading", "rows");
        progress_update(&p, 5000, 10000);
        ck_assert(!progress_end(&p));
        fclose(f);
        ck_assert_uint_eq(len, 0);
        free(mem);
}
END_TEST

START_TEST(test_redrawn_in_place)
{
        char *mem = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&mem, &len);
        struct progress p;

        progress_begin(&p, f, "reading big.csv", "rows");
        progress_update(&p, 256, 20000);
        /* the first update is drawn at once, after a \r */
        ck_assert_msg(strncmp(drawn(f, &mem), "\rreading big.csv: 256/20000 rows (1%)", 36) == 0,
                      "%s", mem);
        /* the next ones within PROGRESS_INTERVAL_MS are not (the last
         * draw moved to the far future: no clock in this test) */
        p.last_ns = INT64_MAX / 2;
        progress_update(&p, 512, 20000);
        ck_assert_msg(!strstr(drawn(f, &mem), "512/"), "%s", mem);
        ck_assert(progress_end(&p));
        fclose(f);
        /* the end draws the last state again and ends the line */
        ck_assert_msg(strstr(mem, "\rreading big.csv: 512/20000 rows (2%)"), "%s", mem);
        ck_assert_msg(strchr(mem, '\n') == mem + len - 1, "not one line end, at the end: %s", mem);
        free(mem);
}
END_TEST

START_TEST(test_shorter_line_blanks_the_rest)
{
        char *mem = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&mem, &len);
        struct progress p;

        progress_begin(&p, f, "enqueueing", "jobs");
        p.min_items = 0;        /* a second phase shows however small */
        progress_update(&p, 5, 10);
        ck_assert_msg(strstr(drawn(f, &mem), "\renqueueing: 5/10 jobs (50%)"), "%s", mem);
        size_t first = strlen(mem);
        /* a total that shrinks makes a shorter line: spaces cover the old one */
        p.last_ns = 0;
        progress_update(&p, 5, 9);
        fflush(f);
        const char *second = mem + first;
        ck_assert_uint_eq(strlen(second), first);
        ck_assert_msg(second[strlen(second) - 1] == ' ', "not padded: \"%s\"", second);
        ck_assert(progress_end(&p));
        fclose(f);
        free(mem);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("progress");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_format);
        tcase_add_test(tc, test_small_runs_draw_nothing);
        tcase_add_test(tc, test_redrawn_in_place);
        tcase_add_test(tc, test_shorter_line_blanks_the_rest);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
