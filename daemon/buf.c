/* buf.c: growable string buffer and aborting allocators. */
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(void)
{
        fputs("dunningd: out of memory\n", stderr);
        abort();
}

void *xmalloc(size_t n)
{
        void *p = malloc(n ? n : 1);
        if (!p)
                oom();
        return p;
}

void *xcalloc(size_t n, size_t size)
{
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (!p)
                oom();
        return p;
}

void *xrealloc(void *p, size_t n)
{
        p = realloc(p, n ? n : 1);
        if (!p)
                oom();
        return p;
}

char *xstrdup(const char *s)
{
        return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
        char *p = xmalloc(n + 1);
        memcpy(p, s, n);
        p[n] = '\0';
        return p;
}

void buf_grow(struct buf *b, size_t extra)
{
        size_t need = b->len + extra + 1;
        if (need <= b->cap)
                return;
        size_t cap = b->cap ? b->cap : 64;
        while (cap < need)
                cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
}

void buf_puts(struct buf *b, const char *s)
{
        buf_append(b, s, strlen(s));
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
        /* Format into the free space first; only a result that does not
         * fit is formatted a second time, into a grown buffer. */
        va_list ap2;
        va_copy(ap2, ap);
        buf_grow(b, 64);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->data + b->len, room, fmt, ap2);
        va_end(ap2);
        if (n < 0) {
                b->data[b->len] = '\0';
                return;
        }
        if ((size_t)n >= room) {
                buf_grow(b, (size_t)n);
                vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        }
        b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        buf_vprintf(b, fmt, ap);
        va_end(ap);
}

void buf_reset(struct buf *b)
{
        b->len = 0;
        if (b->data)
                b->data[0] = '\0';
}

char *buf_steal(struct buf *b)
{
        char *s = b->data ? b->data : xstrdup("");
        b->data = NULL;
        b->len = b->cap = 0;
        return s;
}

void buf_free(struct buf *b)
{
        free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
}

const char *buf_str(const struct buf *b)
{
        return b->data ? b->data : "";
}

int buf_read_file(struct buf *b, const char *path, size_t max)
{
        size_t start = b->len;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        char chunk[8192];
        ssize_t n;
        int rc = 0;
        while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        rc = -errno;
                        break;
                }
                if (b->len - start + (size_t)n > max) {
                        rc = -E2BIG;
                        break;
                }
                buf_append(b, chunk, (size_t)n);
        }
        close(fd);
        if (rc < 0) {
                b->len = start;
                if (b->data)
                        b->data[start] = '\0';
        }
        return rc;
}
