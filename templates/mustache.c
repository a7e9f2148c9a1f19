/* mustache.c: the template engine: value tree, compiler and renderer.
 *
 * A template is compiled in four passes over its source: tokenize (tags,
 * and text cut after every newline), match sections (syntax errors),
 * standalone lines (which lines vanish, which tags own an indentation) and
 * build (a flat node array in source order, where a section's children
 * are the nodes up to its `end`). Overriding blocks are then re-indented
 * as the inheritance spec asks. Rendering walks the array with fixed-size
 * stacks and appends to the caller's buffer. Pure: no I/O, no logging. */
#include "mustache.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Maps with more keys than this get a hash index; below, a scan that
 * compares precomputed hashes first is as fast. */
#define MAP_LINEAR_MAX 8
/* render_range recursion (sections, includes), whatever its cause. */
#define MAX_RENDER_DEPTH 1024
/* Parts of a dotted name, and bytes of a delimiter. */
#define MAX_NAME_PARTS 64
#define MAX_DELIM 32

/* ---- Values ------------------------------------------------------------- */

struct entry {
        char *key;
        uint32_t klen;
        uint32_t hash;
        struct mustache_value *value;
};

struct mustache_value {
        enum mustache_type type;
        union {
                bool b;
                struct {
                        char *s;
                        size_t len;
                } str; /* MUSTACHE_STRING and MUSTACHE_NUMBER */
                struct {
                        struct mustache_value **items;
                        size_t len, cap;
                } list;
                struct {
                        struct entry *e;
                        size_t len, cap;
                        uint32_t *index; /* entry number + 1; 0 = empty slot */
                        size_t icap;
                } map;
        } u;
};

static uint32_t hash_bytes(const char *s, size_t n)
{
        uint32_t h = 2166136261u; /* FNV-1a */
        for (size_t i = 0; i < n; i++) {
                h ^= (unsigned char)s[i];
                h *= 16777619u;
        }
        return h;
}

/* Building into a value of the wrong type is a bug in the caller. */
static void check_type(const struct mustache_value *v, enum mustache_type type, const char *fn)
{
        if (v && v->type == type)
                return;
        fprintf(stderr, "%s: not a %s\n", fn, type == MUSTACHE_MAP ? "map" : "list");
        abort();
}

static struct mustache_value *value_new(enum mustache_type type)
{
        struct mustache_value *v = xcalloc(1, sizeof(*v));
        v->type = type;
        return v;
}

struct mustache_value *mustache_null(void)
{
        return value_new(MUSTACHE_NULL);
}

struct mustache_value *mustache_bool(bool b)
{
        struct mustache_value *v = value_new(MUSTACHE_BOOL);
        v->u.b = b;
        return v;
}

struct mustache_value *mustache_string_len(const char *s, size_t len)
{
        struct mustache_value *v = value_new(MUSTACHE_STRING);
        v->u.str.s = xstrndup(s, len);
        v->u.str.len = len;
        return v;
}

struct mustache_value *mustache_string(const char *s)
{
        return mustache_string_len(s, strlen(s));
}

struct mustache_value *mustache_number_text(const char *text)
{
        struct mustache_value *v = mustache_string(text);
        v->type = MUSTACHE_NUMBER;
        return v;
}

struct mustache_value *mustache_int(long long n)
{
        char tmp[32];
        snprintf(tmp, sizeof(tmp), "%lld", n);
        return mustache_number_text(tmp);
}

struct mustache_value *mustache_number(double d)
{
        char tmp[40];
        if (!isfinite(d))
                return mustache_null();
        if (d == 0)
                return mustache_number_text("0"); /* -0 too, as JavaScript */
        /* The shortest %g that reads back as d: 1.21 and not 1.2099999999999999. */
        for (int prec = 15; prec <= 17; prec++) {
                snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
                if (strtod(tmp, NULL) == d)
                        break;
        }
        return mustache_number_text(tmp);
}

struct mustache_value *mustache_map_new(void)
{
        return value_new(MUSTACHE_MAP);
}

struct mustache_value *mustache_list_new(void)
{
        return value_new(MUSTACHE_LIST);
}

void mustache_value_free(struct mustache_value *v)
{
        if (!v)
                return;
        switch (v->type) {
        case MUSTACHE_STRING:
        case MUSTACHE_NUMBER:
                free(v->u.str.s);
                break;
        case MUSTACHE_LIST:
                for (size_t i = 0; i < v->u.list.len; i++)
                        mustache_value_free(v->u.list.items[i]);
                free(v->u.list.items);
                break;
        case MUSTACHE_MAP:
                for (size_t i = 0; i < v->u.map.len; i++) {
                        free(v->u.map.e[i].key);
                        mustache_value_free(v->u.map.e[i].value);
                }
                free(v->u.map.e);
                free(v->u.map.index);
                break;
        default:
                break;
        }
        free(v);
}

static void map_index_put(struct mustache_value *m, size_t i)
{
        size_t mask = m->u.map.icap - 1;
        size_t slot = m->u.map.e[i].hash & mask;
        while (m->u.map.index[slot])
                slot = (slot + 1) & mask;
        m->u.map.index[slot] = (uint32_t)i + 1;
}

static void map_reindex(struct mustache_value *m)
{
        size_t cap = 16;
        while (cap < 2 * m->u.map.len)
                cap *= 2;
        free(m->u.map.index);
        m->u.map.index = xcalloc(cap, sizeof(uint32_t));
        m->u.map.icap = cap;
        for (size_t i = 0; i < m->u.map.len; i++)
                map_index_put(m, i);
}

