/* qr.c: libqrencode -> a plain module matrix with the quiet zone. The rest
 * of dunningd never sees a QRcode; letter.c draws the matrix as vector
 * squares. */
#include <errno.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "qr.h"

int qr_encode(struct qr **out, const void *data, size_t len, struct error *err)
{
        if (len == 0 || len > 7089)
                return error_set(err, -EMSGSIZE, "QR code: %zu bytes cannot be encoded", len);
        /* QRcode_encodeData takes the bytes as they are (8-bit mode): the
         * EPC payload is UTF-8 and must come out byte for byte. */
        errno = 0;
        QRcode *code = QRcode_encodeData((int)len, data, 0, QR_ECLEVEL_M);
        if (!code) {
                int e = errno ? errno : EINVAL;
                if (e == ERANGE)
                        e = EMSGSIZE;
                return error_set(err, -e, "QR code: cannot encode %zu bytes: %s", len,
                                 strerror(e));
        }
        struct qr *qr = xmalloc(sizeof(*qr));
        qr->width = code->width + 2 * QR_QUIET;
        qr->dark = xcalloc((size_t)qr->width * (size_t)qr->width, 1);
        for (int y = 0; y < code->width; y++)
                for (int x = 0; x < code->width; x++)
                        qr->dark[(size_t)(y + QR_QUIET) * (size_t)qr->width + (size_t)(x + QR_QUIET)] =
                                code->data[y * code->width + x] & 1;
        QRcode_free(code);
        *out = qr;
        return 0;
}

bool qr_dark(const struct qr *qr, int x, int y)
{
        if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
                return false;
        return qr->dark[(size_t)y * (size_t)qr->width + (size_t)x];
}

void qr_free(struct qr *qr)
{
        if (!qr)
                return;
        free(qr->dark);
        free(qr);
}
