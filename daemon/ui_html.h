/* ui_html.h: the pure pieces of the credit team's pages (daemon/ui.h):
 * HTML escaping, the two languages, the language a request asks for, and
 * the daily chart drawn as inline SVG. No I/O: tested without servers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "stats.h"

enum ui_lang { UI_LANG_EN, UI_LANG_NL };

/* Appends s to b with & < > " ' escaped, so it is text in an element or a
 * quoted attribute; NULL appends nothing. */
void ui_html_escape(struct buf *b, const char *s);
/* Appends s percent-encoded for a URL path segment or query value
 * (everything but A-Z a-z 0-9 - . _ ~). */
void ui_url_encode(struct buf *b, const char *s);

/* The language of a request: lang (a ?lang= or cookie value, may be NULL)
 * when it is "en" or "nl", else the first of those in accept_language
 * (the Accept-Language header, may be NULL) by its q weights, else
 * English. */
enum ui_lang ui_lang_pick(const char *lang, const char *accept_language);
const char *ui_lang_code(enum ui_lang l);

/* The text of key in l (the key itself when it has none: a missing
 * translation shows, it does not crash). */
const char *ui_text(enum ui_lang l, const char *key);

/* Money in minor units as "1.234,56" (nl) or "1,234.56" (en). */
void ui_money(struct buf *b, enum ui_lang l, long long cents);
/* A count as "5.000" (nl) or "5,000" (en). */
void ui_count(struct buf *b, enum ui_lang l, long long n);
/* The text of key in l, escaped, with each "{1}" and "{2}" in it
 * replaced by n1 and n2 written as ui_count writes them: the sentence
 * order is the language's, the numbers are ours. */
void ui_text_counts(struct buf *b, enum ui_lang l, const char *key, long long n1, long long n2);

/* The daily chart: per day a bar of the reminders sent, stacked by
 * channel, and a line of the payments credited, days[0..n) oldest first;
 * an <svg> element with a <title>, axes, the day labels and a legend.
 * Each bar segment carries data-day, data-channel and data-sent. */
void ui_svg_daily(struct buf *b, enum ui_lang l, const struct stats_day *days, size_t n);
