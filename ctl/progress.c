/* progress.c: the progress line of long dunningctl runs (see progress.h). */
#include "progress.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool progress_wanted(FILE *f, bool json)
{
        return !json && isatty(fileno(f));
}

size_t progress_format(char *out, size_t n, const char *label, size_t done, size_t total,
                       const char *unit, double elapsed_s)
{
        size_t len = 0;
        int w;

        if (n == 0)
                return 0;
        if (total)
                w = snprintf(out, n, "%s: %zu/%zu %s (%u%%)", label, done, total, unit,
                             (unsigned)(done >= total ? 100 : done * 100 / total));
        else
                w = snprintf(out, n, "%s: %zu %s", label, done, unit);
        len = w < 0 ? 0 : (size_t)w < n ? (size_t)w : n - 1;
        if (elapsed_s > 0 && len < n - 1) {
                w = snprintf(out + len, n - len, ", %.0f %s/s", (double)done / elapsed_s, unit);
                len += w < 0 ? 0 : (size_t)w < n - len ? (size_t)w : n - len - 1;
        }
        return len;
}

void progress_begin(struct progress *p, FILE *out, const char *label, const char *unit)
{
        memset(p, 0, sizeof(*p));
        p->out = out;
        snprintf(p->label, sizeof(p->label), "%s", label);
        p->unit = unit;
        p->min_items = PROGRESS_MIN_ITEMS;
        p->start_ns = mono_ns();
}

static void draw(struct progress *p, int64_t now)
{
        char line[512];
        size_t len = progress_format(line, sizeof(line), p->label, p->done, p->total, p->unit,
                                     (double)(now - p->start_ns) / 1e9);

        /* spaces, not an ANSI erase: right on any terminal, dumb included */
        fprintf(p->out, "\r%s%*s", line, p->width > len ? (int)(p->width - len) : 0, "");
        fflush(p->out);
        p->width = len;
        p->last_ns = now;
        p->shown = true;
}

void progress_update(struct progress *p, size_t done, size_t total)
{
        p->done = done;
        p->total = total;
        if (!p->out || (total ? total : done) < p->min_items)
                return;
        int64_t now = mono_ns();
        if (!p->shown || now - p->last_ns >= (int64_t)PROGRESS_INTERVAL_MS * 1000000)
                draw(p, now);
}

bool progress_end(struct progress *p)
{
        if (!p->shown)
                return false;
        draw(p, mono_ns());
        fputc('\n', p->out);
        fflush(p->out);
        p->shown = false;
        return true;
}
