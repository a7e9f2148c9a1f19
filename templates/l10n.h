/* l10n.h: money and date formatting in the customer's locale (ICU).
 *
 * Money is integer minor units end to end: an amount reaches ICU as a
 * decimal string built from the integer, never as a double, and the number
 * of minor digits of a currency comes from ICU's data (JPY 0, EUR 2,
 * KWD 3). Locales are BCP 47 tags ("nl-NL"; "nl_NL" is accepted too).
 *
 * Opening an ICU formatter costs far more than using one, so formatters are
 * kept in a struct l10n_cache that the caller owns: one per worker thread,
 * made when the thread starts and freed when it ends. A cache is not locked
 * and must not be used by two threads at once. We chose a caller-owned
 * cache over a __thread one so that there is no hidden state, it is freed
 * at a known point (no thread-exit destructor, nothing for LeakSanitizer to
 * report), and a test can start from an empty one. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

enum l10n_date_style {
        /* Day, month name, year: "22 november 2026" (nl), "22. November 2026" (de). */
        L10N_DATE_LONG,
        /* All digits, two-digit day and month, four-digit year, in the
         * locale's order and separator: "22-11-2026" (nl-NL), "22.11.2026"
         * (de-DE), "22/11/2026" (en-GB, fr-FR), "11/22/2026" (en-US). */
        L10N_DATE_NUMERIC,
};

struct l10n_cache;

/* Makes an empty formatter cache (see above); never fails (allocation
 * failure aborts). The caller owns it and frees it with l10n_cache_free. */
struct l10n_cache *l10n_cache_new(void);
/* Closes every cached formatter and frees the cache; NULL is a no-op. */
void l10n_cache_free(struct l10n_cache *c);

/* Appends minor_units of currency (ISO 4217, upper case: "EUR") formatted
 * for locale to out, as UTF-8: nl-NL EUR 123456 -> "€ 1.234,56".
 * c may be NULL (a formatter is then opened and closed for this one call:
 * fine for one-off callers, slow on the per-job path). Returns 0, or
 * -EINVAL naming the unknown locale or currency in err; out is untouched
 * on failure. */
int l10n_money(struct l10n_cache *c, struct buf *out, const char *locale,
                 const char *currency, int64_t minor_units, struct error *err);

/* Appends the Gregorian date ymd ("YYYY-MM-DD", 1583-9999) in locale and
 * style to out, as UTF-8, in the locale's own calendar (th-TH: Buddhist
 * years). Formatted in GMT whatever TZ is, so it never shifts by a day.
 * c may be NULL as above. Returns 0, or -EINVAL naming the unknown locale
 * or the invalid date in err; out is untouched on failure. */
int l10n_date(struct l10n_cache *c, struct buf *out, const char *locale, const char *ymd,
                enum l10n_date_style style, struct error *err);

/* Whether locale is a well-formed tag for which ICU has formatting data
 * (itself, or once its likely script is added: "zh-CN" as zh_Hans_CN).
 * "nl-NL", "nl", "en-GB" are known; "xx-YY", "nl-XX", "", NULL are not. */
bool l10n_known(const char *locale);

/* The number of minor digits of currency per ICU's data (EUR 2, JPY 0,
 * KWD 3), or -EINVAL when currency is not an ISO 4217 code ICU knows. */
int l10n_minor_digits(const char *currency);
