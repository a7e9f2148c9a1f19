/* config_yaml.h: the YAML side of the config loader, private to config/.
 *
 * config_yaml.c is the only file that includes <yaml.h>. It turns a file
 * into a flat list of nodes, one per mapping key, each named by its dotted
 * path ("channels.email.from") and carrying 1-based positions, so that
 * config.c can validate against its schema table without knowing YAML.
 * A mapping that is an item of a list is a node too, named by the list's
 * path and the item's 0-based index ("flows.default[2]"), and so are its
 * keys ("flows.default[2].step"); lists of lists are not recorded. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum config_yaml_kind {
        CONFIG_YAML_SCALAR,
        CONFIG_YAML_SEQUENCE,
        CONFIG_YAML_MAPPING,
};

struct config_yaml_node {
        char *key;                 /* dotted path from the root: "queue.batch" */
        enum config_yaml_kind kind;
        char *value;               /* SCALAR: its text (never NULL); else NULL */
        char **items;              /* SEQUENCE: the scalar items, NULL-terminated */
        int *item_line, *item_col; /* SEQUENCE: the position of each of items */
        size_t n_items;
        bool nested;               /* SEQUENCE: had a non-scalar item (not in items) */
        bool list_item;            /* SEQUENCE: one of those was a list (it has no node) */
        int line, col;             /* position of the key */
        int value_line, value_col; /* position of the value ('{' or '[' if flow) */
};

struct config_yaml_doc {
        struct config_yaml_node *nodes; /* document order; a mapping before its children */
        size_t n_nodes;
        size_t n_errors;                /* non-fatal problems appended to err */
};

/* Parses path into *doc (which must be zeroed). Returns a negative errno
 * when the file cannot be read ("FILE: cannot read: ...") or is not usable
 * YAML ("FILE:LINE:COL: yaml: ..."); doc is then empty. Otherwise returns 0;
 * problems that only spoil one key (duplicates, keys containing '.') are
 * counted in doc->n_errors. Every message is appended to err with
 * config_yaml_error_add. Free doc with config_yaml_doc_free either way. */
int config_yaml_load(struct config_yaml_doc *doc, const char *path, struct error *err);

/* Frees everything doc owns and leaves it zeroed. NULL is a no-op. */
void config_yaml_doc_free(struct config_yaml_doc *doc);

/* Appends one formatted line to err->msg (err may be NULL). When the
 * buffer is nearly full the list is closed with a "..." line instead and
 * further lines are dropped. */
void config_yaml_error_add(struct error *err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