static struct entry *map_find(const struct mustache_value *m, const char *key, size_t klen,
                              uint32_t h)
{
        struct entry *e = m->u.map.e;
        if (!m->u.map.index) {
                for (size_t i = 0; i < m->u.map.len; i++)
                        if (e[i].hash == h && e[i].klen == klen && !memcmp(e[i].key, key, klen))
                                return &e[i];
                return NULL;
        }
        size_t mask = m->u.map.icap - 1;
        for (size_t slot = h & mask; m->u.map.index[slot]; slot = (slot + 1) & mask) {
                struct entry *x = &e[m->u.map.index[slot] - 1];
                if (x->hash == h && x->klen == klen && !memcmp(x->key, key, klen))
                        return x;
        }
        return NULL;
}

struct mustache_value *mustache_map_set(struct mustache_value *map, const char *key,
                                        struct mustache_value *v)
{
        check_type(map, MUSTACHE_MAP, __func__);
        size_t klen = strlen(key);
        uint32_t h = hash_bytes(key, klen);
        struct entry *e = map_find(map, key, klen, h);
        if (e) {
                mustache_value_free(e->value);
                e->value = v;
                return v;
        }
        if (map->u.map.len == map->u.map.cap) {
                map->u.map.cap = map->u.map.cap ? 2 * map->u.map.cap : 8;
                map->u.map.e = xrealloc(map->u.map.e, map->u.map.cap * sizeof(*e));
        }
        e = &map->u.map.e[map->u.map.len++];
        e->key = xstrndup(key, klen);
        e->klen = (uint32_t)klen;
        e->hash = h;
        e->value = v;
        if (map->u.map.len > MAP_LINEAR_MAX) {
                if (2 * map->u.map.len > map->u.map.icap)
                        map_reindex(map);
                else
                        map_index_put(map, map->u.map.len - 1);
        }
        return v;
}

struct mustache_value *mustache_map_set_str(struct mustache_value *map, const char *key,
                                            const char *s)
{
        return mustache_map_set(map, key, mustache_string(s));
}

struct mustache_value *mustache_map_set_num(struct mustache_value *map, const char *key, double d)
{
        return mustache_map_set(map, key, mustache_number(d));
}

struct mustache_value *mustache_map_set_int(struct mustache_value *map, const char *key,
                                            long long n)
{
        return mustache_map_set(map, key, mustache_int(n));
}

struct mustache_value *mustache_map_set_bool(struct mustache_value *map, const char *key, bool b)
{
        return mustache_map_set(map, key, mustache_bool(b));
}

struct mustache_value *mustache_map_set_map(struct mustache_value *map, const char *key)
{
        return mustache_map_set(map, key, mustache_map_new());
}

struct mustache_value *mustache_map_set_list(struct mustache_value *map, const char *key)
{
        return mustache_map_set(map, key, mustache_list_new());
}

struct mustache_value *mustache_list_push(struct mustache_value *list, struct mustache_value *v)
{
        check_type(list, MUSTACHE_LIST, __func__);
        if (list->u.list.len == list->u.list.cap) {
                list->u.list.cap = list->u.list.cap ? 2 * list->u.list.cap : 4;
                list->u.list.items =
                        xrealloc(list->u.list.items, list->u.list.cap * sizeof(*list->u.list.items));
        }
        list->u.list.items[list->u.list.len++] = v;
        return v;
}

struct mustache_value *mustache_list_push_map(struct mustache_value *list)
{
        return mustache_list_push(list, mustache_map_new());
}

enum mustache_type mustache_value_type(const struct mustache_value *v)
{
        return v ? v->type : MUSTACHE_NULL;
}

const struct mustache_value *mustache_map_get(const struct mustache_value *map, const char *key)
{
        if (!map || map->type != MUSTACHE_MAP)
                return NULL;
        size_t klen = strlen(key);
        struct entry *e = map_find(map, key, klen, hash_bytes(key, klen));
        return e ? e->value : NULL;
}

size_t mustache_value_len(const struct mustache_value *v)
{
        if (v && v->type == MUSTACHE_LIST)
                return v->u.list.len;
        if (v && v->type == MUSTACHE_MAP)
                return v->u.map.len;
        return 0;
}

const struct mustache_value *mustache_list_get(const struct mustache_value *list, size_t i)
{
        if (!list || list->type != MUSTACHE_LIST || i >= list->u.list.len)
                return NULL;
        return list->u.list.items[i];
}

const char *mustache_value_text(const struct mustache_value *v, size_t *len)
{
        if (!v || (v->type != MUSTACHE_STRING && v->type != MUSTACHE_NUMBER))
                return NULL;
        *len = v->u.str.len;
        return v->u.str.s;
}

/* ---- Compiled templates ------------------------------------------------- */

enum node_kind { N_TEXT, N_VAR, N_SECTION, N_INVERTED, N_PARTIAL, N_PARENT, N_BLOCK };

#define NF_RAW 1        /* {{{x}}} or {{&x}}: never escaped */
#define NF_STANDALONE 2 /* the tag's line vanished; indent is its whitespace */
#define NF_BOL 4        /* starts a source line: indentation goes before it */
#define NF_OVERRIDE 8   /* N_BLOCK directly inside an N_PARENT */

/* One part of a dotted name, hashed once at compile time. */
struct seg {
        const char *s;
        uint32_t len;
        uint32_t hash;
};

struct node {
        uint8_t kind;
        uint8_t flags;
        uint16_t nseg;  /* N_VAR, N_SECTION, N_INVERTED: name parts; 0 is "." */
        uint32_t seg;   /* first part in tpl->segs */
        uint32_t end;   /* nodes with children: the index past the last one */
        uint32_t line;  /* of the tag, for messages */
        uint32_t col;
        uint32_t hash;  /* of the name */
        const char *s;  /* N_TEXT: the text (in tpl->arena); else the name */
        size_t len;
        /* N_PARTIAL, N_PARENT: standalone indentation. N_BLOCK: the
         * indentation an overriding block gets here (see fix_blocks). */
        const char *indent;
        size_t indent_len;
};

