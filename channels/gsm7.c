/* gsm7.c: which texts fit GSM 03.38 and how many SMS segments they take. */
#include "gsm7.h"

#include <stdint.h>
#include <string.h>

/* Septets of each ASCII character (0: not in GSM 03.38; 0x1B, the escape,
 * left out): the basic table's cost one, the extension table's two. A
 * table, because SMS texts are nearly all ASCII and this runs twice per
 * SMS (the template check and the send). */
static const unsigned char ascii_septets[128] = {
        ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
        ['@'] = 1, ['$'] = 1, ['\n'] = 1, ['\r'] = 1, ['_'] = 1, [' '] = 1, ['!'] = 1,
        ['"'] = 1, ['#'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['('] = 1, [')'] = 1,
        ['*'] = 1, ['+'] = 1, [','] = 1, ['-'] = 1, ['.'] = 1, ['/'] = 1, [':'] = 1,
        [';'] = 1, ['<'] = 1, ['='] = 1, ['>'] = 1, ['?'] = 1,
        ['\f'] = 2, ['^'] = 2, ['{'] = 2, ['}'] = 2, ['\\'] = 2, ['['] = 2, ['~'] = 2,
        [']'] = 2, ['|'] = 2,
};

/* The rest of the basic table and of the extension table, as UTF-8. */
static const char *const basic[] = {
        "£", "¥", "è", "é", "ù", "ì", "ò", "Ç", "Ø", "ø", "Å", "å", "Δ", "Φ", "Γ", "Λ",
        "Ω", "Π", "Ψ", "Σ", "Θ", "Ξ", "Æ", "æ", "ß", "É", "¤", "¡", "Ä", "Ö", "Ñ", "Ü",
        "§", "¿", "ä", "ö", "ñ", "ü", "à",
};
static const char *const extension[] = { "€" };

/* Decodes one UTF-8 sequence; returns its length (>= 1) and the code point
 * in *cp (U+FFFD for invalid input). */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
        if (s[0] < 0x80) {
                *cp = s[0];
                return 1;
        }
        size_t n = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
        if (n == 0) {
                *cp = 0xFFFD;
                return 1;
        }
        uint32_t c = s[0] & (0x7F >> n);
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xC0) != 0x80) {
                        *cp = 0xFFFD;
                        return i;
                }
                c = (c << 6) | (s[i] & 0x3F);
        }
        *cp = c;
        return n;
}

static bool in_table(const char *const *table, size_t n, const char *s, size_t len)
{
        for (size_t i = 0; i < n; i++)
                if (strlen(table[i]) == len && memcmp(table[i], s, len) == 0)
                        return true;
        return false;
}

void gsm7_count(const char *s, struct gsm7_count *out)
{
        size_t septets = 0, units = 0;
        bool gsm7 = true;

        for (const unsigned char *p = (const unsigned char *)s; *p;) {
                if (*p < 0x80) {
                        if (ascii_septets[*p])
                                septets += ascii_septets[*p];
                        else
                                gsm7 = false;
                        units++;
                        p++;
                        continue;
                }
                uint32_t cp;
                size_t len = utf8_next(p, &cp);
                if (in_table(basic, sizeof(basic) / sizeof(basic[0]), (const char *)p, len))
                        septets += 1;
                else if (in_table(extension, sizeof(extension) / sizeof(extension[0]),
                                  (const char *)p, len))
                        septets += 2;
                else
                        gsm7 = false;
                units += cp > 0xFFFF ? 2 : 1;
                p += len;
        }
        out->gsm7 = gsm7;
        out->units = gsm7 ? septets : units;
        size_t single = gsm7 ? 160 : 70, multi = gsm7 ? 153 : 67;
        if (out->units == 0)
                out->segments = 1;
        else
                out->segments = out->units <= single ? 1 : (out->units + multi - 1) / multi;
}
