/* error.c: filling struct error. */
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int error_set(struct error *e, int code, const char *fmt, ...)
{
        if (e) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
                va_end(ap);
        }
        return code ? code : -EINVAL;
}

void error_prefix(struct error *e, const char *fmt, ...)
{
        char head[512], old[sizeof(e->msg)];
        va_list ap;

        if (!e)
                return;
        va_start(ap, fmt);
        vsnprintf(head, sizeof(head), fmt, ap);
        va_end(ap);
        memcpy(old, e->msg, sizeof(old));
        snprintf(e->msg, sizeof(e->msg), "%s: %s", head, old);
}
