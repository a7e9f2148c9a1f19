/* job.c: the reminder job (JSON version 1): parsing with jansson, validation
 * of every field with a "<field path>: <reason>" message, and the stable
 * reminder and job ids (SHA-256 via libcrypto). jansson stays in this file. */
#include "job.h"

#include "phone.h"

#include "civil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "buf.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo/"
#define AMOUNT_LIMIT INT64_C(10000000000000) /* 1e13 minor units */

/* ISO 4217 codes in use (iso-codes 4.15 plus ZWG and XCG, minus the
 * withdrawn HRK and the codes that are no money one can owe: precious
 * metals, bond units, the special drawing right and the testing and
 * "no currency" codes of the X series). */
static const char currencies[] =
        "AEDAFNALLAMDANGAOAARSAUDAWGAZNBAMBBDBDTBGNBHDBIFBMDBNDBOBBOVBRLBSD"
        "BTNBWPBYNBZDCADCDFCHECHFCHWCLFCLPCNYCOPCOUCRCCUCCUPCVECZKDJFDKKDOP"
        "DZDEGPERNETBEURFJDFKPGBPGELGHSGIPGMDGNFGTQGYDHKDHNLHTGHUFIDRILSINR"
        "IQDIRRISKJMDJODJPYKESKGSKHRKMFKPWKRWKWDKYDKZTLAKLBPLKRLRDLSLLYDMAD"
        "MDLMGAMKDMMKMNTMOPMRUMURMVRMWKMXNMXVMYRMZNNADNGNNIONOKNPRNZDOMRPAB"
        "PENPGKPHPPKRPLNPYGQARRONRSDRUBRWFSARSBDSCRSDGSEKSGDSHPSLESLLSOSSRD"
        "SSPSTNSVCSYPSZLTHBTJSTMTTNDTOPTRYTTDTWDTZSUAHUGXUSDUSNUYIUYUUYWUZS"
        "VEDVESVNDVUVWSTXAFXCDXCGXOFXPFYERZARZMWZWGZWL";

/* ISO 3166-1 alpha-2 (all 249 assigned codes). */
static const char countries[] =
        "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBT"
        "BVBWBYBZCACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEH"
        "ERESETFIFJFKFMFOFRGAGBGDGEGFGGGHGIGLGMGNGPGQGRGSGTGUGWGYHKHMHNHRHT"
        "HUIDIEILIMINIOIQIRISITJEJMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLS"
        "LTLULVLYMAMCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMTMUMVMWMXMYMZNANCNENFNGNI"
        "NLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPTPWPYQARERORSRURWSASBSCSDSESG"
        "SHSISJSKSLSMSNSOSRSSSTSVSXSYSZTCTDTFTGTHTJTKTLTMTNTOTRTTTVTWTZUAUG"
        "UMUSUYUZVAVCVEVGVIVNVUWFWSYEYTZAZMZW";

static const char *const channel_names[JOB_CHANNEL__N] = {
        [JOB_CHANNEL_EMAIL] = "email",
        [JOB_CHANNEL_SMS] = "sms",
        [JOB_CHANNEL_LETTER] = "letter",
};

const char *job_contact(const struct job *job, enum job_channel ch)
{
        return ch == JOB_CHANNEL_EMAIL ? job->customer.email
               : ch == JOB_CHANNEL_SMS ? job->customer.phone
                                       : NULL;
}

const char *job_channel_name(enum job_channel ch)
{
        if (ch < 0 || ch >= JOB_CHANNEL__N)
                return "none";
        return channel_names[ch];
}

enum job_channel job_channel_from_name(const char *name)
{
        for (int i = 0; name && i < JOB_CHANNEL__N; i++)
                if (strcmp(name, channel_names[i]) == 0)
                        return (enum job_channel)i;
        return JOB_CHANNEL_NONE;
}

/* ---- character classes and syntax checks ---- */

static bool in_table(const char *table, size_t width, const char *code)
{
        size_t n = strlen(table);

        if (strlen(code) != width)
                return false;
        for (size_t i = 0; i < width; i++)
                if (code[i] < 'A' || code[i] > 'Z')
                        return false;
        for (size_t i = 0; i + width <= n; i += width)
                if (memcmp(table + i, code, width) == 0)
                        return true;
        return false;
}

static bool is_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* 1..max characters of [A-Za-z0-9._-] */
static bool is_token(const char *s, size_t max)
{
        size_t n = strlen(s);

        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
                        return false;
        return true;
}

/* 1..max printable ASCII characters, no spaces */
static bool is_printable_word(const char *s, size_t max)
{
        size_t n = strlen(s);

        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
                        return false;
        return true;
}