struct tpl {
        char *name;
        uint32_t hash;
        char *src;   /* copy of the source: names and indents point here */
        char *arena; /* the text nodes, never reallocated */
        struct node *nodes;
        uint32_t nnodes;
        struct seg *segs;
};

struct mustache_set {
        struct tpl **t;
        size_t len, cap;
};

static void tpl_free(struct tpl *t)
{
        if (!t)
                return;
        free(t->name);
        free(t->src);
        free(t->arena);
        free(t->nodes);
        free(t->segs);
        free(t);
}

/* ---- Compiler: tokens --------------------------------------------------- */

enum tok_kind {
        T_TEXT, T_VAR, T_SECTION, T_INVERTED, T_CLOSE, T_COMMENT, T_DELIM,
        T_PARTIAL, T_PARENT, T_BLOCK,
};

struct tok {
        uint8_t kind;
        bool raw;
        bool standalone;
        bool removed;   /* T_TEXT dropped with a standalone line */
        bool keep_line; /* standalone {{$b}}{{/b}} line: its newline stays */
        uint32_t line, col;
        size_t start, len;  /* T_TEXT: the text; tags: the trimmed name */
        size_t indent, indent_len;
        int32_t match;      /* T_CLOSE: the opening token */
};

struct compiler {
        const char *name;
        const char *src;
        size_t len;
        struct error *err;
        struct tok *toks;
        size_t ntoks, ctoks;
        size_t scan_pos, scan_line, scan_bol; /* locate()'s progress */
};

static void locate(struct compiler *c, size_t pos, uint32_t *line, uint32_t *col)
{
        if (pos < c->scan_pos) {
                c->scan_pos = 0;
                c->scan_line = 1;
                c->scan_bol = 0;
        }
        for (; c->scan_pos < pos; c->scan_pos++) {
                if (c->src[c->scan_pos] == '\n') {
                        c->scan_line++;
                        c->scan_bol = c->scan_pos + 1;
                }
        }
        *line = (uint32_t)c->scan_line;
        *col = (uint32_t)(pos - c->scan_bol + 1);
}

