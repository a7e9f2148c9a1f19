/* jsonx.h: JSON without a tree, for the per-message hot path of the HTTP
 * clients: a string escaper for request bodies written straight into a
 * buffer, and a reader of one member of an answer. Pure; jansson stays the
 * parser and writer everywhere else. */
#pragma once

#include <stddef.h>

#include "buf.h"

/* Appends the UTF-8 string s JSON-escaped, without the quotes, to b, the
 * way jansson writes it: \" \\ \b \f \n \r \t, other characters below
 * 0x20 as \u00XX (upper-case hex); everything else, '/' and non-ASCII
 * included, as it is. Returns 0, or -EILSEQ when s is not valid UTF-8
 * (overlong forms, surrogates, above U+10FFFF; what jansson refuses): b
 * then holds part of it and the caller drops what it was building. */
int jsonx_escape(struct buf *b, const char *s);

/* The value of member key of the JSON object text[0..len) (one object,
 * white space around it allowed), when it is a string (unescaped, into
 * UTF-8) or an integer (in decimal), into out, cut to size - 1 bytes at
 * the most. Reads the whole text without allocating and checks it as
 * jansson does (but for reals too large for a double, which it takes); a
 * key given twice counts as its last. Returns 0; -ENOENT when there is no
 * such member or it is neither a string nor an integer; -EINVAL when text
 * is not one JSON object (or has a string with \u0000, or an integer
 * beyond 64 bits), out then "". */
int jsonx_member_scalar(const char *text, size_t len, const char *key, char *out,
                        size_t size);
