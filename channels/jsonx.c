/* jsonx.c: a JSON string escaper and a one-member reader that build no
 * tree. An SMS costs a request body and an answer of which only the id is
 * wanted: with jansson that was a tree of a dozen values built and freed
 * for the body and one of forty for the answer, per message. */
#include "jsonx.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"

/* Nesting the reader follows before it calls the text broken: far beyond
 * any provider's answer, and a bound on the recursion. */
#define DEPTH_MAX 256

int jsonx_escape(struct buf *b, const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        const unsigned char *p = (const unsigned char *)s, *run = p;

        for (;;) {
                unsigned char c = *p;
                if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
                        p++;
                        continue;
                }
                if (c >= 0x80) {
                        /* A run of non-ASCII bytes is whole sequences
                         * when it is valid: no byte of one is ASCII. */
                        const unsigned char *q = p;
                        while (*q >= 0x80)
                                q++;
                        if (!job_utf8_valid((const char *)p, (size_t)(q - p)))
                                return -EILSEQ;
                        p = q;
                        continue;
                }
                buf_append(b, run, (size_t)(p - run));
                if (c == '\0')
                        return 0;
                buf_putc(b, '\\');
                switch (c) {
                case '"': buf_putc(b, '"'); break;
                case '\\': buf_putc(b, '\\'); break;
                case '\b': buf_putc(b, 'b'); break;
                case '\f': buf_putc(b, 'f'); break;
                case '\n': buf_putc(b, 'n'); break;
                case '\r': buf_putc(b, 'r'); break;
                case '\t': buf_putc(b, 't'); break;
                default:
                        buf_puts(b, "u00");
                        buf_putc(b, hex[c >> 4]);
                        buf_putc(b, hex[c & 15]);
                        break;
                }
                run = ++p;
        }
}

/* ---- reading ------------------------------------------------------------ */

struct scan {
        const unsigned char *p, *end;
        unsigned depth;
};

static bool is_digit(unsigned char c)
{
        return c >= '0' && c <= '9';
}