static int cerr_at(struct compiler *c, uint32_t line, uint32_t col, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int cerr_at(struct compiler *c, uint32_t line, uint32_t col, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return error_set(c->err, -EINVAL, "%s:%u:%u: %s", c->name, line, col, msg);
}

static struct tok *tok_add(struct compiler *c, enum tok_kind kind, size_t start, size_t len)
{
        if (c->ntoks == c->ctoks) {
                c->ctoks = c->ctoks ? 2 * c->ctoks : 64;
                c->toks = xrealloc(c->toks, c->ctoks * sizeof(*c->toks));
        }
        struct tok *t = &c->toks[c->ntoks++];
        memset(t, 0, sizeof(*t));
        t->kind = kind;
        t->start = start;
        t->len = len;
        t->match = -1;
        return t;
}

/* Text is cut after every newline so that each line's tokens are known. */
static void add_text(struct compiler *c, size_t from, size_t to)
{
        while (from < to) {
                const char *nl = memchr(c->src + from, '\n', to - from);
                size_t stop = nl ? (size_t)(nl - c->src) + 1 : to;
                tok_add(c, T_TEXT, from, stop - from);
                from = stop;
        }
}

static bool is_space(char ch)
{
        return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* {{=<% %>=}}: content is "<% %>", two words without '='. */
static bool parse_delims(const char *s, size_t n, char *open, size_t *olen, char *close,
                         size_t *clen)
{
        size_t i = 0, a, b;
        while (i < n && is_space(s[i]))
                i++;
        for (a = i; i < n && !is_space(s[i]); i++)
                ;
        *olen = i - a;
        while (i < n && is_space(s[i]))
                i++;
        for (b = i; i < n && !is_space(s[i]); i++)
                ;
        *clen = i - b;
        while (i < n && is_space(s[i]))
                i++;
        if (i != n || !*olen || !*clen || *olen > MAX_DELIM || *clen > MAX_DELIM)
                return false;
        if (memchr(s + a, '=', *olen) || memchr(s + b, '=', *clen))
                return false;
        memcpy(open, s + a, *olen);
        memcpy(close, s + b, *clen);
        return true;
}

static int tag_kind(char type, enum tok_kind *kind)
{
        switch (type) {
        case '#': *kind = T_SECTION; return 1;
        case '^': *kind = T_INVERTED; return 1;
        case '/': *kind = T_CLOSE; return 1;
        case '!': *kind = T_COMMENT; return 1;
        case '=': *kind = T_DELIM; return 1;
        case '>': *kind = T_PARTIAL; return 1;
        case '<': *kind = T_PARENT; return 1;
        case '$': *kind = T_BLOCK; return 1;
        case '&': *kind = T_VAR; return 1;
        case '{': *kind = T_VAR; return 1;
        default: *kind = T_VAR; return 0;
        }
}

/* Checks and trims a tag's name into t->start/len. */
static int tag_name(struct compiler *c, struct tok *t, size_t from, size_t to)
{
        while (from < to && is_space(c->src[from]))
                from++;
        while (to > from && is_space(c->src[to - 1]))
                to--;
        if (from == to)
                return cerr_at(c, t->line, t->col, "empty tag name");
        for (size_t i = from; i < to; i++)
                if (is_space(c->src[i]))
                        return cerr_at(c, t->line, t->col, "invalid tag name \"%.*s\"",
                                       (int)(to - from), c->src + from);
        t->start = from;
        t->len = to - from;
        return 0;
}

static int tokenize(struct compiler *c)
{
        char open[MAX_DELIM] = "{{", close[MAX_DELIM + 1] = "}}", needle[MAX_DELIM + 1];
        size_t olen = 2, clen = 2, pos = 0;
        while (pos < c->len) {
                const char *o = memmem(c->src + pos, c->len - pos, open, olen);
                size_t at = o ? (size_t)(o - c->src) : c->len;
                add_text(c, pos, at);
                if (!o)
                        break;
                uint32_t line, col;
                locate(c, at, &line, &col);
                size_t p = at + olen;
                char type = p < c->len ? c->src[p] : 0;
                enum tok_kind kind;
                p += tag_kind(type, &kind);
                /* {{{x}}} ends with "}" + close, {{=a b=}} with "=" + close. */
                size_t nlen = 0;
                if (type == '{' || type == '=')
                        needle[nlen++] = type == '{' ? '}' : '=';
                memcpy(needle + nlen, close, clen);
                nlen += clen;
                const char *e = p <= c->len ? memmem(c->src + p, c->len - p, needle, nlen) : NULL;
                if (!e)
                        return cerr_at(c, line, col, "unclosed tag, expected \"%.*s\"", (int)nlen,
                                       needle);
                size_t end = (size_t)(e - c->src);
                pos = end + nlen;
                struct tok *t = tok_add(c, kind, p, end - p);
                t->line = line;
                t->col = col;
                t->raw = type == '{' || type == '&';
                if (kind == T_COMMENT)
                        continue;
                if (kind == T_DELIM) {
                        if (!parse_delims(c->src + p, end - p, open, &olen, close, &clen))
                                return cerr_at(c, line, col, "bad delimiter set \"%.*s\"",
                                               (int)(end - p), c->src + p);
                        continue;
                }
                int r = tag_name(c, t, p, end);
                if (r)
                        return r;
        }
        return 0;
}

/* ---- Compiler: sections and standalone lines ---------------------------- */

static bool opens(enum tok_kind k)
{
        return k == T_SECTION || k == T_INVERTED || k == T_PARENT || k == T_BLOCK;
}

static int match_sections(struct compiler *c)
{
        uint32_t stack[MUSTACHE_MAX_NESTING];
        int depth = 0;
        for (size_t i = 0; i < c->ntoks; i++) {
                struct tok *t = &c->toks[i];
                if (opens(t->kind)) {
                        if (depth == MUSTACHE_MAX_NESTING)
                                return cerr_at(c, t->line, t->col,
                                               "sections nested deeper than %d",
                                               MUSTACHE_MAX_NESTING);
                        stack[depth++] = (uint32_t)i;
                        continue;
                }
                if (t->kind != T_CLOSE)
                        continue;
                const char *name = c->src + t->start;
                if (!depth)
                        return cerr_at(c, t->line, t->col,
                                       "closing tag \"%.*s\" without an open section",
                                       (int)t->len, name);
                struct tok *o = &c->toks[stack[depth - 1]];
                if (o->len != t->len || memcmp(c->src + o->start, name, t->len))
                        return cerr_at(c, t->line, t->col,
                                       "closing tag \"%.*s\" does not match open section "
                                       "\"%.*s\" (line %u)",
                                       (int)t->len, name, (int)o->len, c->src + o->start,
                                       o->line);
                t->match = (int32_t)stack[--depth];
        }
        if (depth) {
                struct tok *o = &c->toks[stack[depth - 1]];
                return cerr_at(c, o->line, o->col, "unclosed section \"%.*s\"", (int)o->len,
                               c->src + o->start);
        }
        return 0;
}

/* Whitespace only, not counting the line's ending ("\n" or "\r\n"). */
static bool blank_text(const struct compiler *c, const struct tok *t)
{
        const char *s = c->src + t->start;
        size_t n = t->len;
        if (n && s[n - 1] == '\n')
                n -= (n >= 2 && s[n - 2] == '\r') ? 2 : 1;
        for (size_t i = 0; i < n; i++)
                if (s[i] != ' ' && s[i] != '\t')
                        return false;
        return true;
}

/* May tag t share a standalone line with other tags? Only the tags of
 * inheritance ({{<p}}{{$b}}, {{/b}}{{/p}}, {{<p}}{{/p}}, {{$b}}{{/b}}),
 * as the inheritance spec's standalone tests require. */
static bool shares_line(const struct compiler *c, const struct tok *t)
{
        if (t->kind == T_PARENT || t->kind == T_BLOCK)
                return true;
        if (t->kind != T_CLOSE)
                return false;
        enum tok_kind k = c->toks[t->match].kind;
        return k == T_PARENT || k == T_BLOCK;
}

static void standalone_line(struct compiler *c, size_t a, size_t b)
{
        size_t ntags = 0, first = b;
        bool pair = false;
        for (size_t i = a; i < b; i++) {
                struct tok *t = &c->toks[i];
                if (t->kind == T_TEXT) {
                        if (!blank_text(c, t))
                                return;
                        continue;
                }
                if (t->kind == T_VAR)
                        return;
                if (!ntags++)
                        first = i;
                if (t->kind == T_CLOSE && c->toks[t->match].kind == T_BLOCK &&
                    (size_t)t->match >= a)
                        pair = true;
        }
        if (!ntags)
                return;
        if (ntags > 1)
                for (size_t i = first; i < b; i++)
                        if (c->toks[i].kind != T_TEXT && !shares_line(c, &c->toks[i]))
                                return;
        if (first > a) {
                c->toks[first].indent = c->toks[a].start;
                c->toks[first].indent_len = c->toks[a].len;
        }
        for (size_t i = a; i < b; i++) {
                struct tok *t = &c->toks[i];
                if (t->kind != T_TEXT) {
                        t->standalone = true;
                        t->keep_line = pair;
                } else if (!pair || i < first) {
                        t->removed = true;
                }
        }
}

static void mark_standalone(struct compiler *c)
{
        size_t a = 0;
        while (a < c->ntoks) {
                size_t b = a;
                while (b < c->ntoks) {
                        struct tok *t = &c->toks[b++];
                        if (t->kind == T_TEXT && c->src[t->start + t->len - 1] == '\n')
                                break;
                }
                standalone_line(c, a, b);
                a = b;
        }
}

/* ---- Compiler: nodes ---------------------------------------------------- */

struct builder {
        struct tpl *t;
        uint32_t cnodes, nsegs, csegs;
        size_t arena_len;
};

static struct node *node_add(struct builder *b, enum node_kind kind, const struct tok *k)
{
        struct tpl *t = b->t;
        if (t->nnodes == b->cnodes) {
                b->cnodes = b->cnodes ? 2 * b->cnodes : 32;
                t->nodes = xrealloc(t->nodes, b->cnodes * sizeof(*t->nodes));
        }
        struct node *n = &t->nodes[t->nnodes++];
        memset(n, 0, sizeof(*n));
        n->kind = kind;
        n->line = k->line;
        n->col = k->col;
        n->s = t->src + k->start;
        n->len = k->len;
        n->hash = hash_bytes(n->s, n->len);
        if (k->raw)
                n->flags |= NF_RAW;
        if (k->standalone) {
                n->flags |= NF_STANDALONE;
                n->indent = t->src + k->indent;
                n->indent_len = k->indent_len;
        }
        return n;
}

/* Splits "a.b.c" into hashed parts; "." has none. */
static int node_name(struct compiler *c, struct builder *b, struct node *n)
{
        if (n->len == 1 && n->s[0] == '.')
                return 0;
        n->seg = b->nsegs;
        const char *p = n->s, *end = n->s + n->len;
        while (p <= end) {
                const char *dot = memchr(p, '.', (size_t)(end - p));
                const char *stop = dot ? dot : end;
                if (stop == p || n->nseg == MAX_NAME_PARTS)
                        return cerr_at(c, n->line, n->col, "invalid tag name \"%.*s\"",
                                       (int)n->len, n->s);
                if (b->nsegs == b->csegs) {
                        b->csegs = b->csegs ? 2 * b->csegs : 32;
                        b->t->segs = xrealloc(b->t->segs, b->csegs * sizeof(*b->t->segs));
                }
                struct seg *g = &b->t->segs[b->nsegs++];
                g->s = p;
                g->len = (uint32_t)(stop - p);
                g->hash = hash_bytes(p, g->len);
                n->nseg++;
                p = stop + 1;
        }
        return 0;
}

static const enum node_kind tok_node[] = {
        [T_VAR] = N_VAR, [T_SECTION] = N_SECTION, [T_INVERTED] = N_INVERTED,
        [T_PARTIAL] = N_PARTIAL, [T_PARENT] = N_PARENT, [T_BLOCK] = N_BLOCK,
};

static int build(struct compiler *c, struct builder *b)
{
        struct tpl *t = b->t;
        uint32_t open[MUSTACHE_MAX_NESTING];
        int depth = 0;
        bool line_start = true, text_last = false;
        for (size_t i = 0; i < c->ntoks; i++) {
                const struct tok *k = &c->toks[i];
                if (k->kind == T_COMMENT || k->kind == T_DELIM || (k->kind == T_TEXT && k->removed))
                        continue;
                if (k->kind == T_TEXT) {
                        char *dst = t->arena + b->arena_len;
                        memcpy(dst, c->src + k->start, k->len);
                        b->arena_len += k->len;
                        if (text_last) {
                                t->nodes[t->nnodes - 1].len += k->len;
                        } else {
                                struct node *n = node_add(b, N_TEXT, k);
                                n->s = dst;
                                n->flags |= line_start ? NF_BOL : 0;
                        }
                        text_last = true;
                        line_start = c->src[k->start + k->len - 1] == '\n';
                        continue;
                }
                text_last = false;
                if (k->kind == T_CLOSE) {
                        t->nodes[open[--depth]].end = t->nnodes;
                } else {
                        struct node *n = node_add(b, tok_node[k->kind], k);
                        if (!k->standalone && line_start)
                                n->flags |= NF_BOL;
                        if (n->kind == N_BLOCK && depth && t->nodes[open[depth - 1]].kind == N_PARENT)
                                n->flags |= NF_OVERRIDE;
                        if (n->kind <= N_INVERTED && node_name(c, b, n))
                                return -EINVAL;
                        if (opens(k->kind))
                                open[depth++] = t->nnodes - 1;
                }
                if (!k->standalone || k->keep_line)
                        line_start = false;
        }
        return 0;
}

/* ---- Compiler: block indentation ----------------------------------------- */

struct span {
        const char *s;
        size_t len;
        bool set;
};

static void common_prefix(struct span *c, const char *ws, size_t n)
{
        if (!c->set) {
                *c = (struct span){ ws, n, true };
                return;
        }
        size_t k = 0;
        while (k < c->len && k < n && c->s[k] == ws[k])
                k++;
        c->len = k;
}

static bool has_indent(const struct node *n)
{
        return (n->flags & NF_STANDALONE) &&
               (n->kind == N_PARTIAL || n->kind == N_PARENT || n->kind == N_BLOCK);
}

/* The whitespace every non-blank line of nodes [a, b) starts with. */
static struct span common_indent(const struct tpl *t, uint32_t a, uint32_t b)
{
        struct span c = { 0 };
        bool ls = false;
        const char *ws = NULL;
        size_t wsn = 0;
        for (uint32_t i = a; i < b && !(c.set && !c.len); i++) {
                const struct node *n = &t->nodes[i];
                if (n->kind != N_TEXT) {
                        if (has_indent(n))
                                common_prefix(&c, n->indent, n->indent_len);
                        else if (n->flags & NF_BOL)
                                common_prefix(&c, "", 0);
                        else if (ls && !(n->flags & NF_STANDALONE))
                                common_prefix(&c, ws, wsn);
                        ls = false;
                        continue;
                }
                ls = n->flags & NF_BOL;
                ws = n->s;
                wsn = 0;
                for (size_t k = 0; k < n->len; k++) {
                        char ch = n->s[k];
                        if (ls && (ch == ' ' || ch == '\t')) {
                                wsn++;
                                continue;
                        }
                        if (ls && ch != '\n' && ch != '\r') {
                                common_prefix(&c, ws, wsn);
                                ls = false;
                        }
                        if (ch == '\n') {
                                ls = true;
                                ws = n->s + k + 1;
                                wsn = 0;
                        }
                }
        }
        return c;
}

/* Removes prefix p from the start of every line of nodes [a, b) that has
 * it: text in place (the arena is ours), indents by moving their start. */
static void dedent(struct tpl *t, uint32_t a, uint32_t b, const char *p, size_t plen)
{
        for (uint32_t i = a; i < b; i++) {
                struct node *n = &t->nodes[i];
                if (has_indent(n) && n->indent_len >= plen && !memcmp(n->indent, p, plen)) {
                        n->indent += plen;
                        n->indent_len -= plen;
                }
                if (n->kind != N_TEXT)
                        continue;
                char *s = (char *)n->s;
                size_t r = 0, w = 0;
                bool ls = n->flags & NF_BOL;
                while (r < n->len) {
                        if (ls && n->len - r >= plen && !memcmp(s + r, p, plen))
                                r += plen;
                        ls = false;
                        while (r < n->len) {
                                char ch = s[r++];
                                s[w++] = ch;
                                if (ch == '\n') {
                                        ls = true;
                                        break;
                                }
                        }
                }
                n->len = w;
        }
}

/* Inheritance indentation: "block indentation is removed at the site of
 * definition and added at the site of expansion". An overriding block on
 * a standalone line loses its common indentation; a standalone block then
 * gives overriding content its tag's indentation or, when that is empty,
 * the indentation of its own default content. */
static void fix_blocks(struct tpl *t)
{
        for (uint32_t i = 0; i < t->nnodes; i++) {
                struct node *n = &t->nodes[i];
                if (n->kind != N_BLOCK || (n->flags & (NF_OVERRIDE | NF_STANDALONE)) !=
                                                  (NF_OVERRIDE | NF_STANDALONE))
                        continue;
                struct span c = common_indent(t, i + 1, n->end);
                if (!c.len)
                        continue;
                char *p = xstrndup(c.s, c.len); /* c.s may lie in what dedent rewrites */
                dedent(t, i + 1, n->end, p, c.len);
                free(p);
        }
        for (uint32_t i = 0; i < t->nnodes; i++) {
                struct node *n = &t->nodes[i];
                if (n->kind != N_BLOCK || !(n->flags & NF_STANDALONE) || n->indent_len)
                        continue;
                struct span c = common_indent(t, i + 1, n->end);
                n->indent = c.s;
                n->indent_len = c.len;
        }
}

static int compile(struct tpl **out, const char *name, const char *source, size_t len,
                   struct error *err)
{
        struct compiler c = { .name = name, .len = len, .err = err, .scan_line = 1 };
        struct builder b = { 0 };
        struct tpl *t = NULL;
        int r;
        if (len > MUSTACHE_MAX_SOURCE) {
                r = error_set(err, -E2BIG, "%s: template is %zu bytes, more than the %d allowed",
                              name, len, MUSTACHE_MAX_SOURCE);
                goto out;
        }
        t = xcalloc(1, sizeof(*t));
        t->name = xstrdup(name);
        t->hash = hash_bytes(name, strlen(name));
        t->src = xstrndup(source, len);
        t->arena = xmalloc(len + 1);
        c.src = t->src;
        b.t = t;
        r = tokenize(&c);
        if (!r)
                r = match_sections(&c);
        if (r)
                goto out;
        mark_standalone(&c);
        r = build(&c, &b);
        if (r)
                goto out;
        fix_blocks(t);
        *out = t;
        t = NULL;
out:
        tpl_free(t);
        free(c.toks);
        return r;
}

/* ---- Sets --------------------------------------------------------------- */

struct mustache_set *mustache_set_new(void)
{
        return xcalloc(1, sizeof(struct mustache_set));
}

void mustache_set_free(struct mustache_set *set)
{
        if (!set)
                return;
        for (size_t i = 0; i < set->len; i++)
                tpl_free(set->t[i]);
        free(set->t);
        free(set);
}

static struct tpl **set_slot(const struct mustache_set *set, const char *name, size_t len,
                             uint32_t h)
{
        for (size_t i = 0; i < set->len; i++) {
                struct tpl *t = set->t[i];
                if (t->hash == h && !strncmp(t->name, name, len) && t->name[len] == '\0')
                        return &set->t[i];
        }
        return NULL;
}

static const struct tpl *set_find(const struct mustache_set *set, const char *name, size_t len,
                                  uint32_t h)
{
        struct tpl **slot = set_slot(set, name, len, h);
        return slot ? *slot : NULL;
}

int mustache_set_add(struct mustache_set *set, const char *name, const char *source, size_t len,
                     struct error *err)
{
        struct tpl *t = NULL;
        int r = compile(&t, name, source, len, err);
        if (r)
                return r;
        struct tpl **slot = set_slot(set, name, strlen(name), t->hash);
        if (slot) {
                tpl_free(*slot);
                *slot = t;
                return 0;
        }
        if (set->len == set->cap) {
                set->cap = set->cap ? 2 * set->cap : 8;
                set->t = xrealloc(set->t, set->cap * sizeof(*set->t));
        }
        set->t[set->len++] = t;
        return 0;
}

bool mustache_set_has(const struct mustache_set *set, const char *name)
{
        size_t len = strlen(name);
        return set_find(set, name, len, hash_bytes(name, len)) != NULL;
}

/* ---- Renderer ----------------------------------------------------------- */

struct indent {
        const char *s;
        size_t len;
};

/* A {{<parent}} being expanded: its blocks override the parent's. */
struct frame {
        const struct tpl *t;
        uint32_t node;
};

struct render {
        struct buf *out;
        const struct mustache_set *set;
        enum mustache_escape escape;
        bool strict;
        struct error *err;
        int nctx, ibase, itop, nframes, includes, depth;
        const struct mustache_value *ctx[MUSTACHE_MAX_NESTING];
        /* Indentation of the template being rendered: ind[ibase..itop). */
        struct indent ind[MUSTACHE_MAX_INCLUDE + 1];
        struct frame frames[MUSTACHE_MAX_INCLUDE];
};

struct entity {
        const char *s;
        size_t len;
};

#define ENT(x) { x, sizeof(x) - 1 }
static const struct entity html_ent[256] = {
        ['&'] = ENT("&amp;"), ['"'] = ENT("&quot;"), ['<'] = ENT("&lt;"), ['>'] = ENT("&gt;"),
};
static const struct entity markup_ent[256] = {
        ['&'] = ENT("&amp;"), ['"'] = ENT("&quot;"), ['<'] = ENT("&lt;"), ['>'] = ENT("&gt;"),
        ['\''] = ENT("&apos;"),
};

static void put_escaped(struct buf *out, const char *s, size_t len, enum mustache_escape esc)
{
        const struct entity *ent = esc == MUSTACHE_ESCAPE_HTML     ? html_ent
                                   : esc == MUSTACHE_ESCAPE_MARKUP ? markup_ent
                                                                   : NULL;
        size_t run = 0;
        for (size_t i = 0; ent && i < len; i++) {
                const struct entity *e = &ent[(unsigned char)s[i]];
                if (!e->s)
                        continue;
                buf_append(out, s + run, i - run);
                buf_append(out, e->s, e->len);
                run = i + 1;
        }
        buf_append(out, s + run, len - run);
}

static int rerr(struct render *st, const struct tpl *t, const struct node *n, int code,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int rerr(struct render *st, const struct tpl *t, const struct node *n, int code,
                const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return error_set(st->err, code, "%s:%u:%u: %s", t->name, n->line, n->col, msg);
}

static void put_indent(struct render *st)
{
        for (int i = st->ibase; i < st->itop; i++)
                buf_append(st->out, st->ind[i].s, st->ind[i].len);
}

static void put_text(struct render *st, const struct node *n)
{
        if (st->itop == st->ibase) {
                buf_append(st->out, n->s, n->len);
                return;
        }
        const char *s = n->s, *end = n->s + n->len;
        bool ls = n->flags & NF_BOL;
        while (s < end) {
                if (ls && *s != '\n')
                        put_indent(st);
                const char *nl = memchr(s, '\n', (size_t)(end - s));
                const char *stop = nl ? nl + 1 : end;
                buf_append(st->out, s, (size_t)(stop - s));
                s = stop;
                ls = true;
        }
}

/* Resolves a name as the spec says: the first part on the context stack,
 * top down; the other parts in what the former part found. NULL: missing. */
static const struct mustache_value *lookup(const struct render *st, const struct tpl *t,
                                           const struct node *n)
{
        if (!n->nseg)
                return st->nctx ? st->ctx[st->nctx - 1] : NULL;
        const struct seg *g = &t->segs[n->seg];
        struct entry *e = NULL;
        for (int k = st->nctx - 1; k >= 0 && !e; k--)
                if (st->ctx[k]->type == MUSTACHE_MAP)
                        e = map_find(st->ctx[k], g->s, g->len, g->hash);
        for (uint16_t k = 1; e && k < n->nseg; k++)
                e = e->value->type == MUSTACHE_MAP
                            ? map_find(e->value, g[k].s, g[k].len, g[k].hash)
                            : NULL;
        return e ? e->value : NULL;
}

static bool truthy(const struct mustache_value *v)
{
        if (!v)
                return false;
        switch (v->type) {
        case MUSTACHE_NULL: return false;
        case MUSTACHE_BOOL: return v->u.b;
        case MUSTACHE_STRING: return v->u.str.len > 0;
        case MUSTACHE_LIST: return v->u.list.len > 0;
        default: return true;
        }
}

static int render_range(struct render *st, const struct tpl *t, uint32_t i, uint32_t end);

static int render_var(struct render *st, const struct tpl *t, const struct node *n)
{
        const struct mustache_value *v = lookup(st, t, n);
        if (!v)
                return st->strict ? rerr(st, t, n, -ENOENT, "%.*s: no such variable",
                                         (int)n->len, n->s)
                                  : 0;
        enum mustache_escape esc = (n->flags & NF_RAW) ? MUSTACHE_ESCAPE_NONE : st->escape;
        if (v->type == MUSTACHE_STRING || v->type == MUSTACHE_NUMBER)
                put_escaped(st->out, v->u.str.s, v->u.str.len, esc);
        else if (v->type == MUSTACHE_BOOL)
                buf_puts(st->out, v->u.b ? "true" : "false");
        return 0;
}

static int push_ctx(struct render *st, const struct tpl *t, const struct node *n,
                    const struct mustache_value *v)
{
        if (st->nctx == MUSTACHE_MAX_NESTING)
                return rerr(st, t, n, -ELOOP, "%.*s: context stack deeper than %d",
                            (int)n->len, n->s, MUSTACHE_MAX_NESTING);
        st->ctx[st->nctx++] = v;
        return 0;
}

static int render_section(struct render *st, const struct tpl *t, uint32_t i)
{
        const struct node *n = &t->nodes[i];
        const struct mustache_value *v = lookup(st, t, n);
        if (n->kind == N_INVERTED)
                return truthy(v) ? 0 : render_range(st, t, i + 1, n->end);
        if (!truthy(v))
                return 0;
        size_t count = v->type == MUSTACHE_LIST ? v->u.list.len : 1;
        int r = 0;
        for (size_t k = 0; k < count && !r; k++) {
                r = push_ctx(st, t, n, v->type == MUSTACHE_LIST ? v->u.list.items[k] : v);
                if (r)
                        break;
                r = render_range(st, t, i + 1, n->end);
                st->nctx--;
        }
        return r;
}

/* Renders nodes [a, b) of t as a template included by tag n: with n's
 * indentation added when n is standalone, with none when n is inline. */
static int include(struct render *st, const struct tpl *from, const struct node *n,
                   const struct tpl *t, uint32_t a, uint32_t b)
{
        if (st->includes == MUSTACHE_MAX_INCLUDE)
                return rerr(st, from, n, -ELOOP, "%.*s: included deeper than %d levels",
                            (int)n->len, n->s, MUSTACHE_MAX_INCLUDE);
        int base = st->ibase, top = st->itop;
        if (!(n->flags & NF_STANDALONE))
                st->ibase = st->itop;
        else if (n->indent_len)
                st->ind[st->itop++] = (struct indent){ n->indent, n->indent_len };
        st->includes++;
        int r = render_range(st, t, a, b);
        st->includes--;
        st->ibase = base;
        st->itop = top;
        return r;
}

static int render_parent(struct render *st, const struct tpl *t, uint32_t i)
{
        const struct node *n = &t->nodes[i];
        const struct tpl *p = set_find(st->set, n->s, n->len, n->hash);
        if (!p)
                return 0;
        if (st->nframes == MUSTACHE_MAX_INCLUDE)
                return rerr(st, t, n, -ELOOP, "%.*s: included deeper than %d levels",
                            (int)n->len, n->s, MUSTACHE_MAX_INCLUDE);
        st->frames[st->nframes++] = (struct frame){ t, i };
        int r = include(st, t, n, p, 0, p->nnodes);
        st->nframes--;
        return r;
}

static uint32_t next_node(const struct node *nodes, uint32_t i)
{
        return nodes[i].kind >= N_SECTION && nodes[i].kind != N_PARTIAL ? nodes[i].end : i + 1;
}

/* The outermost parent tag being expanded that overrides block n wins. */
static int render_block(struct render *st, const struct tpl *t, uint32_t i)
{
        const struct node *n = &t->nodes[i];
        for (int f = 0; f < st->nframes; f++) {
                const struct tpl *ft = st->frames[f].t;
                const struct node *p = &ft->nodes[st->frames[f].node];
                for (uint32_t j = st->frames[f].node + 1; j < p->end; j = next_node(ft->nodes, j)) {
                        const struct node *b = &ft->nodes[j];
                        if (b->kind == N_BLOCK && b->hash == n->hash && b->len == n->len &&
                            !memcmp(b->s, n->s, n->len))
                                return include(st, t, n, ft, j + 1, b->end);
                }
        }
        return render_range(st, t, i + 1, n->end);
}

static int render_node(struct render *st, const struct tpl *t, uint32_t i)
{
        const struct node *n = &t->nodes[i];
        switch (n->kind) {
        case N_TEXT:
                put_text(st, n);
                return 0;
        case N_VAR:
                return render_var(st, t, n);
        case N_SECTION:
        case N_INVERTED:
                return render_section(st, t, i);
        case N_PARTIAL: {
                const struct tpl *p = set_find(st->set, n->s, n->len, n->hash);
                return p ? include(st, t, n, p, 0, p->nnodes) : 0;
        }
        case N_PARENT:
                return render_parent(st, t, i);
        case N_BLOCK:
                return render_block(st, t, i);
        }
        return 0;
}

static int render_range(struct render *st, const struct tpl *t, uint32_t i, uint32_t end)
{
        int r = 0;
        if (i >= end)
                return 0;
        if (++st->depth > MAX_RENDER_DEPTH) {
                r = rerr(st, t, &t->nodes[i], -ELOOP, "templates nested deeper than %d",
                         MAX_RENDER_DEPTH);
                goto out;
        }
        while (i < end && !r) {
                const struct node *n = &t->nodes[i];
                if ((n->flags & NF_BOL) && n->kind != N_TEXT && st->itop > st->ibase)
                        put_indent(st);
                r = render_node(st, t, i);
                i = next_node(t->nodes, i);
        }
out:
        st->depth--;
        return r;
}

int mustache_render(struct buf *out, const struct mustache_set *set, const char *name,
                    const struct mustache_value *ctx, const struct mustache_render_opts *opts,
                    struct error *err)
{
        size_t len = strlen(name), start = out->len;
        const struct tpl *t = set_find(set, name, len, hash_bytes(name, len));
        if (!t)
                return error_set(err, -ENOENT, "no template \"%s\"", name);
        /* Only the scalars: the stacks are written before they are read. */
        struct render st;
        st.out = out;
        st.set = set;
        st.escape = opts ? opts->escape : MUSTACHE_ESCAPE_HTML;
        st.strict = opts && opts->strict;
        st.err = err;
        st.nctx = 0;
        st.ibase = st.itop = st.nframes = st.includes = st.depth = 0;
        if (ctx)
                st.ctx[st.nctx++] = ctx;
        int r = render_range(&st, t, 0, t->nnodes);
        if (r) {
                out->len = start;
                if (out->data)
                        out->data[start] = '\0';
        }
        return r;
}