bool job_utf8_valid(const char *s, size_t n)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0;

        while (i < n) {
                unsigned char c = p[i];
                size_t len;
                uint32_t cp;

                if (c < 0x80) {
                        i++;
                        continue;
                } else if (c >= 0xc2 && c <= 0xdf) {
                        len = 2;
                        cp = c & 0x1f;
                } else if (c >= 0xe0 && c <= 0xef) {
                        len = 3;
                        cp = c & 0x0f;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        len = 4;
                        cp = c & 0x07;
                } else {
                        return false;
                }
                if (n - i < len)
                        return false;
                for (size_t k = 1; k < len; k++) {
                        if ((p[i + k] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (p[i + k] & 0x3f);
                }
                if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
                    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                i += len;
        }
        return true;
}

/* C0 controls, DEL, C1 controls (U+0080..U+009F) and the Unicode line and
 * paragraph separators: anything that could break a header or a line. */
static bool has_control(const char *s)
{
        const unsigned char *p = (const unsigned char *)s;

        for (; *p; p++) {
                if (*p < 0x20 || *p == 0x7f)
                        return true;
                if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
                        return true;
                if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
                        return true;
        }
        return false;
}

/* 1..max bytes of UTF-8 text without control characters */
static bool is_text(const char *s, size_t max)
{
        size_t n = strlen(s);

        return n > 0 && n <= max && job_utf8_valid(s, n) && !has_control(s);
}

static bool valid_locale(const char *s)
{
        size_t n = strlen(s);

        if (n != 2 && n != 5)
                return false;
        if (s[0] < 'a' || s[0] > 'z' || s[1] < 'a' || s[1] > 'z')
                return false;
        if (n == 5 && (s[2] != '-' || s[3] < 'A' || s[3] > 'Z' || s[4] < 'A' || s[4] > 'Z'))
                return false;
        return true;
}

static bool is_atext(char c)
{
        return is_alnum(c) || (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

static bool valid_email(const char *s)
{
        size_t len = strlen(s);
        const char *at = strchr(s, '@');
        const char *d, *label;
        int labels = 0;
        bool numeric = true;

        if (len > 254 || !at || strchr(at + 1, '@'))
                return false;
        if (at == s || at - s > 64 || s[0] == '.' || at[-1] == '.')
                return false;
        for (const char *p = s; p < at; p++) {
                if (*p == '.' ? p[1] == '.' : !is_atext(*p))
                        return false;
        }
        label = d = at + 1;
        for (;; d++) {
                if (*d == '.' || *d == '\0') {
                        size_t n = (size_t)(d - label);
                        if (n == 0 || n > 63 || label[0] == '-' || d[-1] == '-')
                                return false;
                        labels++;
                        if (*d == '\0')
                                break;
                        label = d + 1;
                        numeric = true;
                        continue;
                }
                if (!is_alnum(*d) && *d != '-')
                        return false;
                if (!is_digit(*d))
                        numeric = false;
        }
        /* at least "domain.tld", and a top-level label is never all digits */
        return labels >= 2 && !numeric;
}

static bool valid_e164(const char *s)
{
        size_t n;

        if (s[0] != '+' || s[1] < '1' || s[1] > '9')
                return false;
        n = strlen(s + 1);
        if (n < 8 || n > 15)
                return false;
        for (size_t i = 1; i <= n; i++)
                if (!is_digit(s[i]))
                        return false;
        return true;
}

/* Zones found valid before, per thread: customers share a handful of
 * zones, and job_parse runs for every job. */
#define TZ_MEMO 16
static __thread char tz_memo[TZ_MEMO][65];
static __thread unsigned tz_memo_next;

static bool tz_checked_file(const char *s);

static bool valid_timezone(const char *s)
{
        for (int i = 0; i < TZ_MEMO; i++)
                if (tz_memo[i][0] && strcmp(tz_memo[i], s) == 0)
                        return true;
        if (!tz_checked_file(s))
                return false;
        snprintf(tz_memo[tz_memo_next++ % TZ_MEMO], sizeof(tz_memo[0]), "%s", s);
        return true;
}

/* s names a TZif file under ZONEINFO_DIR. */
static bool tz_checked_file(const char *s)
{
        size_t n = strlen(s);
        char path[sizeof(ZONEINFO_DIR) + 64], magic[4];
        struct stat st;
        bool ok = false;
        int fd;

        if (n == 0 || n > 64 || s[0] == '/' || strstr(s, "..") || strstr(s, "//"))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && !strchr("_+/-", s[i]))
                        return false;
        snprintf(path, sizeof(path), "%s%s", ZONEINFO_DIR, s);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return false;
        /* a zone is a TZif file, not just any file in the directory */
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
            read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
            memcmp(magic, "TZif", 4) == 0)
                ok = true;
        close(fd);
        return ok;
}

static int parse_digits(const char *s, int n)
{
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (!is_digit(s[i]))
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        return v;
}

static bool valid_date(const char *s)
{
        int64_t days;
        return civil_parse(s, &days) == 0;
}

int job_parse_time(const char *s, int64_t *ms)
{
        int h, mi, sec, frac_ms = 0, off = 0;
        char ymd[11];
        int64_t days;
        const char *p;

        if (!s || strnlen(s, 11) < 11)
                return -EINVAL;
        memcpy(ymd, s, 10);
        ymd[10] = '\0';
        if (civil_parse(ymd, &days) < 0)
                return -EINVAL;
        if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
                return -EINVAL;
        p = s + 11;
        if (strnlen(p, 8) < 8 || p[2] != ':' || p[5] != ':')
                return -EINVAL;
        h = parse_digits(p, 2);
        mi = parse_digits(p + 3, 2);
        sec = parse_digits(p + 6, 2);
        if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
                return -EINVAL;
        p += 8;
        if (*p == '.') {
                int digits = 0;
                for (p++; is_digit(*p); p++, digits++) {
                        if (digits < 3)
                                frac_ms = frac_ms * 10 + (*p - '0');
                }
                if (digits == 0)
                        return -EINVAL;
                for (; digits < 3; digits++)
                        frac_ms *= 10;
        }
        if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
                off = 0;
        } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
                int oh = parse_digits(p + 1, 2), om = parse_digits(p + 4, 2);
                if (oh < 0 || oh > 23 || om < 0 || om > 59)
                        return -EINVAL;
                off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
        } else {
                return -EINVAL;
        }
        *ms = (days * 86400 + h * 3600 + mi * 60 + sec - off) * 1000 + frac_ms;
        return 0;
}

