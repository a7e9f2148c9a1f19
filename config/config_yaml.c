/* config_yaml.c: reads a config file with libyaml into a flat list of keyed
 * nodes with positions (see config_yaml.h). The only file including <yaml.h>.
 *
 * Event-based rather than the document API so that aliases can be refused
 * where they are written and duplicate keys reported at the second one. */
#include "config_yaml.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "buf.h"

#define MAX_FILE_SIZE (1024 * 1024)
#define MAX_DEPTH 32
#define NO_NODE SIZE_MAX

struct parse {
        yaml_parser_t parser;
        const char *path;
        const struct buf *text;
        struct config_yaml_doc *doc;
        size_t cap;
        struct error *err;
};

void config_yaml_error_add(struct error *err, const char *fmt, ...)
{
        static const char more[] = "\n...";
        char raw[512], line[512];
        size_t len, n, sep, o = 0;
        va_list ap;

        if (!err)
                return;
        len = strnlen(err->msg, sizeof(err->msg) - 1);
        err->msg[len] = '\0';
        /* already closed with a "..." line */
        if ((len == 3 && !strcmp(err->msg, "...")) ||
            (len >= 4 && !strcmp(err->msg + len - 4, more)))
                return;

        va_start(ap, fmt);
        vsnprintf(raw, sizeof(raw), fmt, ap);
        va_end(ap);
        /* One problem per line: a value or key quoted in a message may
         * hold a line break (a folded plain scalar, "\n" in quotes) that
         * would split it and could pass for another FILE:LINE:COL line.
         * Control characters are written as C escapes instead. */
        for (const unsigned char *p = (const unsigned char *)raw; *p && o + 5 < sizeof(line);
             p++) {
                if (*p >= 0x20 && *p != 0x7f)
                        line[o++] = (char)*p;
                else if (*p == '\n' || *p == '\t')
                        o += (size_t)snprintf(line + o, 3, "\\%c", *p == '\n' ? 'n' : 't');
                else
                        o += (size_t)snprintf(line + o, 5, "\\x%02x", *p);
        }
        line[o] = '\0';
        n = o;
        sep = len ? 1 : 0;

        /* every line keeps room for the closing "\n..." behind it */
        if (len + sep + n + sizeof(more) <= sizeof(err->msg)) {
                if (sep)
                        err->msg[len++] = '\n';
                memcpy(err->msg + len, line, n + 1);
        } else {
                memcpy(err->msg + len, more + !sep, sizeof(more) - !sep);
        }
}

static int read_file(const char *path, struct buf *b, struct error *err)
{
        char chunk[8192];
        size_t n;
        int r = 0;
        FILE *f;

        f = fopen(path, "re");
        if (!f) {
                r = -errno;
                goto out;
        }
        errno = 0;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
                if (b->len + n > MAX_FILE_SIZE) {
                        r = -EFBIG;
                        goto out;
                }
                buf_append(b, chunk, n);
        }
        if (ferror(f))
                r = errno ? -errno : -EIO;
out:
        if (f)
                fclose(f);
        if (r < 0)
                config_yaml_error_add(err, "%s: cannot read: %s", path, strerror(-r));
        return r;
}

static void fatal(struct parse *p, const yaml_mark_t *m, const char *problem)
{
        config_yaml_error_add(p->err, "%s:%zu:%zu: yaml: %s", p->path, m->line + 1,
                              m->column + 1, problem);
}

static int syntax_error(struct parse *p)
{
        const yaml_parser_t *y = &p->parser;
        yaml_mark_t m = y->problem_mark;

        if (y->error == YAML_MEMORY_ERROR) {
                config_yaml_error_add(p->err, "%s: yaml: out of memory", p->path);
                return -ENOMEM;
        }
        /* reader errors (bad encoding) only know the byte offset */
        if (y->error == YAML_READER_ERROR) {
                m.line = m.column = 0;
                for (size_t i = 0; i < y->problem_offset && i < p->text->len; i++) {
                        if (p->text->data[i] == '\n') {
                                m.line++;
                                m.column = 0;
                        } else {
                                m.column++;
                        }
                }
        }
        fatal(p, &m, y->problem ? y->problem : "cannot parse");
        return -EINVAL;
}

