/* phone.c: phone numbers as written by people and ERP exports, to E.164.
 *
 * libphonenumber is the reference for this job, but it is C++ (and Java,
 * JS) only: no C API to link from here. What we need is small: the NL
 * metadata below is its production metadata for territory NL (see
 * ../shared/conformance/phone-e164.md for the source), and for other
 * countries a table of calling codes, international and trunk prefixes, so
 * that national numbers of the configured default country and the "(0)"
 * notation come out right. Numbers of those countries are PHONE_UNKNOWN:
 * without their metadata we know the shape, not the kind.
 *
 * Pure: no I/O. The NL patterns are compiled once (POSIX ERE, thread-safe
 * to match from several workers). */
#include "phone.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* E.164: at most 15 digits after "+"; fewer than 8 is no subscriber number
 * of any table country but NL's short UAN range (checked by its metadata). */
#define E164_MAX_DIGITS 15
#define E164_MIN_DIGITS 8
/* Digits read from the input before giving up (prefixes included). */
#define MAX_INPUT_DIGITS 24

struct country {
        char iso[3];
        const char *cc;        /* calling code */
        const char *intl;      /* international prefix dialled from there */
        const char *trunk[2];  /* national (trunk) prefixes; NULL: none */
        unsigned char nsn_min, nsn_max;  /* national number length; 0: not known */
};

/* EU/EEA, GB, CH, US/CA. Trunk prefixes as libphonenumber has them for
 * parsing (Lithuania: "0" since 2025, "8" before it; Hungary "06"); Italy,
 * Spain, Poland, ... have none (Italy's leading 0 is part of the number). */
static const struct country countries[] = {
        { "AT", "43", "00", { "0", NULL }, 0, 0 },
        { "BE", "32", "00", { "0", NULL }, 0, 0 },
        { "BG", "359", "00", { "0", NULL }, 0, 0 },
        { "CH", "41", "00", { "0", NULL }, 0, 0 },
        { "CY", "357", "00", { NULL, NULL }, 0, 0 },
        { "CZ", "420", "00", { NULL, NULL }, 0, 0 },
        { "DE", "49", "00", { "0", NULL }, 0, 0 },
        { "DK", "45", "00", { NULL, NULL }, 0, 0 },
        { "EE", "372", "00", { NULL, NULL }, 0, 0 },
        { "ES", "34", "00", { NULL, NULL }, 0, 0 },
        { "FI", "358", "00", { "0", NULL }, 0, 0 },
        { "FR", "33", "00", { "0", NULL }, 0, 0 },
        { "GB", "44", "00", { "0", NULL }, 0, 0 },
        { "GR", "30", "00", { NULL, NULL }, 0, 0 },
        { "HR", "385", "00", { "0", NULL }, 0, 0 },
        { "HU", "36", "00", { "06", NULL }, 0, 0 },
        { "IE", "353", "00", { "0", NULL }, 0, 0 },
        { "IS", "354", "00", { NULL, NULL }, 0, 0 },
        { "IT", "39", "00", { NULL, NULL }, 0, 0 },
        { "LI", "423", "00", { "0", NULL }, 0, 0 },
        { "LT", "370", "00", { "0", "8" }, 0, 0 },
        { "LU", "352", "00", { NULL, NULL }, 0, 0 },
        { "LV", "371", "00", { NULL, NULL }, 0, 0 },
        { "MT", "356", "00", { NULL, NULL }, 0, 0 },
        { "NL", "31", "00", { "0", NULL }, 5, 11 },
        { "NO", "47", "00", { NULL, NULL }, 0, 0 },
        { "PL", "48", "00", { NULL, NULL }, 0, 0 },
        { "PT", "351", "00", { NULL, NULL }, 0, 0 },
        { "RO", "40", "00", { "0", NULL }, 0, 0 },
        { "SE", "46", "00", { "0", NULL }, 0, 0 },
        { "SI", "386", "00", { "0", NULL }, 0, 0 },
        { "SK", "421", "00", { "0", NULL }, 0, 0 },
        /* NANP: one calling code for both, 10-digit national numbers whose
         * area code does not start with 0 or 1. */
        { "US", "1", "011", { "1", NULL }, 10, 10 },
        { "CA", "1", "011", { "1", NULL }, 10, 10 },
};