char *job_format_time(int64_t ms, char out[32])
{
        int64_t secs = ms / 1000, rem = ms % 1000;
        struct tm tm;
        size_t n;
        time_t t;

        if (rem < 0) {
                rem += 1000;
                secs--;
        }
        t = (time_t)secs;
        if (!gmtime_r(&t, &tm)) {
                snprintf(out, 32, "1970-01-01T00:00:00Z");
                return out;
        }
        n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
        if (rem)
                snprintf(out + n, 32 - n, ".%03dZ", (int)rem);
        else
                snprintf(out + n, 32 - n, "Z");
        return out;
}

/* ---- ids ---- */

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* prefix + 16 hex digits of SHA-256(head "\0" sorted numbers joined by "\0") */
static void hash_id(char out[19], char prefix, const char *head, size_t head_len,
                    const char *const *numbers, size_t n)
{
        const char **sorted = xcalloc(n ? n : 1, sizeof(*sorted));
        unsigned char md[SHA256_DIGEST_LENGTH];
        static const char hex[] = "0123456789abcdef";
        struct buf b = BUF_INIT;

        if (n)
                memcpy(sorted, numbers, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), cmp_str);
        buf_append(&b, head, head_len);
        for (size_t i = 0; i < n; i++) {
                if (i)
                        buf_putc(&b, '\0');
                buf_puts(&b, sorted[i]);
        }
        /* The one-shot SHA256() skips the provider fetch that EVP_Digest
         * does on every call (a tenth of job_parse's time). */
        SHA256((const unsigned char *)b.data, b.len, md);
        out[0] = prefix;
        out[1] = '-';
        for (int i = 0; i < 8; i++) {
                out[2 + 2 * i] = hex[md[i] >> 4];
                out[3 + 2 * i] = hex[md[i] & 15];
        }
        out[18] = '\0';
        buf_free(&b);
        free(sorted);
}

void job_reminder_id(char out[19], const char *step, const char *const *numbers, size_t n)
{
        struct buf head = BUF_INIT;

        buf_puts(&head, step);
        buf_putc(&head, '\0');
        hash_id(out, 'r', head.data, head.len, numbers, n);
        buf_free(&head);
}

void job_id(char out[19], const char *campaign, const char *step,
            const char *const *numbers, size_t n)
{
        struct buf head = BUF_INIT;

        buf_puts(&head, campaign);
        buf_putc(&head, '\0');
        buf_puts(&head, step);
        buf_putc(&head, '\0');
        hash_id(out, 'j', head.data, head.len, numbers, n);
        buf_free(&head);
}

/* ---- validation ---- */

static int fail(struct error *err, const char *path, const char *reason)
{
        return error_set(err, -EINVAL, "%s: %s", path, reason);
}