static int next(struct parse *p, yaml_event_t *ev)
{
        if (!yaml_parser_parse(&p->parser, ev))
                return syntax_error(p);
        return 0;
}

/* Refuses anchors and aliases: they would let one value hide behind
 * another key's position. Returns 0 or -EINVAL (reported). */
static int plain_node(struct parse *p, const yaml_event_t *ev)
{
        const yaml_char_t *anchor = NULL;

        switch (ev->type) {
        case YAML_ALIAS_EVENT:
                fatal(p, &ev->start_mark, "aliases are not supported");
                return -EINVAL;
        case YAML_SCALAR_EVENT:
                anchor = ev->data.scalar.anchor;
                break;
        case YAML_SEQUENCE_START_EVENT:
                anchor = ev->data.sequence_start.anchor;
                break;
        case YAML_MAPPING_START_EVENT:
                anchor = ev->data.mapping_start.anchor;
                break;
        default:
                break;
        }
        if (anchor) {
                fatal(p, &ev->start_mark, "anchors are not supported");
                return -EINVAL;
        }
        return 0;
}

static size_t add_node(struct parse *p, const char *key, enum config_yaml_kind kind,
                       const yaml_mark_t *key_mark, const yaml_mark_t *value_mark)
{
        struct config_yaml_doc *doc = p->doc;
        struct config_yaml_node *n;

        if (doc->n_nodes == p->cap) {
                p->cap = p->cap ? 2 * p->cap : 32;
                doc->nodes = xrealloc(doc->nodes, p->cap * sizeof(*doc->nodes));
        }
        n = &doc->nodes[doc->n_nodes];
        memset(n, 0, sizeof(*n));
        n->key = xstrdup(key);
        n->kind = kind;
        n->line = (int)key_mark->line + 1;
        n->col = (int)key_mark->column + 1;
        n->value_line = (int)value_mark->line + 1;
        n->value_col = (int)value_mark->column + 1;
        return doc->n_nodes++;
}

static const struct config_yaml_node *find_node(const struct parse *p, const char *key)
{
        for (size_t i = 0; i < p->doc->n_nodes; i++)
                if (!strcmp(p->doc->nodes[i].key, key))
                        return &p->doc->nodes[i];
        return NULL;
}

static int parse_mapping(struct parse *p, const char *prefix, bool record, int depth);

/* After SEQUENCE_START: collects scalar items into node idx (NO_NODE: skip);
 * a mapping item becomes node "<key>[i]" with its keys below it. */
static int parse_sequence(struct parse *p, size_t idx, int depth)
{
        yaml_event_t ev;
        size_t item = 0;
        int r;

        for (;; item++) {
                r = next(p, &ev);
                if (r < 0)
                        return r;
                r = plain_node(p, &ev);
                if (r < 0)
                        goto out;
                if (depth > MAX_DEPTH) {
                        fatal(p, &ev.start_mark, "nesting too deep");
                        r = -EINVAL;
                        goto out;
                }
                switch (ev.type) {
                case YAML_SEQUENCE_END_EVENT:
                        yaml_event_delete(&ev);
                        return 0;
                case YAML_SCALAR_EVENT:
                        if (idx != NO_NODE) {
                                struct config_yaml_node *n = &p->doc->nodes[idx];
                                n->items = xrealloc(n->items,
                                                    (n->n_items + 2) * sizeof(*n->items));
                                n->item_line = xrealloc(n->item_line,
                                                        (n->n_items + 1) * sizeof(int));
                                n->item_col = xrealloc(n->item_col,
                                                       (n->n_items + 1) * sizeof(int));
                                n->item_line[n->n_items] = (int)ev.start_mark.line + 1;
                                n->item_col[n->n_items] = (int)ev.start_mark.column + 1;
                                n->items[n->n_items++] =
                                        xstrndup((const char *)ev.data.scalar.value,
                                                 ev.data.scalar.length);
                                n->items[n->n_items] = NULL;
                        }
                        break;
                case YAML_SEQUENCE_START_EVENT:
                        if (idx != NO_NODE)
                                p->doc->nodes[idx].nested = p->doc->nodes[idx].list_item = true;
                        r = parse_sequence(p, NO_NODE, depth + 1);
                        break;
                case YAML_MAPPING_START_EVENT: {
                        char *key = NULL;
                        if (idx != NO_NODE) {
                                struct buf b = BUF_INIT;
                                p->doc->nodes[idx].nested = true;
                                buf_printf(&b, "%s[%zu]", p->doc->nodes[idx].key, item);
                                key = buf_steal(&b);
                                add_node(p, key, CONFIG_YAML_MAPPING, &ev.start_mark,
                                         &ev.start_mark);
                        }
                        r = parse_mapping(p, key ? key : "", key != NULL, depth + 1);
                        free(key);
                        break;
                }
                default:
                        fatal(p, &ev.start_mark, "unexpected event in a sequence");
                        r = -EINVAL;
                        break;
                }
                yaml_event_delete(&ev);
                if (r < 0)
                        return r;
        }
out:
        yaml_event_delete(&ev);
        return r;
}

