/* error.h: the caller-owned error message that library-style code fills in.
 *
 * Functions return 0 or a negative errno and, on failure, write one human
 * message naming the thing at fault into a struct error the caller owns.
 * Only the caller logs it, once. */
#pragma once

#include <stdarg.h>

struct error {
        char msg[2048];
};

/* Formats fmt into e->msg (truncating); e may be NULL. Returns -EINVAL
 * unless code is non-zero, in which case code is returned, so that a
 * function can `return error_set(err, -ENOENT, "...")`. */
int error_set(struct error *e, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to e->msg; e may be NULL. */
void error_prefix(struct error *e, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