/* A member that is absent or null counts as absent. */
static json_t *member(json_t *obj, const char *key)
{
        json_t *v = json_object_get(obj, key);

        return v && !json_is_null(v) ? v : NULL;
}

/* Borrows the string at obj.key into *out (NULL when absent and optional). */
static int get_string(json_t *obj, const char *key, const char *path, bool required,
                      const char **out, struct error *err)
{
        json_t *v = member(obj, key);

        *out = NULL;
        if (!v)
                return required ? fail(err, path, "required") : 0;
        if (!json_is_string(v))
                return fail(err, path, "must be a string");
        *out = json_string_value(v);
        return 0;
}

static char *dup_or_null(const char *s)
{
        return s ? xstrdup(s) : NULL;
}

static int parse_address(struct job_address *a, json_t *obj, struct error *err)
{
        json_t *lines = member(obj, "lines");
        const char *s;
        char path[64];
        size_t n;
        int r;

        if (!json_is_object(obj))
                return fail(err, "customer.address", "must be an object");
        if (!lines)
                return fail(err, "customer.address.lines", "required");
        n = json_is_array(lines) ? json_array_size(lines) : 0;
        if (n < 1 || n > 4)
                return fail(err, "customer.address.lines", "must be an array of 1 to 4 lines");
        a->lines = xcalloc(n + 1, sizeof(*a->lines));
        for (size_t i = 0; i < n; i++) {
                json_t *l = json_array_get(lines, i);
                snprintf(path, sizeof(path), "customer.address.lines[%zu]", i);
                if (!json_is_string(l))
                        return fail(err, path, "must be a string");
                if (!is_text(json_string_value(l), 100))
                        return fail(err, path,
                                    "must be 1-100 characters of UTF-8 text without control characters");
                a->lines[i] = xstrdup(json_string_value(l));
                a->n_lines++;
        }
        r = get_string(obj, "postal_code", "customer.address.postal_code", true, &s, err);
        if (r < 0)
                return r;
        if (!is_text(s, 20))
                return fail(err, "customer.address.postal_code",
                            "must be 1-20 characters without control characters");
        a->postal_code = xstrdup(s);
        r = get_string(obj, "city", "customer.address.city", true, &s, err);
        if (r < 0)
                return r;
        if (!is_text(s, 100))
                return fail(err, "customer.address.city",
                            "must be 1-100 characters of UTF-8 text without control characters");
        a->city = xstrdup(s);
        r = get_string(obj, "country", "customer.address.country", true, &s, err);
        if (r < 0)
                return r;
        if (!in_table(countries, 2, s))
                return fail(err, "customer.address.country",
                            "not an ISO 3166-1 alpha-2 country code (upper case, e.g. NL)");
        a->country = xstrdup(s);
        return 0;
}

static int get_consent(json_t *consent, const char *key, const char *path, bool *out,
                       struct error *err)
{
        json_t *v = member(consent, key);

        *out = true;
        if (!v)
                return 0;
        if (!json_is_boolean(v))
                return fail(err, path, "must be true or false");
        *out = json_is_true(v);
        return 0;
}

