/* progress.h: the progress line of long dunningctl runs on a terminal.
 *
 * "reading big.csv: 120000/500000 rows (24%), 61234 rows/s", redrawn in
 * place with \r at most every PROGRESS_INTERVAL_MS and finished with a
 * newline. It is for a person watching: the caller enables it only when
 * the stream is a terminal and the output is not for a program (--json),
 * and it is drawn only for runs of PROGRESS_MIN_ITEMS items or more, so
 * that small files, pipes and tests never see it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROGRESS_MIN_ITEMS 1000
#define PROGRESS_INTERVAL_MS 100

struct progress {
        FILE *out;              /* NULL: never drawn */
        char label[256];
        const char *unit;       /* "rows", "jobs": borrowed */
        int64_t start_ns, last_ns;
        size_t done, total;
        size_t min_items;       /* drawn from this many items on: PROGRESS_MIN_ITEMS */
        size_t width;           /* of the line on screen: a shorter one blanks the rest */
        bool shown;
};

/* Whether a progress line belongs on f: a terminal, and no --json. */
bool progress_wanted(FILE *f, bool json);

/* Starts counting; out NULL disables the line. label and unit are copied
 * / borrowed (unit must outlive p). */
void progress_begin(struct progress *p, FILE *out, const char *label, const char *unit);
/* done of total items (total 0: not known); redraws when due. */
void progress_update(struct progress *p, size_t done, size_t total);
/* Draws the final state and ends the line, if anything was drawn; says
 * whether it was (the next phase of a run that showed one should show,
 * however small: set its min_items to 0). */
bool progress_end(struct progress *p);

/* The text of one line, without \r, into out[n]: "LABEL: DONE/TOTAL UNIT
 * (P%), R UNIT/s" (no "/TOTAL (P%)" when total is 0, no rate when
 * elapsed_s is not positive). Returns the length written. Pure. */
size_t progress_format(char *out, size_t n, const char *label, size_t done, size_t total,
                       const char *unit, double elapsed_s);
