/* gsm7.h: GSM 03.38 7-bit check and SMS segment counting; pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct gsm7_count {
        bool gsm7;          /* every character fits the GSM 7-bit alphabet */
        size_t units;       /* septets (gsm7) or UTF-16 code units (UCS-2) */
        size_t segments;    /* 160/153 septets or 70/67 units per segment */
};

/* Counts the UTF-8 text s. Invalid UTF-8 counts as UCS-2 with U+FFFD. */
void gsm7_count(const char *s, struct gsm7_count *out);