#define N_COUNTRIES (sizeof(countries) / sizeof(countries[0]))

/* libphonenumber NL metadata (PhoneNumberMetadata.xml, territory NL),
 * rewritten from PCRE to POSIX ERE: \d -> [0-9], (?: -> (. Anchored. */
static const struct {
        enum phone_kind kind;
        const char *re;
} nl_types[] = {
        { PHONE_MOBILE, "^(6[1-58]|970[0-9])[0-9]{7}$" },
        { PHONE_FIXED,
          "^(1([035][0-9]|1[13-578]|6[124-8]|7[24]|8[0-467])|2([0346][0-9]|2[2-46-9]|5[125]|"
          "9[479])|3([03568][0-9]|1[3-8]|2[01]|4[1-8])|4([0356][0-9]|1[1-368]|7[58]|8[15-8]|"
          "9[23579])|5([0358][0-9]|[19][1-9]|2[1-57-9]|4[13-8]|6[126]|7[0-3578])|7[0-9][0-9])"
          "[0-9]{6}$" },
        { PHONE_OTHER, "^800[0-9]{4,7}$" },             /* toll free */
        { PHONE_OTHER, "^90[069][0-9]{4,7}$" },         /* premium rate */
        { PHONE_OTHER, "^(85|91)[0-9]{7}$" },           /* VoIP */
        { PHONE_OTHER, "^66[0-9]{7}$" },                /* pager */
        { PHONE_OTHER,                                  /* UAN */
          "^(140(1[035]|2[0346]|3[03568]|4[0356]|5[0358]|8[458])|(140(1[16-8]|2[259]|3[124]|"
          "4[17-9]|5[124679]|7)|8[478][0-9]{6})[0-9])$" },
};

#define N_NL_TYPES (sizeof(nl_types) / sizeof(nl_types[0]))

static regex_t nl_re[N_NL_TYPES];
static int nl_re_rc;
static pthread_once_t nl_once = PTHREAD_ONCE_INIT;

static void nl_compile(void)
{
        for (size_t i = 0; i < N_NL_TYPES; i++)
                if (regcomp(&nl_re[i], nl_types[i].re, REG_EXTENDED | REG_NOSUB) != 0)
                        nl_re_rc = -1;
}

/* The kind of an NL national significant number, or -1 when it is in no
 * number range of the metadata. */
static int nl_kind(const char *nsn)
{
        for (size_t i = 0; i < N_NL_TYPES; i++)
                if (regexec(&nl_re[i], nsn, 0, NULL, 0) == 0)
                        return (int)nl_types[i].kind;
        return -1;
}

static const struct country *by_iso(const char *iso)
{
        for (size_t i = 0; iso && i < N_COUNTRIES; i++)
                if (strcasecmp(countries[i].iso, iso) == 0)
                        return &countries[i];
        return NULL;
}

/* Calling codes are prefix-free (ITU assigns them so): the first match is
 * the only one. */
static const struct country *by_cc(const char *digits)
{
        for (size_t i = 0; i < N_COUNTRIES; i++)
                if (strncmp(digits, countries[i].cc, strlen(countries[i].cc)) == 0)
                        return &countries[i];
        return NULL;
}

