/* fuzz-mustache.c: the template engine: compile (mustache_set_add) and
 * render (mustache_render) against a context built from JSON.
 *
 * Input: NUL-separated fields: the JSON context, then the template "main",
 * then templates "a", "b" and "c" for partials and parents.
 *
 * Beyond "no crash": a compile error leaves the set without the template;
 * a failed render restores the output buffer to its length on entry (what
 * render.c relies on); rendering is deterministic; and with HTML escaping,
 * templates that contain no '<' and no unescaped or delimiter-changing tag
 * never let a '<' from the context into the output (no markup injection
 * into the HTML e-mail). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "mustache.h"

static const char prefix[] = "kept:";

static void render(const struct mustache_set *set, const struct mustache_value *ctx,
                   enum mustache_escape escape, bool strict, bool markup_free)
{
        struct mustache_render_opts opts = { .escape = escape, .strict = strict };
        struct error err = { "" };
        struct buf out = BUF_INIT, again = BUF_INIT;

        buf_puts(&out, prefix);
        int r = mustache_render(&out, set, "main", ctx, &opts, &err);
        if (r < 0) {
                FUZZ_ASSERT(r == -ENOENT || r == -ELOOP, "render: %d", r);
                FUZZ_ASSERT(out.len == strlen(prefix) && strcmp(out.data, prefix) == 0,
                            "render failed (%s) but left %zu bytes", err.msg, out.len);
                FUZZ_ASSERT(err.msg[0], "render failed without a message");
                goto out;
        }
        buf_puts(&again, prefix);
        FUZZ_ASSERT(mustache_render(&again, set, "main", ctx, &opts, &err) == 0 &&
                    again.len == out.len && memcmp(again.data, out.data, out.len) == 0,
                    "a second render differs");
        if (escape == MUSTACHE_ESCAPE_HTML && markup_free)
                FUZZ_ASSERT(!memchr(out.data, '<', out.len), "'<' in escaped output: %s",
                            out.data);
out:
        buf_free(&out);
        buf_free(&again);
}

static bool markup_free(const char *t)
{
        return !strchr(t, '<') && !strchr(t, '&') && !strchr(t, '=') && !strstr(t, "{{{");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const names[] = { "main", "a", "b", "c" };
        struct fuzz_fields ff;
        struct mustache_value *ctx = NULL;
        struct error err = { "" };
        bool safe = true;

        fuzz_split(&ff, data, size, 5);
        struct mustache_set *set = mustache_set_new();
        for (size_t i = 1; i < ff.n; i++) {
                const char *name = names[i - 1];
                size_t len = strlen(ff.f[i]);
                int r = mustache_set_add(set, name, ff.f[i], len, &err);
                if (r < 0) {
                        FUZZ_ASSERT(r == -EINVAL || r == -E2BIG, "compile: %d", r);
                        FUZZ_ASSERT(!mustache_set_has(set, name) && err.msg[0],
                                    "a failed compile left %s in the set", name);
                } else {
                        FUZZ_ASSERT(mustache_set_has(set, name), "%s compiled, not in set", name);
                }
                safe = safe && markup_free(ff.f[i]);
        }
        if (mustache_value_from_json(&ctx, ff.f[0], strlen(ff.f[0]), &err) < 0)
                ctx = NULL;   /* an empty context is a context too */
        render(set, ctx, MUSTACHE_ESCAPE_HTML, false, safe);
        render(set, ctx, MUSTACHE_ESCAPE_HTML, true, safe);
        render(set, ctx, MUSTACHE_ESCAPE_NONE, false, false);
        render(set, ctx, MUSTACHE_ESCAPE_MARKUP, false, false);
        mustache_value_free(ctx);
        mustache_set_free(set);
        fuzz_fields_free(&ff);
        return 0;
}