static void skip_ws(struct scan *sc)
{
        while (sc->p < sc->end &&
               (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
                sc->p++;
}

/* Appends len bytes to out[*k...] as far as size - 1 allows; *k counts
 * them all. out may be NULL. */
static void put(char *out, size_t size, size_t *k, const void *p, size_t len)
{
        if (out && *k + 1 < size)
                memcpy(out + *k, p, len < size - 1 - *k ? len : size - 1 - *k);
        *k += len;
}

static int hex4(struct scan *sc, uint32_t *v)
{
        *v = 0;
        if (sc->end - sc->p < 4)
                return -EINVAL;
        for (int i = 0; i < 4; i++) {
                unsigned char c = *sc->p++;
                unsigned d = is_digit(c)               ? (unsigned)(c - '0')
                             : (c >= 'a' && c <= 'f') ? (unsigned)(c - 'a' + 10)
                             : (c >= 'A' && c <= 'F') ? (unsigned)(c - 'A' + 10)
                                                      : 16u;
                if (d == 16)
                        return -EINVAL;
                *v = *v << 4 | d;
        }
        return 0;
}

/* The escape at sc->p (after its backslash) as UTF-8 into u; its length.
 * A \u escape of a surrogate must be a high one followed by a low one; a
 * \u0000 is refused, as jansson does unless told otherwise. */
static int read_escape(struct scan *sc, char u[4], size_t *ulen)
{
        uint32_t cp, lo;

        if (sc->p >= sc->end)
                return -EINVAL;
        *ulen = 1;
        switch (*sc->p++) {
        case '"': u[0] = '"'; return 0;
        case '\\': u[0] = '\\'; return 0;
        case '/': u[0] = '/'; return 0;
        case 'b': u[0] = '\b'; return 0;
        case 'f': u[0] = '\f'; return 0;
        case 'n': u[0] = '\n'; return 0;
        case 'r': u[0] = '\r'; return 0;
        case 't': u[0] = '\t'; return 0;
        case 'u': break;
        default: return -EINVAL;
        }
        if (hex4(sc, &cp) < 0 || cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff))
                return -EINVAL;
        if (cp >= 0xd800 && cp <= 0xdbff) {
                if (sc->end - sc->p < 2 || sc->p[0] != '\\' || sc->p[1] != 'u')
                        return -EINVAL;
                sc->p += 2;
                if (hex4(sc, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
                        return -EINVAL;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        if (cp < 0x80) {
                u[0] = (char)cp;
        } else if (cp < 0x800) {
                u[0] = (char)(0xc0 | cp >> 6);
                u[1] = (char)(0x80 | (cp & 0x3f));
                *ulen = 2;
        } else if (cp < 0x10000) {
                u[0] = (char)(0xe0 | cp >> 12);
                u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
                u[2] = (char)(0x80 | (cp & 0x3f));
                *ulen = 3;
        } else {
                u[0] = (char)(0xf0 | cp >> 18);
                u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
                u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
                u[3] = (char)(0x80 | (cp & 0x3f));
                *ulen = 4;
        }
        return 0;
}

/* The string at sc->p (its opening quote), unescaped into out (cut to
 * size - 1 bytes and terminated; out may be NULL to skip it); *n is its
 * whole length. */
static int read_string(struct scan *sc, char *out, size_t size, size_t *n)
{
        size_t k = 0;

        sc->p++;
        for (;;) {
                if (sc->p >= sc->end)
                        return -EINVAL;
                unsigned char c = *sc->p;
                const unsigned char *q = sc->p;
                if (c == '"') {
                        sc->p++;
                        break;
                }
                if (c < 0x20)
                        return -EINVAL;
                if (c == '\\') {
                        char u[4];
                        size_t ul;
                        sc->p++;
                        if (read_escape(sc, u, &ul) < 0)
                                return -EINVAL;
                        put(out, size, &k, u, ul);
                        continue;
                }
                if (c < 0x80) {
                        while (q < sc->end && *q >= 0x20 && *q < 0x80 && *q != '"' && *q != '\\')
                                q++;
                } else {
                        while (q < sc->end && *q >= 0x80)
                                q++;
                        if (!job_utf8_valid((const char *)sc->p, (size_t)(q - sc->p)))
                                return -EINVAL;
                }
                put(out, size, &k, sc->p, (size_t)(q - sc->p));
                sc->p = q;
        }
        if (out && size)
                out[k < size - 1 ? k : size - 1] = '\0';
        if (n)
                *n = k;
        return 0;
}

/* Whether the n digits at d, negative or not, fit a signed 64-bit
 * integer: jansson refuses the whole text when one does not. */
static bool int_fits(const unsigned char *d, size_t n, bool neg)
{
        static const char max[] = "9223372036854775807", min[] = "9223372036854775808";

        if (n != sizeof(max) - 1)
                return n < sizeof(max) - 1;
        return memcmp(d, neg ? min : max, n) <= 0;
}

/* The number at sc->p, checked against JSON's grammar; *integer: it has
 * neither a fraction nor an exponent (and fits 64 bits, else -EINVAL). */
static int read_number(struct scan *sc, bool *integer)
{
        const unsigned char *p = sc->p, *end = sc->end, *digits;
        bool neg = p < end && *p == '-';

        p += neg;
        digits = p;
        if (p >= end || !is_digit(*p))
                return -EINVAL;
        if (*p == '0')
                p++;   /* no leading zeros */
        else
                while (p < end && is_digit(*p))
                        p++;
        size_t n = (size_t)(p - digits);
        *integer = true;
        if (p < end && *p == '.') {
                *integer = false;
                if (++p >= end || !is_digit(*p))
                        return -EINVAL;
                while (p < end && is_digit(*p))
                        p++;
        }
        if (p < end && (*p == 'e' || *p == 'E')) {
                *integer = false;
                p++;
                if (p < end && (*p == '+' || *p == '-'))
                        p++;
                if (p >= end || !is_digit(*p))
                        return -EINVAL;
                while (p < end && is_digit(*p))
                        p++;
        }
        if (*integer && !int_fits(digits, n, neg))
                return -EINVAL;
        sc->p = p;
        return 0;
}

static int skip_value(struct scan *sc);

/* The object or array at sc->p, every member or element checked. */
static int skip_container(struct scan *sc)
{
        unsigned char close = *sc->p == '{' ? '}' : ']';

        if (++sc->depth > DEPTH_MAX)
                return -EINVAL;
        sc->p++;
        skip_ws(sc);
        if (sc->p < sc->end && *sc->p == close) {
                sc->p++;
                sc->depth--;
                return 0;
        }
        for (;;) {
                if (close == '}') {
                        if (sc->p >= sc->end || *sc->p != '"' ||
                            read_string(sc, NULL, 0, NULL) < 0)
                                return -EINVAL;
                        skip_ws(sc);
                        if (sc->p >= sc->end || *sc->p++ != ':')
                                return -EINVAL;
                        skip_ws(sc);
                }
                if (skip_value(sc) < 0)
                        return -EINVAL;
                skip_ws(sc);
                if (sc->p >= sc->end)
                        return -EINVAL;
                if (*sc->p == close)
                        break;
                if (*sc->p++ != ',')
                        return -EINVAL;
                skip_ws(sc);
        }
        sc->p++;
        sc->depth--;
        return 0;
}

static int skip_literal(struct scan *sc, const char *word)
{
        size_t n = strlen(word);

        if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, word, n) != 0)
                return -EINVAL;
        sc->p += n;
        return 0;
}

static int skip_value(struct scan *sc)
{
        bool integer;

        if (sc->p >= sc->end)
                return -EINVAL;
        switch (*sc->p) {
        case '"': return read_string(sc, NULL, 0, NULL);
        case '{':
        case '[': return skip_container(sc);
        case 't': return skip_literal(sc, "true");
        case 'f': return skip_literal(sc, "false");
        case 'n': return skip_literal(sc, "null");
        default: return read_number(sc, &integer);
        }
}

/* The value at sc->p into out when it is a string or an integer (0), or
 * skipped (-ENOENT). */
static int read_scalar(struct scan *sc, char *out, size_t size)
{
        const unsigned char *start = sc->p;
        bool integer;
        int rc;

        if (sc->p < sc->end && *sc->p == '"')
                return read_string(sc, out, size, NULL);
        if (sc->p < sc->end && (*sc->p == '-' || is_digit(*sc->p))) {
                if ((rc = read_number(sc, &integer)) < 0)
                        return rc;
                if (!integer)
                        return -ENOENT;
                /* As a number: "-0" is 0. The token fits 64 bits. */
                char tmp[24];
                size_t n = (size_t)(sc->p - start);
                memcpy(tmp, start, n);
                tmp[n] = '\0';
                snprintf(out, size, "%lld", strtoll(tmp, NULL, 10));
                return 0;
        }
        return skip_value(sc) < 0 ? -EINVAL : -ENOENT;
}

int jsonx_member_scalar(const char *text, size_t len, const char *key, char *out,
                        size_t size)
{
        struct scan sc = { (const unsigned char *)text, (const unsigned char *)text + len, 1 };
        size_t klen = strlen(key);
        int found = -ENOENT, rc;

        if (size)
                out[0] = '\0';
        skip_ws(&sc);
        if (sc.p >= sc.end || *sc.p != '{')
                goto bad;
        sc.p++;
        skip_ws(&sc);
        if (sc.p < sc.end && *sc.p == '}') {
                sc.p++;
                goto end;
        }
        for (;;) {
                char name[64];
                size_t n;
                if (sc.p >= sc.end || *sc.p != '"' || read_string(&sc, name, sizeof(name), &n) < 0)
                        goto bad;
                skip_ws(&sc);
                if (sc.p >= sc.end || *sc.p++ != ':')
                        goto bad;
                skip_ws(&sc);
                if (n == klen && klen < sizeof(name) && memcmp(name, key, klen) == 0) {
                        /* A later one replaces it, as in jansson. */
                        if ((rc = read_scalar(&sc, out, size)) == -EINVAL)
                                goto bad;
                        found = rc;
                        if (rc < 0 && size)
                                out[0] = '\0';
                } else if (skip_value(&sc) < 0) {
                        goto bad;
                }
                skip_ws(&sc);
                if (sc.p >= sc.end)
                        goto bad;
                if (*sc.p == '}') {
                        sc.p++;
                        break;
                }
                if (*sc.p++ != ',')
                        goto bad;
                skip_ws(&sc);
        }
end:
        skip_ws(&sc);
        if (sc.p != sc.end)
                goto bad;
        return found;
bad:
        if (size)
                out[0] = '\0';
        return -EINVAL;
}
