/* mustache.h: the template engine (Mustache spec v1.4 core + inheritance).
 *
 * Templates are compiled once into a struct mustache_set under a name and
 * rendered many times against a struct mustache_value context tree. The
 * engine is pure: it never reads files and never logs. Partials and parents
 * ({{>name}}, {{<name}}) are looked up in the set by name at render time; a
 * missing one renders as the empty string, as the spec asks.
 *
 * Rendering allocates nothing but the growth of the output buffer: the
 * context stack, the indentation stack and the block-override stack are
 * fixed arrays, bounded by the limits below (exceeding one is an error,
 * never a stack overflow). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

/* Template sources longer than this are refused at compile time. */
#define MUSTACHE_MAX_SOURCE (1024 * 1024)
/* Sections nested in one template, and context stack depth at render. */
#define MUSTACHE_MAX_NESTING 64
/* Partials, parents and block overrides nested at render (recursion). */
#define MUSTACHE_MAX_INCLUDE 100

/* ---- Values: the context tree ------------------------------------------ */

enum mustache_type {
        MUSTACHE_NULL,
        MUSTACHE_BOOL,
        MUSTACHE_NUMBER, /* kept as text, rendered byte for byte */
        MUSTACHE_STRING,
        MUSTACHE_LIST,
        MUSTACHE_MAP, /* ordered; keys unique */
};

struct mustache_value;

/* Constructors: each returns a new value the caller owns (free it with
 * mustache_value_free, or hand it to a map or list, which takes it over).
 * Strings are copied and may hold NUL bytes (mustache_string_len). */
struct mustache_value *mustache_null(void);
struct mustache_value *mustache_bool(bool b);
struct mustache_value *mustache_string(const char *s);
struct mustache_value *mustache_string_len(const char *s, size_t len);
struct mustache_value *mustache_map_new(void);
struct mustache_value *mustache_list_new(void);

/* Numbers. mustache_number_text keeps text verbatim (the caller vouches it
 * is a number: "1.50" renders as "1.50"); mustache_int renders in decimal;
 * mustache_number renders a double in the shortest form that reads back
 * as the same double ("1.21", "85", "0.30000000000000004"), like JSON and
 * JavaScript do (C locale assumed); NaN and infinities become MUSTACHE_NULL. */
struct mustache_value *mustache_number_text(const char *text);
struct mustache_value *mustache_int(long long n);
struct mustache_value *mustache_number(double d);

/* Frees v and everything it owns; NULL is a no-op. */
void mustache_value_free(struct mustache_value *v);

/* Sets map[key] = v, taking v over (a previous value under key is freed;
 * the key keeps its original position). key is copied. map must be a
 * MUSTACHE_MAP (else abort: a bug). Returns v, borrowed, for chaining. */
struct mustache_value *mustache_map_set(struct mustache_value *map, const char *key,
                                        struct mustache_value *v);
/* Shorthands for mustache_map_set(map, key, mustache_xxx(...)); each
 * returns the new value, borrowed (owned by map). */
struct mustache_value *mustache_map_set_str(struct mustache_value *map, const char *key,
                                            const char *s);
struct mustache_value *mustache_map_set_num(struct mustache_value *map, const char *key,
                                            double d);
struct mustache_value *mustache_map_set_int(struct mustache_value *map, const char *key,
                                            long long n);
struct mustache_value *mustache_map_set_bool(struct mustache_value *map, const char *key,
                                             bool b);
struct mustache_value *mustache_map_set_map(struct mustache_value *map, const char *key);
struct mustache_value *mustache_map_set_list(struct mustache_value *map, const char *key);

/* Appends v to list, taking v over; list must be a MUSTACHE_LIST. Returns
 * v, borrowed (abort if list is no list). mustache_list_push_map appends a
 * new empty map and returns it, borrowed. */
struct mustache_value *mustache_list_push(struct mustache_value *list, struct mustache_value *v);
struct mustache_value *mustache_list_push_map(struct mustache_value *list);

/* Inspection. mustache_map_get returns the value under key (borrowed) or
 * NULL when map is not a map or has no such key. mustache_value_text gives
 * the text of a string or number (borrowed; *len set), else NULL. */
enum mustache_type mustache_value_type(const struct mustache_value *v);
const struct mustache_value *mustache_map_get(const struct mustache_value *map, const char *key);
size_t mustache_value_len(const struct mustache_value *v); /* list items / map keys */
/* Item i of a list (borrowed), or NULL when v is no list or too short. */
const struct mustache_value *mustache_list_get(const struct mustache_value *list, size_t i);
const char *mustache_value_text(const struct mustache_value *v, size_t *len);

/* Builds a value tree from JSON text (mustache_json.c, the only engine file
 * that knows jansson). Any JSON value may be the root. On success *out is
 * a new tree the caller frees; on error returns -EINVAL, *out is untouched
 * and err says "json:LINE:COL: what". Reals render in the shortest
 * round-trip form (1.210 -> "1.21", 1e2 -> "100"), integers in decimal. */
int mustache_value_from_json(struct mustache_value **out, const char *json, size_t len,
                             struct error *err);

/* ---- Templates --------------------------------------------------------- */

struct mustache_set;

/* A new, empty set the caller frees with mustache_set_free (NULL: no-op),
 * which frees every template in it. */
struct mustache_set *mustache_set_new(void);
void mustache_set_free(struct mustache_set *set);

/* Compiles source (len bytes, borrowed, need not be NUL-terminated) and
 * stores it under name (copied), replacing a template of that name. On a
 * syntax error returns -EINVAL (-E2BIG when len > MUSTACHE_MAX_SOURCE), the
 * set is unchanged and err says e.g.
 * `reminder.html:12:5: unclosed section "invoices"`. */
int mustache_set_add(struct mustache_set *set, const char *name, const char *source, size_t len,
                     struct error *err);
bool mustache_set_has(const struct mustache_set *set, const char *name);

enum mustache_escape {
        MUSTACHE_ESCAPE_HTML,   /* & " < > as the spec asks (HTML e-mail) */
        MUSTACHE_ESCAPE_NONE,   /* plain text: e-mail text part, SMS */
        MUSTACHE_ESCAPE_MARKUP, /* & < > " ' as XML entities (Pango markup) */
};

struct mustache_render_opts {
        enum mustache_escape escape;
        /* A {{name}} / {{{name}}} / {{&name}} that resolves to nothing is an
         * error ("email.txt:3:9: customer.nmae: no such variable") instead
         * of the empty string. Sections on missing names stay false. */
        bool strict;
};

/* Renders template name of set against ctx (borrowed; NULL = empty) and
 * appends the result to out. opts NULL means HTML escaping, not strict.
 * Returns 0; or -ENOENT (no such template, or a missing variable in strict
 * mode), -ELOOP (a nesting limit above) with err set and out restored to
 * its length on entry. Allocates nothing but out's growth; a set may be
 * rendered from several threads at once. */
int mustache_render(struct buf *out, const struct mustache_set *set, const char *name,
                    const struct mustache_value *ctx, const struct mustache_render_opts *opts,
                    struct error *err);