static int parse_customer(struct job_customer *c, json_t *obj, struct error *err)
{
        json_t *v;
        const char *s;
        int r;

        if (!obj)
                return fail(err, "customer", "required");
        if (!json_is_object(obj))
                return fail(err, "customer", "must be an object");

        if ((r = get_string(obj, "id", "customer.id", true, &s, err)) < 0)
                return r;
        if (!is_printable_word(s, 64))
                return fail(err, "customer.id", "must be 1-64 printable characters without spaces");
        c->id = xstrdup(s);

        if ((r = get_string(obj, "name", "customer.name", true, &s, err)) < 0)
                return r;
        if (strlen(s) == 0 || strlen(s) > 200)
                return fail(err, "customer.name", "must be 1-200 bytes");
        if (!job_utf8_valid(s, strlen(s)))
                return fail(err, "customer.name", "not valid UTF-8");
        if (has_control(s))
                return fail(err, "customer.name",
                            "must not contain control characters (CR, LF, TAB, ...)");
        c->name = xstrdup(s);

        if ((r = get_string(obj, "locale", "customer.locale", true, &s, err)) < 0)
                return r;
        if (!valid_locale(s))
                return fail(err, "customer.locale", "must be a locale like nl or nl-NL");
        c->locale = xstrdup(s);

        if ((r = get_string(obj, "segment", "customer.segment", false, &s, err)) < 0)
                return r;
        if (s && !is_token(s, 64))
                return fail(err, "customer.segment",
                            "must be 1-64 characters from A-Z a-z 0-9 . _ -");
        c->segment = dup_or_null(s);

        if ((r = get_string(obj, "email", "customer.email", false, &s, err)) < 0)
                return r;
        if (s && !valid_email(s))
                return fail(err, "customer.email", "not a valid e-mail address");
        c->email = dup_or_null(s);

        if ((r = get_string(obj, "phone", "customer.phone", false, &s, err)) < 0)
                return r;
        if (s && !valid_e164(s))
                return fail(err, "customer.phone", "not a valid E.164 number");
        c->phone = dup_or_null(s);

        if ((v = member(obj, "address"))) {
                c->has_address = true;
                if ((r = parse_address(&c->address, v, err)) < 0)
                        return r;
        }

        c->preferred_channel = JOB_CHANNEL_NONE;
        if ((r = get_string(obj, "preferred_channel", "customer.preferred_channel", false, &s,
                            err)) < 0)
                return r;
        if (s) {
                c->preferred_channel = job_channel_from_name(s);
                if (c->preferred_channel == JOB_CHANNEL_NONE)
                        return fail(err, "customer.preferred_channel",
                                    "must be email, sms or letter");
        }

        c->consent_email = c->consent_sms = true;
        if ((v = member(obj, "consent"))) {
                if (!json_is_object(v))
                        return fail(err, "customer.consent", "must be an object");
                if ((r = get_consent(v, "email", "customer.consent.email", &c->consent_email,
                                     err)) < 0)
                        return r;
                if ((r = get_consent(v, "sms", "customer.consent.sms", &c->consent_sms, err)) < 0)
                        return r;
        }

        if ((r = get_string(obj, "timezone", "customer.timezone", false, &s, err)) < 0)
                return r;
        if (s && !valid_timezone(s))
                return fail(err, "customer.timezone", "not a known IANA time zone");
        c->timezone = dup_or_null(s);
        return 0;
}

static int parse_invoice(struct job_invoice *inv, json_t *obj, size_t i, struct error *err)
{
        char path[64];
        const char *s;
        json_t *v;
        int r;

#define PATH(field) (snprintf(path, sizeof(path), "invoices[%zu]%s", i, field), path)
        if (!json_is_object(obj))
                return fail(err, PATH(""), "must be an object");

        if ((r = get_string(obj, "number", PATH(".number"), true, &s, err)) < 0)
                return r;
        if (!is_printable_word(s, 64))
                return fail(err, path, "must be 1-64 printable characters without spaces");
        inv->number = xstrdup(s);

        v = member(obj, "amount_cents");
        if (!v)
                return fail(err, PATH(".amount_cents"), "required");
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
                return fail(err, PATH(".amount_cents"), "must be a positive integer (minor units)");
        if (json_integer_value(v) >= AMOUNT_LIMIT)
                return fail(err, PATH(".amount_cents"), "must be less than 10000000000000");
        inv->amount_cents = json_integer_value(v);

        if ((r = get_string(obj, "currency", PATH(".currency"), true, &s, err)) < 0)
                return r;
        if (!in_table(currencies, 3, s))
                return fail(err, path, "not an active ISO 4217 currency code");
        memcpy(inv->currency, s, 4);

        if ((r = get_string(obj, "issued", PATH(".issued"), false, &s, err)) < 0)
                return r;
        if (s && !valid_date(s))
                return fail(err, path, "not a valid date (YYYY-MM-DD)");
        if (s)
                memcpy(inv->issued, s, 11);

        if ((r = get_string(obj, "due", PATH(".due"), true, &s, err)) < 0)
                return r;
        if (!valid_date(s))
                return fail(err, path, "not a valid date (YYYY-MM-DD)");
        memcpy(inv->due, s, 11);
#undef PATH
        return 0;
}

static int parse_invoices(struct job *j, json_t *arr, struct error *err)
{
        char path[64];
        size_t n;
        int r;

        if (!arr)
                return fail(err, "invoices", "required");
        if (!json_is_array(arr))
                return fail(err, "invoices", "must be an array");
        n = json_array_size(arr);
        if (n < 1 || n > JOB_MAX_INVOICES)
                return fail(err, "invoices", "must contain 1 to 100 invoices");
        j->invoices = xcalloc(n, sizeof(*j->invoices));
        for (size_t i = 0; i < n; i++) {
                struct job_invoice *inv = &j->invoices[i];

                r = parse_invoice(inv, json_array_get(arr, i), i, err);
                j->n_invoices = i + 1;  /* so job_free frees what was parsed */
                if (r < 0)
                        return r;
                for (size_t k = 0; k < i; k++) {
                        if (strcmp(j->invoices[k].number, inv->number) == 0) {
                                snprintf(path, sizeof(path), "invoices[%zu].number", i);
                                return error_set(err, -EINVAL, "%s: duplicate of invoices[%zu]",
                                                 path, k);
                        }
                }
                if (i > 0 && strcmp(inv->currency, j->invoices[0].currency) != 0) {
                        snprintf(path, sizeof(path), "invoices[%zu].currency", i);
                        return fail(err, path, "differs from invoices[0] (one currency per job)");
                }
        }
        return 0;
}

