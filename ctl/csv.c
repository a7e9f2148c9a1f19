/* csv.c: RFC 4180 CSV reader (pure, no I/O) for campaign files exported by
 * ERPs and spreadsheets: BOM, CRLF, quoted fields, ';' separators, and
 * the physical start line of each record for error messages. */
#include "csv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* Length of the line end at data[i] (CRLF, LF or a lone CR), else 0. */
static size_t newline_at(const char *data, size_t len, size_t i)
{
        if (data[i] == '\n')
                return 1;
        if (data[i] == '\r')
                return i + 1 < len && data[i + 1] == '\n' ? 2 : 1;
        return 0;
}

/* ';' when the first line has a ';' and no ',' (Excel in nl, de, fr ...). */
static char detect_separator(const char *data, size_t len)
{
        bool semicolon = false;

        for (size_t i = 0; i < len && data[i] != '\n' && data[i] != '\r'; i++) {
                if (data[i] == ',')
                        return ',';
                if (data[i] == ';')
                        semicolon = true;
        }
        return semicolon ? ';' : ',';
}

static void free_fields(char **fields, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(fields[i]);
        free(fields);
}

void csv_free(struct csv *csv)
{
        if (!csv)
                return;
        for (size_t i = 0; i < csv->n_records; i++)
                free_fields(csv->records[i].fields, csv->records[i].n_fields);
        free(csv->records);
        csv->records = NULL;
        csv->n_records = 0;
}

int csv_parse(struct csv *out, const char *data, size_t len, char separator,
              struct error *err)
{
        struct csv c = { NULL, 0, ',' };
        struct buf field = BUF_INIT;
        char **fields = NULL;
        size_t n_fields = 0, fields_cap = 0, records_cap = 0, i = 0;
        int line = 1, r = 0;

        out->records = NULL;
        out->n_records = 0;
        if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
                i = 3;
        if (separator != ',' && separator != ';')
                separator = detect_separator(data + i, len - i);
        c.separator = separator;

        while (i < len) {
                int record_line = line;
                bool quoted = false;

                for (;;) {
                        buf_reset(&field);
                        quoted = i < len && data[i] == '"';
                        if (quoted) {
                                int quote_line = line;
                                for (i++;; ) {
                                        size_t nl;
                                        if (i >= len) {
                                                r = error_set(err, -EINVAL,
                                                              "%d: unterminated quoted field",
                                                              quote_line);
                                                goto out;
                                        }
                                        if (data[i] == '"') {
                                                if (i + 1 < len && data[i + 1] == '"') {
                                                        buf_putc(&field, '"');
                                                        i += 2;
                                                        continue;
                                                }
                                                i++;
                                                break;
                                        }
                                        if (data[i] == '\0') {
                                                r = error_set(err, -EINVAL, "%d: NUL byte",
                                                              line);
                                                goto out;
                                        }
                                        nl = newline_at(data, len, i);
                                        if (nl) {
                                                buf_append(&field, data + i, nl);
                                                i += nl;
                                                line++;
                                                continue;
                                        }
                                        buf_putc(&field, data[i++]);
                                }
                                if (i < len && data[i] != separator &&
                                    !newline_at(data, len, i)) {
                                        r = error_set(err, -EINVAL,
                                                      "%d: unexpected character after closing quote",
                                                      line);
                                        goto out;
                                }
                        } else {
                                while (i < len && data[i] != separator &&
                                       !newline_at(data, len, i)) {
                                        if (data[i] == '"') {
                                                r = error_set(err, -EINVAL,
                                                              "%d: stray quote in unquoted field (quote the whole field and double the quote)",
                                                              line);
                                                goto out;
                                        }
                                        if (data[i] == '\0') {
                                                r = error_set(err, -EINVAL, "%d: NUL byte",
                                                              line);
                                                goto out;
                                        }
                                        buf_putc(&field, data[i++]);
                                }
                        }
                        if (n_fields == fields_cap) {
                                fields_cap = fields_cap ? 2 * fields_cap : 16;
                                fields = xrealloc(fields, fields_cap * sizeof(*fields));
                        }
                        fields[n_fields++] = xstrdup(buf_str(&field));
                        if (i < len && data[i] == separator) {
                                i++;
                                continue;
                        }
                        break;
                }
                if (i < len) {
                        i += newline_at(data, len, i);
                        line++;
                }
                if (n_fields == 1 && !quoted && fields[0][0] == '\0') {
                        /* a blank line */
                        free(fields[0]);
                        n_fields = 0;
                        continue;
                }
                if (c.n_records == records_cap) {
                        records_cap = records_cap ? 2 * records_cap : 64;
                        c.records = xrealloc(c.records, records_cap * sizeof(*c.records));
                }
                c.records[c.n_records].fields = xrealloc(fields, n_fields * sizeof(*fields));
                c.records[c.n_records].n_fields = n_fields;
                c.records[c.n_records].line = record_line;
                c.n_records++;
                fields = NULL;
                n_fields = fields_cap = 0;
        }
        *out = c;
        c.records = NULL;
        c.n_records = 0;
out:
        free_fields(fields, n_fields);
        csv_free(&c);
        buf_free(&field);
        return r;
}
