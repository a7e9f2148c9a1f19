/* fuzz-webhooks.c: what providers POST to dunningd: Mollie's form body
 * `id=tr_...` and the SMS delivery reports (form bodies, Twilio's signed
 * ones), through webhooks_form_get, webhooks_twilio_signature_ok and
 * webhooks_dlr_status.
 *
 * Input: NUL-separated fields: body, parameter name (default "id"),
 * Twilio auth token, report URL, X-Twilio-Signature.
 *
 * Beyond "no crash": a value found fits the buffer given (length returned
 * == strlen, always < size), a smaller buffer yields the same value or
 * nothing, and the value percent-encoded and looked up again is itself:
 * the decoder and any provider's encoder agree. */
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "webhooks.h"

static void encode(struct buf *b, const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_') {
                        buf_putc(b, (char)*p);
                } else if (*p == ' ') {
                        buf_putc(b, '+');
                } else {
                        buf_putc(b, '%');
                        buf_putc(b, hex[*p >> 4]);
                        buf_putc(b, hex[*p & 15]);
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const size_t sizes[] = { 1, 2, 16, 80, 2048 };
        struct fuzz_fields ff;
        char big[2048], small[2048];

        fuzz_split(&ff, data, size, 5);
        const char *body = ff.f[0];
        const char *name = ff.n > 1 ? ff.f[1] : "id";

        int n = webhooks_form_get(body, name, big, sizeof(big));
        FUZZ_ASSERT(n >= -1 && n < (int)sizeof(big), "returned %d", n);
        if (n >= 0) {
                FUZZ_ASSERT((size_t)n == strlen(big), "%d for a value of %zu bytes", n,
                            strlen(big));
                struct buf again = BUF_INIT;
                buf_puts(&again, "x=1&");
                encode(&again, name);
                buf_putc(&again, '=');
                encode(&again, big);
                /* name itself is looked up literally, so only names that
                 * need no encoding take part in the round trip */
                char back[2048];
                bool plain = name[strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_")] == '\0';
                if (plain && strcmp(name, "x") != 0) {
                        int m = webhooks_form_get(again.data, name, back, sizeof(back));
                        FUZZ_ASSERT(m == n && strcmp(back, big) == 0,
                                    "'%s' encoded as %s reads back as %d '%s'", big, again.data,
                                    m, m >= 0 ? back : "");
                }
                buf_free(&again);
        }
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                int m = webhooks_form_get(body, name, small, sizes[i]);
                FUZZ_ASSERT(m < (int)sizes[i], "%d bytes in a buffer of %zu", m, sizes[i]);
                if (m >= 0)
                        FUZZ_ASSERT(m == n && strcmp(small, big) == 0, "size %zu: other value",
                                    sizes[i]);
        }

        const char *token = ff.n > 2 ? ff.f[2] : "twilio-auth-token";
        const char *url = ff.n > 3 ? ff.f[3] : "https://dunning.example/webhooks/sms/twilio";
        const char *sig = ff.n > 4 ? ff.f[4] : "bm90IGEgc2lnbmF0dXJlIGF0IGFsbCE=";
        (void)webhooks_twilio_signature_ok(token, url, body, sig);
        if (n >= 0) {
                static const char *const providers[] = { "messagebird", "twilio", "generic" };
                for (size_t i = 0; i < 3; i++)
                        (void)webhooks_dlr_status(providers[i], big);
        }
        fuzz_fields_free(&ff);
        return 0;
}