/* Reads the value of key (its position at key_mark); records it when asked. */
static int parse_value(struct parse *p, const char *key, const yaml_mark_t *key_mark,
                       bool record, int depth)
{
        yaml_event_t ev;
        size_t idx = NO_NODE;
        int r;

        r = next(p, &ev);
        if (r < 0)
                return r;
        r = plain_node(p, &ev);
        if (r < 0)
                goto out;
        if (depth > MAX_DEPTH) {
                fatal(p, &ev.start_mark, "nesting too deep");
                r = -EINVAL;
                goto out;
        }
        switch (ev.type) {
        case YAML_SCALAR_EVENT:
                if (record) {
                        idx = add_node(p, key, CONFIG_YAML_SCALAR, key_mark, &ev.start_mark);
                        p->doc->nodes[idx].value = xstrndup((const char *)ev.data.scalar.value,
                                                            ev.data.scalar.length);
                }
                break;
        case YAML_SEQUENCE_START_EVENT:
                if (record)
                        idx = add_node(p, key, CONFIG_YAML_SEQUENCE, key_mark, &ev.start_mark);
                r = parse_sequence(p, idx, depth);
                break;
        case YAML_MAPPING_START_EVENT:
                if (record)
                        add_node(p, key, CONFIG_YAML_MAPPING, key_mark, &ev.start_mark);
                r = parse_mapping(p, key, record, depth);
                break;
        default:
                fatal(p, &ev.start_mark, "unexpected event for a value");
                r = -EINVAL;
                break;
        }
out:
        yaml_event_delete(&ev);
        return r;
}

/* After MAPPING_START: reads key/value pairs up to MAPPING_END. prefix is
 * the dotted path of the mapping ("" at the top); nothing is recorded when
 * record is false (the value of a key already reported as bad). */