static void compute_ids(struct job *j)
{
        const char **numbers = xcalloc(j->n_invoices, sizeof(*numbers));

        for (size_t i = 0; i < j->n_invoices; i++)
                numbers[i] = j->invoices[i].number;
        if (j->installment) {
                char step[160];
                snprintf(step, sizeof(step), "%s#%s#%d", j->step, j->installment->arrangement,
                         j->installment->number);
                job_reminder_id(j->reminder_id, step, numbers, j->n_invoices);
        } else {
                job_reminder_id(j->reminder_id, j->step, numbers, j->n_invoices);
        }
        job_id(j->job_id, j->campaign, j->step, numbers, j->n_invoices);
        free(numbers);
}

static int parse_installment(struct job *j, json_t *v, struct error *err);

static int parse_root(struct job *j, json_t *root, struct error *err)
{
        const char *s;
        json_t *v;
        int r;

        v = member(root, "v");
        if (!v)
                return fail(err, "v", "required");
        if (!json_is_integer(v) || json_integer_value(v) != 1)
                return fail(err, "v", "must be 1");
        j->v = 1;

        if ((r = get_string(root, "campaign", "campaign", true, &s, err)) < 0)
                return r;
        if (!is_token(s, 64))
                return fail(err, "campaign", "must be 1-64 characters from A-Z a-z 0-9 . _ -");
        j->campaign = xstrdup(s);

        if ((r = get_string(root, "step", "step", true, &s, err)) < 0)
                return r;
        if (!is_token(s, 64))
                return fail(err, "step", "must be 1-64 characters from A-Z a-z 0-9 . _ -");
        j->step = xstrdup(s);

        if ((r = parse_customer(&j->customer, member(root, "customer"), err)) < 0)
                return r;
        if ((r = parse_invoices(j, member(root, "invoices"), err)) < 0)
                return r;

        if ((r = get_string(root, "not_before", "not_before", false, &s, err)) < 0)
                return r;
        if (s && job_parse_time(s, &j->not_before_ms) < 0)
                return fail(err, "not_before",
                            "not a valid RFC 3339 time (e.g. 2026-11-23T09:00:00+01:00)");
        if (s && j->not_before_ms <= 0)
                return fail(err, "not_before", "must be after 1970-01-01T00:00:00Z");

        if ((v = member(root, "attempt"))) {
                if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                    json_integer_value(v) > INT_MAX)
                        return fail(err, "attempt", "must be an integer >= 0");
                j->attempt = (int)json_integer_value(v);
        }
        if ((v = member(root, "holdout"))) {
                double h = json_is_number(v) ? json_number_value(v) : -1;
                if (!(h >= 0 && h <= 0.5))
                        return fail(err, "holdout", "must be a number from 0 to 0.5");
                j->holdout = h;
        }
        if ((v = member(root, "flow"))) {
                if (!json_is_string(v) || !is_token(json_string_value(v), 64))
                        return fail(err, "flow", "must be 1-64 characters from A-Z a-z 0-9 . _ -");
                j->flow = xstrdup(json_string_value(v));
        }
        if ((v = member(root, "installment")) && (r = parse_installment(j, v, err)) < 0)
                return r;
        if ((v = member(root, "skip_channels"))) {
                size_t i;
                json_t *c;
                if (!json_is_array(v))
                        return fail(err, "skip_channels", "must be a list of channel names");
                json_array_foreach(v, i, c) {
                        enum job_channel ch = json_is_string(c)
                                                      ? job_channel_from_name(json_string_value(c))
                                                      : JOB_CHANNEL_NONE;
                        if (ch == JOB_CHANNEL_NONE)
                                return fail(err, "skip_channels",
                                            "must be a list of email, sms, letter");
                        j->skip[ch] = true;
                }
        }
        return 0;
}

/* "installment": {"arrangement", "number", "of", "amount_cents",
 * "cum_cents", "base_paid_cents", "due"}, written by dunningctl arrange. */
