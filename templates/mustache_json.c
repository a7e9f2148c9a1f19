/* mustache_json.c: a mustache value tree from JSON text.
 *
 * The only engine file that knows jansson; a json_t never leaves it. Used
 * by the conformance tests and by `dunningctl render`. */
#include <errno.h>
#include <jansson.h>

#include "mustache.h"

static struct mustache_value *convert(const json_t *j)
{
        struct mustache_value *v;
        const char *key;
        json_t *item;
        size_t i;

        switch (json_typeof(j)) {
        case JSON_OBJECT:
                v = mustache_map_new();
                json_object_foreach ((json_t *)j, key, item)
                        mustache_map_set(v, key, convert(item));
                return v;
        case JSON_ARRAY:
                v = mustache_list_new();
                json_array_foreach (j, i, item)
                        mustache_list_push(v, convert(item));
                return v;
        case JSON_STRING:
                return mustache_string_len(json_string_value(j), json_string_length(j));
        case JSON_INTEGER:
                return mustache_int(json_integer_value(j));
        case JSON_REAL:
                return mustache_number(json_real_value(j));
        case JSON_TRUE:
                return mustache_bool(true);
        case JSON_FALSE:
                return mustache_bool(false);
        default:
                return mustache_null();
        }
}

int mustache_value_from_json(struct mustache_value **out, const char *json, size_t len,
                             struct error *err)
{
        json_error_t jerr;
        json_t *root = json_loadb(json, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!root)
                return error_set(err, -EINVAL, "json:%d:%d: %s", jerr.line, jerr.column,
                                 jerr.text);
        *out = convert(root);
        json_decref(root);
        return 0;
}
