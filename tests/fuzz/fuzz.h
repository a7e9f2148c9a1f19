/* fuzz.h: what the libFuzzer targets share.
 *
 * Targets that need several strings split their input at NUL bytes: every
 * field is then an arbitrary C string, which is exactly the domain of the
 * entry points under test, and seeds stay easy to write with printf. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the entry point promises did not hold: report and abort, so
 * libFuzzer keeps the input as a crash. */
#define FUZZ_ASSERT(cond, ...)                                                       \
        do {                                                                         \
                if (!(cond)) {                                                       \
                        fprintf(stderr, "%s:%d: property failed: %s: ", __FILE__,    \
                                __LINE__, #cond);                                    \
                        fprintf(stderr, __VA_ARGS__);                                \
                        fputc('\n', stderr);                                         \
                        abort();                                                     \
                }                                                                    \
        } while (0)

struct fuzz_fields {
        char *copy;             /* the input with a NUL after it, owned */
        const char *f[16];      /* up to 16 fields; the missing ones are NULL */
        size_t n;
};

/* Splits data at NUL bytes into at most max (<= 16) fields; the last field
 * takes the rest (NULs included, so it ends at the first of them). */
static inline void fuzz_split(struct fuzz_fields *ff, const uint8_t *data, size_t size,
                              size_t max)
{
        ff->copy = malloc(size + 1);
        if (!ff->copy)
                abort();
        if (size)
                memcpy(ff->copy, data, size);
        ff->copy[size] = '\0';
        memset(ff->f, 0, sizeof(ff->f));
        ff->n = 0;
        char *p = ff->copy, *end = ff->copy + size;
        while (ff->n < max && ff->n < 16) {
                ff->f[ff->n++] = p;
                char *z = memchr(p, '\0', (size_t)(end - p));
                if (!z || z == end)
                        break;
                p = z + 1;
        }
}

static inline void fuzz_fields_free(struct fuzz_fields *ff)
{
        free(ff->copy);
}