static int parse_installment(struct job *j, json_t *v, struct error *err)
{
        int64_t number, of;
        struct job_installment *in;
        const char *s;
        int64_t d;

        if (!json_is_object(v))
                return fail(err, "installment", "must be an object");
        in = j->installment = xcalloc(1, sizeof(*in));
        s = json_string_value(member(v, "arrangement"));
        if (!s || !is_token(s, 64))
                return fail(err, "installment.arrangement",
                            "must be 1-64 characters from A-Z a-z 0-9 . _ -");
        in->arrangement = xstrdup(s);
        static const char *const keys[] = { "number", "of", "amount_cents", "cum_cents" };
        int64_t *to[] = { &number, &of, &in->amount_cents, &in->cum_cents };
        for (size_t i = 0; i < 4; i++) {
                json_t *x = member(v, keys[i]);
                char path[48];
                snprintf(path, sizeof(path), "installment.%s", keys[i]);
                if (!json_is_integer(x) || json_integer_value(x) < 1 ||
                    json_integer_value(x) > INT64_C(1000000000000000))
                        return fail(err, path, "must be a positive integer");
                *to[i] = json_integer_value(x);
        }
        if (number > of || of > 1000)
                return fail(err, "installment.number", "must be 1 to \"of\" (at most 1000)");
        in->number = (int)number;
        in->of = (int)of;
        json_t *base = member(v, "base_paid_cents");
        if (base && (!json_is_integer(base) || json_integer_value(base) < 0))
                return fail(err, "installment.base_paid_cents", "must be an integer >= 0");
        in->base_paid_cents = base ? json_integer_value(base) : 0;
        s = json_string_value(member(v, "due"));
        if (!s || civil_parse(s, &d) < 0)
                return fail(err, "installment.due", "not a valid date (YYYY-MM-DD)");
        memcpy(in->due, s, 11);
        return 0;
}

static json_t *load(const char *json, size_t len, struct error *err)
{
        json_error_t jerr;
        json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);

        if (!root)
                error_set(err, -EINVAL, "not valid JSON at line %d column %d: %s", jerr.line,
                          jerr.column, jerr.text);
        return root;
}

int job_parse(struct job **out, const char *json, size_t len, struct error *err)
{
        struct job *j = NULL;
        json_t *root = NULL;
        int r;

        *out = NULL;
        if (!json)
                return error_set(err, -EINVAL, "job: no text");
        if (len > JOB_MAX_BYTES) {
                return error_set(err, -EINVAL, "job: larger than %d bytes (%zu)", JOB_MAX_BYTES,
                                 len);
        }
        /* jansson 2.14 lets a NUL byte after a number through
         * ({"amount_cents":12\0,...} loads), but the kept text (j->json)
         * and every text made from it end at the NUL: such a job parsed
         * here could not be retried or dead-lettered whole. Found by
         * tests/fuzz/fuzz-job.c. */
        if (memchr(json, '\0', len))
                return error_set(err, -EINVAL, "job: contains a NUL byte");
        root = load(json, len, err);
        if (!root) {
                error_prefix(err, "job");
                return -EINVAL;
        }
        if (!json_is_object(root)) {
                /* jansson takes any array; the text still is not a job */
                r = error_set(err, -EINVAL,
                              "job: not valid JSON at line 1 column 1: '{' expected, found an array");
                goto out;
        }
        j = xcalloc(1, sizeof(*j));
        j->customer.preferred_channel = JOB_CHANNEL_NONE;
        r = parse_root(j, root, err);
        if (r < 0)
                goto out;
        compute_ids(j);
        j->json = xstrndup(json, len);
        *out = j;
        j = NULL;
out:
        job_free(j);
        json_decref(root);
        return r;
}

void job_free(struct job *job)
{
        if (!job)
                return;
        free(job->campaign);
        free(job->step);
        free(job->customer.id);
        free(job->customer.name);
        free(job->customer.locale);
        free(job->customer.segment);
        free(job->flow);
        if (job->installment)
                free(job->installment->arrangement);
        free(job->installment);
        free(job->customer.email);
        free(job->customer.phone);
        free(job->customer.timezone);
        for (size_t i = 0; i < job->customer.address.n_lines; i++)
                free(job->customer.address.lines[i]);
        free(job->customer.address.lines);
        free(job->customer.address.postal_code);
        free(job->customer.address.city);
        free(job->customer.address.country);
        for (size_t i = 0; i < job->n_invoices; i++)
                free(job->invoices[i].number);
        free(job->invoices);
        free(job->json);
        free(job);
}

/* Dumps compactly in key order into a string the caller frees with free(). */
static char *dump(json_t *v)
{
        char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        char *copy;

        if (!s)
                return NULL;
        copy = xstrdup(s);
        free(s);
        return copy;
}

