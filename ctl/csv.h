/* csv.h: an RFC 4180 CSV reader for campaign files (pure: no I/O).
 *
 * Handles a UTF-8 byte order mark, CRLF / LF / CR line ends, quoted fields
 * with separators, doubled quotes and line breaks inside, and ';' as the
 * separator of Excel exports in locales that use a decimal comma. Each
 * record knows the 1-based physical line it starts on, so errors about
 * a record can name that line even after multi-line fields. */
#pragma once

#include <stddef.h>

#include "error.h"

struct csv_record {
        char **fields;          /* n_fields NUL-terminated strings, owned by the csv */
        size_t n_fields;
        int line;               /* 1-based physical line the record starts on */
};

struct csv {
        struct csv_record *records;     /* in file order; blank lines are skipped */
        size_t n_records;
        char separator;                 /* ',' or ';' */
};

/* Parses data[0..len) into *out (which the caller then frees with csv_free).
 * separator is ',' or ';', or 0 to pick ';' when the first line contains a
 * ';' and no ','. Field bytes are copied as they are (encoding unchecked);
 * a NUL byte is an error. On failure *out is left empty, returns -EINVAL,
 * and err->msg is "LINE: reason" (e.g. "3: unterminated quoted field"), so
 * that "NAME:" + msg is a compiler-style message. */
int csv_parse(struct csv *out, const char *data, size_t len, char separator,
              struct error *err);

/* Frees everything csv_parse put into csv and leaves it empty; NULL-safe. */
void csv_free(struct csv *csv);