static bool starts_with(const char *s, const char *prefix)
{
        return prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

static const char *label(const struct country *c)
{
        return strcmp(c->cc, "1") == 0 ? "US/CA" : c->iso;
}

/* Checks an NL national number against the metadata; on failure tells a
 * number that would fit with more digits (too short) or fewer (too long)
 * from one in no range at all. */
static int check_nl(const char *nsn, enum phone_kind *kind, struct error *err)
{
        size_t len = strlen(nsn);
        char probe[16];
        int k;

        if (nl_re_rc < 0)
                return error_set(err, -EINVAL, "phone: NL metadata did not compile");
        if (len < 5)
                return error_set(err, -EINVAL, "phone: too short for NL");
        if (len > 11)
                return error_set(err, -EINVAL, "phone: too long for NL");
        if ((k = nl_kind(nsn)) >= 0) {
                *kind = (enum phone_kind)k;
                return 0;
        }
        for (size_t n = len + 1; n <= 11; n++) {
                memcpy(probe, nsn, len);
                memset(probe + len, '0', n - len);
                probe[n] = '\0';
                if (nl_kind(probe) >= 0)
                        return error_set(err, -EINVAL, "phone: too short for NL");
        }
        for (size_t n = len - 1; n >= 5; n--) {
                memcpy(probe, nsn, n);
                probe[n] = '\0';
                if (nl_kind(probe) >= 0)
                        return error_set(err, -EINVAL, "phone: too long for NL");
        }
        return error_set(err, -EINVAL, "phone: not in any NL number range");
}

/* Length and leading digit checks for a table country without metadata. */
static int check_other(const struct country *c, const char *nsn, struct error *err)
{
        size_t len = strlen(nsn), total = strlen(c->cc) + len;

        if ((c->nsn_min && len < c->nsn_min) || total < E164_MIN_DIGITS)
                return error_set(err, -EINVAL, "phone: too short for %s", label(c));
        if ((c->nsn_max && len > c->nsn_max) || total > E164_MAX_DIGITS)
                return error_set(err, -EINVAL, "phone: too long for %s", label(c));
        /* After the trunk prefix is gone a 0 cannot follow where the
         * country has one; a NANP area code starts with 2-9. */
        if ((c->trunk[0] && c->trunk[0][0] == '0' && nsn[0] == '0') ||
            (strcmp(c->cc, "1") == 0 && nsn[0] < '2'))
                return error_set(err, -EINVAL, "phone: not a valid %s number", label(c));
        return 0;
}

/* Reads the digits of in into d (NUL-terminated); *plus says whether it
 * started with "+", *zero_paren where a "(0)" put its 0 (or -1). */
static int scan(const char *in, char d[MAX_INPUT_DIGITS + 1], bool *plus, int *zero_paren,
                struct error *err)
{
        size_t n = 0;
        const char *p = in;

        *plus = false;
        *zero_paren = -1;
        while (*p == ' ' || *p == '\t')
                p++;
        if (*p == '+') {
                *plus = true;
                p++;
        }
        for (; *p; p++) {
                unsigned char c = (unsigned char)*p;
                if (isdigit(c) || (c == '(' && p[1] == '0' && p[2] == ')')) {
                        if (n >= MAX_INPUT_DIGITS)
                                return error_set(err, -EINVAL,
                                                 "phone: too long (E.164 allows 15 digits)");
                        if (c == '(') {
                                *zero_paren = (int)n;
                                p += 2;
                                c = '0';
                        }
                        d[n++] = (char)c;
                } else if (c == 0xc2 && (unsigned char)p[1] == 0xa0) {
                        p++;  /* no-break space, as word processors write it */
                } else if (c == '+') {
                        return error_set(err, -EINVAL, "phone: '+' is allowed only at the start");
                } else if (!strchr(" \t-./()", c)) {
                        if (isprint(c))
                                return error_set(err, -EINVAL, "phone: unexpected character '%c'",
                                                 c);
                        return error_set(err, -EINVAL, "phone: unexpected byte 0x%02x", c);
                }
        }
        d[n] = '\0';
        if (n == 0)
                return error_set(err, -EINVAL, in[0] ? "phone: no digits" : "phone: empty");
        return 0;
}

/* Strips the first trunk prefix of c that nsn starts with; only those
 * starting with 0 when the number came with its country code ("+31 06...":
 * people write it; "+1 1..." nobody does). */
static const char *strip_trunk(const struct country *c, const char *nsn, bool intl)
{
        for (int i = 0; i < 2 && c->trunk[i]; i++)
                if ((!intl || c->trunk[i][0] == '0') && starts_with(nsn, c->trunk[i]))
                        return nsn + strlen(c->trunk[i]);
        return nsn;
}

int phone_normalize(const char *in, const char *default_country, char out[PHONE_E164_SIZE],
                    enum phone_kind *kind, struct error *err)
{
        char d[MAX_INPUT_DIGITS + 1];
        bool plus;
        int zero_paren, rc;
        enum phone_kind k = PHONE_UNKNOWN;
        const struct country *home = NULL, *c;
        const char *digits, *nsn;

        out[0] = '\0';
        pthread_once(&nl_once, nl_compile);
        if (!in)
                return error_set(err, -EINVAL, "phone: empty");
        if ((rc = scan(in, d, &plus, &zero_paren, err)) < 0)
                return rc;
        if (default_country && *default_country && !(home = by_iso(default_country)))
                return error_set(err, -EINVAL, "phone: default country %.8s is not known here",
                                 default_country);

        digits = d;
        bool intl = plus;
        if (!intl) {
                const char *ip = home ? home->intl : "00";
                if (starts_with(d, ip)) {
                        intl = true;
                        digits = d + strlen(ip);
                        zero_paren -= (int)strlen(ip);
                }
        }

        if (intl) {
                /* "(0)" after the country code: the trunk prefix, which
                 * is not dialled from abroad. */
                if (zero_paren > 0) {
                        char *z = d + (digits - d) + zero_paren;
                        memmove(z, z + 1, strlen(z + 1) + 1);
                }
                if (digits[0] == '\0')
                        return error_set(err, -EINVAL, "phone: no digits after the country prefix");
                if (digits[0] == '0')
                        return error_set(err, -EINVAL, "phone: a country code cannot start with 0");
                c = by_cc(digits);
                if (!c) {
                        size_t n = strlen(digits);
                        if (n < E164_MIN_DIGITS)
                                return error_set(err, -EINVAL, "phone: too short");
                        if (n > E164_MAX_DIGITS)
                                return error_set(err, -EINVAL,
                                                 "phone: too long (E.164 allows 15 digits)");
                        snprintf(out, PHONE_E164_SIZE, "+%s", digits);
                        if (kind)
                                *kind = PHONE_UNKNOWN;
                        return 0;
                }
                nsn = strip_trunk(c, digits + strlen(c->cc), true);
        } else {
                if (!home)
                        return error_set(err, -EINVAL,
                                         "phone: no country code (+CC) and no default country");
                c = home;
                nsn = strip_trunk(c, d, false);
        }

        if (nsn[0] == '\0')
                return error_set(err, -EINVAL, "phone: too short for %s", label(c));
        if (strlen(nsn) > E164_MAX_DIGITS)
                return error_set(err, -EINVAL, "phone: too long (E.164 allows 15 digits)");
        rc = strcmp(c->iso, "NL") == 0 ? check_nl(nsn, &k, err) : check_other(c, nsn, err);
        if (rc < 0)
                return rc;
        if (strlen(c->cc) + strlen(nsn) > E164_MAX_DIGITS)
                return error_set(err, -EINVAL, "phone: too long (E.164 allows 15 digits)");
        snprintf(out, PHONE_E164_SIZE, "+%s%s", c->cc, nsn);
        if (kind)
                *kind = k;
        return 0;
}

bool phone_sms_capable(enum phone_kind kind)
{
        return kind == PHONE_MOBILE || kind == PHONE_UNKNOWN;
}

const char *phone_kind_name(enum phone_kind kind)
{
        switch (kind) {
        case PHONE_MOBILE: return "mobile";
        case PHONE_FIXED: return "fixed line";
        case PHONE_OTHER: return "toll-free/premium/pager/VoIP";
        case PHONE_UNKNOWN: return "unknown";
        }
        return "unknown";
}