char *job_json_with_attempt(const struct job *job, int attempt)
{
        json_t *root = job ? load(job->json, strlen(job->json), NULL) : NULL;
        char *s = NULL;

        if (!root)
                return NULL;
        /* A slot pays for the one attempt it names: a retry, or a dead
         * letter tried again from attempt 0, is another send and is
         * charged for itself. */
        json_object_del(root, JOB_RATE_SLOT);
        if (json_is_object(root) &&
            json_object_set_new(root, "attempt", json_integer(attempt)) == 0)
                s = dump(root);
        json_decref(root);
        return s;
}

/* job's text for step at not_before_ms (job_json_for_step,
 * job_json_later). "attempt" always starts again; "skip_channels" is about
 * one reminder (one step), so it goes with the step it was written for. */
static char *json_rescheduled(const struct job *job, const char *step, int64_t not_before_ms,
                              const char *flow, bool same_step)
{
        json_t *root = job ? load(job->json, strlen(job->json), NULL) : NULL;
        char when[32];
        char *s = NULL;

        if (!root)
                return NULL;
        json_object_del(root, "attempt");
        if (!same_step)
                json_object_del(root, "skip_channels");
        if (flow && json_object_set_new(root, "flow", json_string(flow)) < 0) {
                json_decref(root);
                return NULL;
        }
        if (json_is_object(root) && json_object_set_new(root, "step", json_string(step)) == 0 &&
            json_object_set_new(root, "not_before",
                                json_string(job_format_time(not_before_ms, when))) == 0)
                s = dump(root);
        json_decref(root);
        return s;
}

char *job_json_for_step(const struct job *job, const char *step, int64_t not_before_ms,
                        const char *flow)
{
        return json_rescheduled(job, step, not_before_ms, flow, false);
}

char *job_json_later(const struct job *job, int64_t not_before_ms)
{
        return job ? json_rescheduled(job, job->step, not_before_ms, NULL, true) : NULL;
}

char *job_json_with_skip(const struct job *job, enum job_channel ch)
{
        json_t *root = job ? load(job->json, strlen(job->json), NULL) : NULL;
        char *s = NULL;

        if (!root)
                return NULL;
        json_t *list = json_array();
        for (int c = 0; c < JOB_CHANNEL__N; c++)
                if (job->skip[c] || c == (int)ch)
                        json_array_append_new(list, json_string(job_channel_name((enum job_channel)c)));
        if (json_is_object(root) && json_object_set_new(root, "skip_channels", list) == 0 &&
            json_object_set_new(root, "attempt", json_integer(0)) == 0)
                s = dump(root);
        json_decref(root);
        return s;
}

char *job_json_rewrite(const char *json, size_t len, int64_t not_before_ms,
                       const char *default_country)
{
        json_t *root = load(json, len, NULL);
        char when[32];
        char *s = NULL;

        if (!root)
                return NULL;
        if (!json_is_object(root))
                goto out;
        /* Only a worker that reserved a slot writes one; taken from a file
         * it would let the job past the provider's rate limit uncharged. */
        json_object_del(root, JOB_RATE_SLOT);
        json_t *customer = json_object_get(root, "customer");
        json_t *phone = json_object_get(customer, "phone");
        char e164[PHONE_E164_SIZE];
        struct error perr;
        /* 06-12345678 -> +31612345678; what cannot be made E.164 stays, and
         * job_parse names it. */
        if (default_country && json_is_string(phone) && !valid_e164(json_string_value(phone)) &&
            phone_normalize(json_string_value(phone), default_country, e164, NULL, &perr) == 0)
                json_object_set_new(customer, "phone", json_string(e164));
        if (not_before_ms > 0 &&
            json_object_set_new(root, "not_before",
                                json_string(job_format_time(not_before_ms, when))) < 0)
                goto out;
        s = dump(root);
out:
        json_decref(root);
        return s;
}

int job_json_split_array(char ***elems, size_t *n, const char *json, size_t len,
                         struct error *err)
{
        json_t *root = load(json, len, err);
        char **list = NULL;
        size_t count = 0;
        int r = 0;

        *elems = NULL;
        *n = 0;
        if (!root)
                return -EINVAL;
        if (!json_is_array(root)) {
                r = error_set(err, -EINVAL, "not a JSON array");
                goto out;
        }
        count = json_array_size(root);
        list = xcalloc(count ? count : 1, sizeof(*list));
        for (size_t i = 0; i < count; i++) {
                list[i] = dump(json_array_get(root, i));
                if (!list[i])
                        list[i] = xstrdup("null");
        }
        *elems = list;
        *n = count;
out:
        json_decref(root);
        return r;
}