static int parse_mapping(struct parse *p, const char *prefix, bool record, int depth)
{
        yaml_event_t ev;
        int r;

        for (;;) {
                const struct config_yaml_node *first;
                yaml_mark_t key_mark;
                bool keep = record;
                char *key;

                r = next(p, &ev);
                if (r < 0)
                        return r;
                if (ev.type == YAML_MAPPING_END_EVENT) {
                        yaml_event_delete(&ev);
                        return 0;
                }
                r = plain_node(p, &ev);
                if (r == 0 && ev.type != YAML_SCALAR_EVENT) {
                        fatal(p, &ev.start_mark, "mapping keys must be scalars");
                        r = -EINVAL;
                }
                if (r < 0) {
                        yaml_event_delete(&ev);
                        return r;
                }

                key_mark = ev.start_mark;
                if (*prefix) {
                        struct buf b = BUF_INIT;
                        buf_printf(&b, "%s.%.*s", prefix, (int)ev.data.scalar.length,
                                   (const char *)ev.data.scalar.value);
                        key = buf_steal(&b);
                } else {
                        key = xstrndup((const char *)ev.data.scalar.value,
                                       ev.data.scalar.length);
                }
                if (keep && (ev.data.scalar.length == 0 ||
                             memchr(ev.data.scalar.value, '.', ev.data.scalar.length) ||
                             strlen((const char *)ev.data.scalar.value) !=
                                     ev.data.scalar.length)) {
                        config_yaml_error_add(p->err, "%s:%zu:%zu: %s%s: not a valid key name",
                                              p->path, key_mark.line + 1, key_mark.column + 1,
                                              key, ev.data.scalar.length ? "" : "\"\"");
                        p->doc->n_errors++;
                        keep = false;
                }
                yaml_event_delete(&ev);

                if (keep && (first = find_node(p, key))) {
                        config_yaml_error_add(p->err, "%s:%zu:%zu: %s: duplicate key (first at %d:%d)",
                                              p->path, key_mark.line + 1,
                                              key_mark.column + 1, key, first->line, first->col);
                        p->doc->n_errors++;
                        keep = false;
                }
                r = parse_value(p, key, &key_mark, keep, depth + 1);
                free(key);
                if (r < 0)
                        return r;
        }
}

/* stream: at most one document, whose top is a mapping (or nothing) */
static int parse_stream(struct parse *p)
{
        yaml_event_t ev;
        int r, i;

        /* STREAM_START, then DOCUMENT_START or STREAM_END */
        for (i = 0; i < 2; i++) {
                r = next(p, &ev);
                if (r < 0)
                        return r;
                if (ev.type == YAML_STREAM_END_EVENT) {
                        yaml_event_delete(&ev);
                        return 0;
                }
                yaml_event_delete(&ev);
        }

        r = next(p, &ev);
        if (r < 0)
                return r;
        r = plain_node(p, &ev);
        if (r < 0)
                goto out;
        if (ev.type == YAML_MAPPING_START_EVENT) {
                r = parse_mapping(p, "", true, 1);
        } else if (!(ev.type == YAML_SCALAR_EVENT && ev.data.scalar.length == 0 &&
                     ev.data.scalar.plain_implicit)) {
                /* an empty document ("---" alone) is fine, anything else is not */
                fatal(p, &ev.start_mark, "the top level must be a mapping");
                r = -EINVAL;
        }
        yaml_event_delete(&ev);
        if (r < 0)
                return r;

        r = next(p, &ev); /* DOCUMENT_END */
        if (r < 0)
                return r;
        yaml_event_delete(&ev);
        r = next(p, &ev);
        if (r < 0)
                return r;
        if (ev.type != YAML_STREAM_END_EVENT) {
                fatal(p, &ev.start_mark, "only one document is allowed");
                r = -EINVAL;
        }
out:
        yaml_event_delete(&ev);
        return r;
}

int config_yaml_load(struct config_yaml_doc *doc, const char *path, struct error *err)
{
        struct buf text = BUF_INIT;
        struct parse p = { .path = path, .text = &text, .doc = doc, .err = err };
        int r;

        r = read_file(path, &text, err);
        if (r < 0)
                goto out;
        if (!yaml_parser_initialize(&p.parser)) {
                config_yaml_error_add(err, "%s: yaml: out of memory", path);
                r = -ENOMEM;
                goto out;
        }
        yaml_parser_set_input_string(&p.parser, (const unsigned char *)buf_str(&text),
                                     text.len);
        r = parse_stream(&p);
        yaml_parser_delete(&p.parser);
out:
        if (r < 0)
                config_yaml_doc_free(doc);
        buf_free(&text);
        return r;
}

void config_yaml_doc_free(struct config_yaml_doc *doc)
{
        if (!doc)
                return;
        for (size_t i = 0; i < doc->n_nodes; i++) {
                struct config_yaml_node *n = &doc->nodes[i];
                free(n->key);
                free(n->value);
                for (size_t j = 0; j < n->n_items; j++)
                        free(n->items[j]);
                free(n->items);
                free(n->item_line);
                free(n->item_col);
        }
        free(doc->nodes);
        memset(doc, 0, sizeof(*doc));
}
