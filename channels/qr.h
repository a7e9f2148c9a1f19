/* qr.h: a QR code as a matrix of modules, for drawing by letter.c.
 *
 * The only interface to libqrencode. The matrix includes the quiet zone
 * (QR_QUIET modules of light on every side), so a drawer paints exactly
 * width x width squares and needs no other margin. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define QR_QUIET 4      /* modules of quiet zone around the symbol */

struct qr {
        int width;              /* modules per side, quiet zone included */
        unsigned char *dark;    /* width * width bytes, row by row: 1 = dark */
};

/* Encodes the bytes data[0..len) in byte mode at error-correction level M,
 * in the smallest version that fits. On success *out is new and the caller
 * frees it with qr_free. Returns 0, -EMSGSIZE when the data does not fit
 * version 40, or another negative errno. */
int qr_encode(struct qr **out, const void *data, size_t len, struct error *err);

/* True when module (x, y) is dark; false outside the matrix. */
bool qr_dark(const struct qr *qr, int x, int y);

/* Frees qr; NULL is a no-op. */
void qr_free(struct qr *qr);
