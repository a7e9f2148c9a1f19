/* buf.h: the one growable byte buffer used to build strings.
 *
 * A struct buf starts zeroed (BUF_INIT); data is always NUL-terminated once
 * anything was appended. Allocation failure aborts: a daemon that cannot
 * get a few bytes cannot do anything useful, and every caller would
 * otherwise carry an error path that is never tested. */
#pragma once

#include <stdarg.h>
#include <stddef.h>

struct buf {
        char *data;
        size_t len;
        size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

/* Makes room for extra more bytes and the NUL (the slow path of the
 * appenders below, which are inline: templates and MIME append a few bytes
 * at a time, millions of times). */
void buf_grow(struct buf *b, size_t extra);

static inline void buf_append(struct buf *b, const void *p, size_t n)
{
        if (b->len + n + 1 > b->cap)
                buf_grow(b, n);
        if (n)
                __builtin_memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
}

static inline void buf_putc(struct buf *b, char c)
{
        if (b->len + 2 > b->cap)
                buf_grow(b, 1);
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Empties the buffer but keeps its memory for reuse. */
void buf_reset(struct buf *b);
/* Hands the string over to the caller (who frees it); b is left empty. */
char *buf_steal(struct buf *b);
/* Frees the memory; b is left empty and reusable. */
void buf_free(struct buf *b);
/* The contents as a string: "" when nothing was appended. Borrowed. */
const char *buf_str(const struct buf *b);

/* Appends the contents of the file at path. Returns 0, -errno when it
 * cannot be read, or -E2BIG when it is larger than max bytes (b is then
 * left as it was). */
int buf_read_file(struct buf *b, const char *path, size_t max);

/* Allocation helpers that abort on failure (see above). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
