/* test-mustache.c: the template engine: the official spec, escaping per
 * output, error locations, strict mode, hostile input, value builders. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mustache.h"
#include "unit.h"

/* ---- helpers ------------------------------------------------------------ */

static struct mustache_value *json(const char *text)
{
        struct mustache_value *v = NULL;
        struct error err;
        int r = mustache_value_from_json(&v, text, strlen(text), &err);
        ck_assert_msg(r == 0, "bad test JSON %s: %s", text, err.msg);
        return v;
}

/* Compiles source as "t" and renders it against data (JSON) with escape. */
static char *render_esc(const char *source, const char *data, enum mustache_escape escape)
{
        struct mustache_set *set = mustache_set_new();
        struct error err;
        struct buf out = BUF_INIT;
        struct mustache_value *ctx = json(data);
        struct mustache_render_opts opts = { .escape = escape };
        ck_assert_msg(mustache_set_add(set, "t", source, strlen(source), &err) == 0, "%s",
                      err.msg);
        ck_assert_msg(mustache_render(&out, set, "t", ctx, &opts, &err) == 0, "%s", err.msg);
        mustache_value_free(ctx);
        mustache_set_free(set);
        return buf_steal(&out);
}

static char *render(const char *source, const char *data)
{
        return render_esc(source, data, MUSTACHE_ESCAPE_HTML);
}

#define ASSERT_RENDER(source, data, want)                      \
        do {                                                   \
                char *got_ = render(source, data);             \
                ck_assert_str_eq(got_, want);                  \
                free(got_);                                    \
        } while (0)

/* The compile error message for source under name, or "" on success. */
static const char *compile_error(const char *name, const char *source, size_t len, int want_rc)
{
        static struct error err;
        struct mustache_set *set = mustache_set_new();
        err.msg[0] = '\0';
        int r = mustache_set_add(set, name, source, len, &err);
        ck_assert_int_eq(r, want_rc);
        ck_assert(mustache_set_has(set, name) == (r == 0));
        mustache_set_free(set);
        return r ? err.msg : "";
}

/* ---- the official spec ---------------------------------------------------- */

static const struct {
        const char *file;
        int cases;
} spec_files[] = {
        { "comments", 12 },   { "delimiters", 14 }, { "interpolation", 42 },
        { "inverted", 22 },   { "partials", 12 },   { "sections", 34 },
        { "~inheritance", 27 },
};
#define SPEC_TOTAL 163

static char *conformance_dir(void)
{
        const char *env = getenv("DUNNINGD_CONFORMANCE");
        const char *root = getenv("DUNNINGD_SOURCE_ROOT");
        struct buf b = BUF_INIT;
        if (env && *env)
                buf_puts(&b, env);
        else
                buf_printf(&b, "%s/../shared/conformance", root && *root ? root : ".");
        return buf_steal(&b);
}

/* Runs one spec case; returns 1 when it rendered byte for byte. */
static int spec_case(const char *file, json_t *tc)
{
        const char *name = json_string_value(json_object_get(tc, "name"));
        const char *tmpl = json_string_value(json_object_get(tc, "template"));
        const char *want = json_string_value(json_object_get(tc, "expected"));
        json_t *partials = json_object_get(tc, "partials");
        struct mustache_set *set = mustache_set_new();
        struct mustache_value *ctx = NULL;
        struct buf out = BUF_INIT;
        struct error err = { "" };
        const char *pname;
        json_t *ptext;
        int ok = 0;

        ck_assert_msg(name && tmpl && want, "%s: malformed case", file);
        json_object_foreach (partials, pname, ptext) {
                if (mustache_set_add(set, pname, json_string_value(ptext),
                                     json_string_length(ptext), &err))
                        goto out;
        }
        if (mustache_set_add(set, "(spec template)", tmpl, strlen(tmpl), &err))
                goto out;
        char *data = json_dumps(json_object_get(tc, "data"), JSON_ENCODE_ANY);
        int r = mustache_value_from_json(&ctx, data, strlen(data), &err);
        free(data);
        if (r || mustache_render(&out, set, "(spec template)", ctx, NULL, &err))
                goto out;
        ok = strcmp(buf_str(&out), want) == 0;
out:
        if (!ok) {
                json_t *w = json_string(want), *g = json_string(buf_str(&out));
                char *ws = json_dumps(w, JSON_ENCODE_ANY), *gs = json_dumps(g, JSON_ENCODE_ANY);
                fprintf(stderr, "spec %s / %s: FAILED%s%s\n  template: %s\n  expected: %s\n"
                                "  got:      %s\n",
                        file, name, err.msg[0] ? ": " : "", err.msg, tmpl, ws, gs);
                free(ws);
                free(gs);
                json_decref(w);
                json_decref(g);
        }
        mustache_value_free(ctx);
        mustache_set_free(set);
        buf_free(&out);
        return ok;
}

START_TEST(test_spec)
{
        char *dir = conformance_dir();
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
                printf("conformance material not found at %s: skipped\n", dir);
                free(dir);
                return;
        }
        int total = 0, passed = 0;
        for (size_t f = 0; f < sizeof(spec_files) / sizeof(spec_files[0]); f++) {
                char path[4096];
                json_error_t jerr;
                snprintf(path, sizeof(path), "%s/mustache/specs/%s.json", dir, spec_files[f].file);
                json_t *doc = json_load_file(path, 0, &jerr);
                ck_assert_msg(doc, "%s: %s", path, jerr.text);
                json_t *tests = json_object_get(doc, "tests"), *tc;
                size_t i;
                int n = 0;
                json_array_foreach (tests, i, tc) {
                        passed += spec_case(spec_files[f].file, tc);
                        n++;
                }
                json_decref(doc);
                ck_assert_msg(n == spec_files[f].cases, "%s: %d cases, expected %d", path, n,
                              spec_files[f].cases);
                total += n;
        }
        free(dir);
        printf("mustache spec: %d/%d cases pass\n", passed, total);
        ck_assert_int_eq(total, SPEC_TOTAL);
        ck_assert_int_eq(passed, total);
}
END_TEST

/* ---- escaping per output -------------------------------------------------- */

START_TEST(test_escape_modes)
{
        const char *tmpl = "{{name}}|{{{name}}}|{{&name}}";
        const char *data = "{\"name\": \"<script>alert('x')</script> Jan & Zn \\\"B.V.\\\"\"}";
        const char *raw = "<script>alert('x')</script> Jan & Zn \"B.V.\"";
        struct {
                enum mustache_escape mode;
                const char *escaped;
        } cases[] = {
                { MUSTACHE_ESCAPE_HTML,
                  "&lt;script&gt;alert('x')&lt;/script&gt; Jan &amp; Zn &quot;B.V.&quot;" },
                { MUSTACHE_ESCAPE_NONE, raw },
                { MUSTACHE_ESCAPE_MARKUP,
                  "&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; Jan &amp; Zn "
                  "&quot;B.V.&quot;" },
        };
        for (size_t i = 0; i < 3; i++) {
                char want[512];
                snprintf(want, sizeof(want), "%s|%s|%s", cases[i].escaped, raw, raw);
                char *got = render_esc(tmpl, data, cases[i].mode);
                ck_assert_str_eq(got, want);
                free(got);
        }
        /* Numbers, booleans and UTF-8 pass through; NUL bytes survive. */
        char *got = render_esc("{{n}} {{b}} {{s}}", "{\"n\": 1.5, \"b\": true, \"s\": \"één €\"}",
                               MUSTACHE_ESCAPE_MARKUP);
        ck_assert_str_eq(got, "1.5 true één €");
        free(got);
}
END_TEST

START_TEST(test_injection)
{
        /* A value is printed, never evaluated, in every mode and place. */
        const char *data = "{\"x\": \"{{y}}{{>p}}{{#y}}{{/y}}{{=| |=}}\", \"y\": \"BOOM\","
                           " \"list\": [\"{{y}}\"]}";
        ASSERT_RENDER("{{{x}}}", data, "{{y}}{{>p}}{{#y}}{{/y}}{{=| |=}}");
        ASSERT_RENDER("{{#list}}{{.}}{{/list}}", data, "{{y}}");
        char *got = render_esc("{{x}}", data, MUSTACHE_ESCAPE_NONE);
        ck_assert_str_eq(got, "{{y}}{{>p}}{{#y}}{{/y}}{{=| |=}}");
        free(got);
}
END_TEST

/* ---- compile errors ------------------------------------------------------- */

START_TEST(test_compile_errors)
{
        const char *src = "<html>\n\n\n\n\n\n\n\n\n\n\n    {{#invoices}}\n<td>{{number}}</td>\n";
        ck_assert_str_eq(compile_error("reminder.html", src, strlen(src), -EINVAL),
                         "reminder.html:12:5: unclosed section \"invoices\"");
        src = "{{#a}}\n  {{/b}}\n";
        ck_assert_str_eq(compile_error("t.txt", src, strlen(src), -EINVAL),
                         "t.txt:2:3: closing tag \"b\" does not match open section \"a\" (line 1)");
        src = "x{{/a}}";
        ck_assert_str_eq(compile_error("t.txt", src, strlen(src), -EINVAL),
                         "t.txt:1:2: closing tag \"a\" without an open section");
        src = "ab\n{{=<% =}}";
        ck_assert_str_eq(compile_error("t.txt", src, strlen(src), -EINVAL),
                         "t.txt:2:1: bad delimiter set \"<% \"");
        src = "{{= a b c =}}";
        ck_assert_str_eq(compile_error("t.txt", src, strlen(src), -EINVAL),
                         "t.txt:1:1: bad delimiter set \" a b c \"");
        src = "{{=a= b=}}";
        ck_assert_str_eq(compile_error("t.txt", src, strlen(src), -EINVAL),
                         "t.txt:1:1: bad delimiter set \"a= b\"");
        src = "Hello {{name";
        ck_assert_str_eq(compile_error("t.txt", src, strlen(src), -EINVAL),
                         "t.txt:1:7: unclosed tag, expected \"}}\"");
        src = "Hello\n {{{name}}";
        ck_assert_str_eq(compile_error("t.txt", src, strlen(src), -EINVAL),
                         "t.txt:2:2: unclosed tag, expected \"}}}\"");
        src = "{{=<% %>=}}\n<%name";
        ck_assert_str_eq(compile_error("t.txt", src, strlen(src), -EINVAL),
                         "t.txt:2:1: unclosed tag, expected \"%>\"");
        src = "a {{ }} b";
        ck_assert_str_eq(compile_error("t.txt", src, strlen(src), -EINVAL),
                         "t.txt:1:3: empty tag name");
        src = "{{#}}{{/}}";
        ck_assert_str_eq(compile_error("t.txt", src, strlen(src), -EINVAL),
                         "t.txt:1:1: empty tag name");
        src = "{{>  }}";
        ck_assert_str_eq(compile_error("t.txt", src, strlen(src), -EINVAL),
                         "t.txt:1:1: empty tag name");
        src = "{{a b}}";
        ck_assert_str_eq(compile_error("t.txt", src, strlen(src), -EINVAL),
                         "t.txt:1:1: invalid tag name \"a b\"");
        src = "{{a..b}}";
        ck_assert_str_eq(compile_error("t.txt", src, strlen(src), -EINVAL),
                         "t.txt:1:1: invalid tag name \"a..b\"");
        /* Fine: comments hold anything, names hold '/' and '-'. */
        src = "{{! {{#x}} }}{{<layout/email.txt}}{{$body}}{{/body}}{{/layout/email.txt}}";
        ck_assert_str_eq(compile_error("t.txt", src, strlen(src), 0), "");
        /* A failed add leaves a template of the same name alone. */
        struct mustache_set *set = mustache_set_new();
        struct error err;
        struct buf out = BUF_INIT;
        ck_assert_int_eq(mustache_set_add(set, "t", "old", 3, &err), 0);
        ck_assert_int_eq(mustache_set_add(set, "t", "{{#x}}", 6, &err), -EINVAL);
        ck_assert_int_eq(mustache_render(&out, set, "t", NULL, NULL, &err), 0);
        ck_assert_str_eq(buf_str(&out), "old");
        ck_assert_int_eq(mustache_set_add(set, "t", "new", 3, &err), 0);
        buf_reset(&out);
        ck_assert_int_eq(mustache_render(&out, set, "t", NULL, NULL, &err), 0);
        ck_assert_str_eq(buf_str(&out), "new");
        buf_free(&out);
        mustache_set_free(set);
}
END_TEST

/* ---- strict mode ---------------------------------------------------------- */

START_TEST(test_strict)
{
        struct mustache_set *set = mustache_set_new();
        struct error err;
        struct buf out = BUF_INIT;
        struct mustache_value *ctx =
                json("{\"customer\": {\"name\": \"Jan\", \"vat\": null}, \"items\": []}");
        struct mustache_render_opts strict = { .escape = MUSTACHE_ESCAPE_NONE, .strict = true };
        const char *src = "Betreft: herinnering\n\nGeachte {{customer.nmae}},\n";
        ck_assert_int_eq(mustache_set_add(set, "email.txt", src, strlen(src), &err), 0);
        /* Default: missing is empty. */
        ck_assert_int_eq(mustache_render(&out, set, "email.txt", ctx, NULL, &err), 0);
        ck_assert_str_eq(buf_str(&out), "Betreft: herinnering\n\nGeachte ,\n");
        /* Strict: an error naming the tag; out is back to what it was. */
        buf_reset(&out);
        buf_puts(&out, "keep");
        ck_assert_int_eq(mustache_render(&out, set, "email.txt", ctx, &strict, &err), -ENOENT);
        ck_assert_str_eq(err.msg, "email.txt:3:9: customer.nmae: no such variable");
        ck_assert_str_eq(buf_str(&out), "keep");
        /* Null is a value; sections on missing names are just false. */
        src = "[{{customer.vat}}]{{#nope}}x{{/nope}}{{^nope.deeper}}y{{/nope.deeper}}"
              "{{#items}}{{missing}}{{/items}}{{{customer.name}}}";
        ck_assert_int_eq(mustache_set_add(set, "ok.txt", src, strlen(src), &err), 0);
        buf_reset(&out);
        ck_assert_int_eq(mustache_render(&out, set, "ok.txt", ctx, &strict, &err), 0);
        ck_assert_str_eq(buf_str(&out), "[]yJan");
        /* Triple and ampersand tags too, and in a partial its own name. */
        src = "x\n  {{&amount}}";
        ck_assert_int_eq(mustache_set_add(set, "footer", src, strlen(src), &err), 0);
        src = "{{#customer}}{{>footer}}{{/customer}}";
        ck_assert_int_eq(mustache_set_add(set, "main", src, strlen(src), &err), 0);
        ck_assert_int_eq(mustache_render(&out, set, "main", ctx, &strict, &err), -ENOENT);
        ck_assert_str_eq(err.msg, "footer:2:3: amount: no such variable");
        src = "{{{a.b}}}";
        ck_assert_int_eq(mustache_set_add(set, "triple", src, strlen(src), &err), 0);
        ck_assert_int_eq(mustache_render(&out, set, "triple", ctx, &strict, &err), -ENOENT);
        ck_assert_str_eq(err.msg, "triple:1:1: a.b: no such variable");
        /* A missing template. */
        ck_assert_int_eq(mustache_render(&out, set, "nope", ctx, NULL, &err), -ENOENT);
        ck_assert_str_eq(err.msg, "no template \"nope\"");
        buf_free(&out);
        mustache_value_free(ctx);
        mustache_set_free(set);
}
END_TEST

/* ---- hostile input -------------------------------------------------------- */

START_TEST(test_size_limit)
{
        size_t n = MUSTACHE_MAX_SOURCE + 1;
        char *big = malloc(n);
        memset(big, 'x', n);
        ck_assert_str_eq(compile_error("big.html", big, n, -E2BIG),
                         "big.html: template is 1048577 bytes, more than the 1048576 allowed");
        ck_assert_str_eq(compile_error("big.html", big, n - 1, 0), "");
        /* A megabyte of openers is one unclosed tag, found quickly. */
        for (size_t i = 0; i + 1 < n; i += 2)
                big[i] = big[i + 1] = '{';
        ck_assert_str_eq(compile_error("big.html", big, n - 1, -EINVAL),
                         "big.html:1:1: unclosed tag, expected \"}}}\"");
        free(big);
}
END_TEST

START_TEST(test_nesting_limit)
{
        struct buf src = BUF_INIT;
        for (int i = 0; i < MUSTACHE_MAX_NESTING; i++)
                buf_puts(&src, "{{#a}}");
        for (int i = 0; i < MUSTACHE_MAX_NESTING; i++)
                buf_puts(&src, "{{/a}}");
        ck_assert_str_eq(compile_error("deep", src.data, src.len, 0), "");
        buf_reset(&src);
        for (int i = 0; i <= MUSTACHE_MAX_NESTING; i++)
                buf_puts(&src, "{{^a}}");
        ck_assert_str_eq(compile_error("deep", src.data, src.len, -EINVAL),
                         "deep:1:385: sections nested deeper than 64");
        buf_free(&src);
}
END_TEST

static int render_err(struct mustache_set *set, const char *name, const char *data,
                      struct error *err)
{
        struct buf out = BUF_INIT;
        struct mustache_value *ctx = json(data);
        buf_puts(&out, "before");
        int r = mustache_render(&out, set, name, ctx, NULL, err);
        if (r)
                ck_assert_str_eq(buf_str(&out), "before");
        mustache_value_free(ctx);
        buf_free(&out);
        return r;
}

START_TEST(test_recursion_limits)
{
        struct mustache_set *set = mustache_set_new();
        struct error err;
        ck_assert_int_eq(mustache_set_add(set, "loop", "x{{>loop}}", 10, &err), 0);
        ck_assert_int_eq(render_err(set, "loop", "{}", &err), -ELOOP);
        ck_assert_str_eq(err.msg, "loop:1:2: loop: included deeper than 100 levels");
        /* Parents that include each other. */
        ck_assert_int_eq(mustache_set_add(set, "a", "{{<b}}{{/b}}", 12, &err), 0);
        ck_assert_int_eq(mustache_set_add(set, "b", "{{<a}}{{/a}}", 12, &err), 0);
        ck_assert_int_eq(render_err(set, "a", "{}", &err), -ELOOP);
        ck_assert_msg(strstr(err.msg, "included deeper than 100 levels"), "%s", err.msg);
        /* A block overriding itself through its own default. */
        const char *src = "{{<p}}{{$x}}{{$x}}!{{/x}}{{/x}}{{/p}}";
        ck_assert_int_eq(mustache_set_add(set, "self", src, strlen(src), &err), 0);
        ck_assert_int_eq(mustache_set_add(set, "p", "{{$x}}{{/x}}", 12, &err), 0);
        ck_assert_int_eq(render_err(set, "self", "{}", &err), -ELOOP);
        /* Data deeper than the context stack, walked by a recursive partial. */
        struct buf data = BUF_INIT;
        for (int i = 0; i < 80; i++)
                buf_puts(&data, "{\"n\":");
        buf_puts(&data, "1");
        for (int i = 0; i < 80; i++)
                buf_putc(&data, '}');
        ck_assert_int_eq(mustache_set_add(set, "walk", "{{#n}}.{{>walk}}{{/n}}", 22, &err), 0);
        ck_assert_int_eq(render_err(set, "walk", data.data, &err), -ELOOP);
        ck_assert_str_eq(err.msg, "walk:1:1: n: context stack deeper than 64");
        /* The recursion the spec means stays fine. */
        ck_assert_int_eq(render_err(set, "walk", "{\"n\": {\"n\": {\"n\": false}}}", &err), 0);
        buf_free(&data);
        mustache_set_free(set);
}
END_TEST

/* Random splices of template fragments: anything compiles or fails with a
 * message, and renders within the limits; ASan watches the rest. */
START_TEST(test_fuzz)
{
        static const char *frag[] = {
                "{{", "}}", "{{{", "}}}", "{{#a}}", "{{/a}}", "{{^b}}", "{{/b}}", "{{>p}}",
                "{{<p}}", "{{/p}}", "{{$a}}", "{{$b}}", "{{=<% %>=}}", "<%", "%>", "<%/a%>",
                "{{!c}}", "{{.}}", "{{a.b}}", "\n", "  ", "\r\n", "x", "{{&a}}", "=", "{",
        };
        const size_t nfrag = sizeof(frag) / sizeof(frag[0]);
        struct mustache_set *set = mustache_set_new();
        struct mustache_value *ctx = json("{\"a\": [1, {\"b\": \"<\"}], \"b\": {\"b\": true}}");
        struct buf src = BUF_INIT, out = BUF_INIT;
        struct error err;
        unsigned seed = 12345;
        int compiled = 0;
        for (int iter = 0; iter < 20000; iter++) {
                buf_reset(&src);
                int n = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 24;
                for (int i = 0; i < n; i++) {
                        seed = seed * 1103515245u + 12345u;
                        buf_puts(&src, frag[(seed >> 16) % nfrag]);
                }
                const char *name = iter % 2 ? "p" : "t";
                if (mustache_set_add(set, name, src.data, src.len, &err) == 0)
                        compiled++;
                buf_reset(&out);
                if (mustache_set_has(set, "t"))
                        mustache_render(&out, set, "t", ctx, NULL, &err);
        }
        ck_assert_int_gt(compiled, 1000);
        buf_free(&src);
        buf_free(&out);
        mustache_value_free(ctx);
        mustache_set_free(set);
}
END_TEST

/* ---- builders and data model ---------------------------------------------- */

static const char *text_of(const struct mustache_value *v)
{
        size_t len;
        const char *s = mustache_value_text(v, &len);
        return s ? s : "(not text)";
}

START_TEST(test_numbers)
{
        struct {
                double d;
                const char *want;
        } cases[] = {
                { 1.5, "1.5" },   { 85, "85" },        { 1.21, "1.21" },
                { -0.0, "0" },    { 0.1 + 0.2, "0.30000000000000004" },
                { 1e21, "1e+21" }, { 123456.75, "123456.75" }, { -3, "-3" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct mustache_value *v = mustache_number(cases[i].d);
                ck_assert_str_eq(text_of(v), cases[i].want);
                mustache_value_free(v);
        }
        struct mustache_value *v = mustache_number(NAN);
        ck_assert_int_eq(mustache_value_type(v), MUSTACHE_NULL);
        mustache_value_free(v);
        v = mustache_int(-9007199254740993LL);
        ck_assert_str_eq(text_of(v), "-9007199254740993");
        mustache_value_free(v);
        v = mustache_number_text("1.50");
        ck_assert_int_eq(mustache_value_type(v), MUSTACHE_NUMBER);
        ck_assert_str_eq(text_of(v), "1.50");
        mustache_value_free(v);
        /* From JSON: integers exact, reals shortest. */
        v = json("{\"a\": 1.210, \"b\": 1e2, \"c\": 12345678901234, \"d\": -0.5}");
        ck_assert_str_eq(text_of(mustache_map_get(v, "a")), "1.21");
        ck_assert_str_eq(text_of(mustache_map_get(v, "b")), "100");
        ck_assert_str_eq(text_of(mustache_map_get(v, "c")), "12345678901234");
        ck_assert_str_eq(text_of(mustache_map_get(v, "d")), "-0.5");
        mustache_value_free(v);
}
END_TEST

START_TEST(test_builders)
{
        struct mustache_value *ctx = mustache_map_new();
        struct mustache_value *cust = mustache_map_set_map(ctx, "customer");
        mustache_map_set_str(cust, "name", "Jan & Zn");
        mustache_map_set_str(ctx, "total", "€ 12,50");
        mustache_map_set_num(ctx, "rate", 1.5);
        mustache_map_set_int(ctx, "count", 2);
        mustache_map_set_bool(ctx, "late", true);
        mustache_map_set(ctx, "gone", mustache_null());
        struct mustache_value *invs = mustache_map_set_list(ctx, "invoices");
        for (int i = 1; i <= 2; i++) {
                struct mustache_value *inv = mustache_list_push_map(invs);
                mustache_map_set_int(inv, "n", i);
        }
        mustache_list_push(invs, mustache_string_len("x\0y", 3));
        /* Replacing keeps the key's place and frees the old value. */
        mustache_map_set_str(ctx, "total", "€ 13,50");
        ck_assert_uint_eq(mustache_value_len(ctx), 7);
        ck_assert_uint_eq(mustache_value_len(invs), 3);
        ck_assert_ptr_null(mustache_map_get(ctx, "nope"));
        ck_assert_ptr_null(mustache_map_get(invs, "n"));
        ck_assert_int_eq(mustache_value_type(mustache_map_get(ctx, "gone")), MUSTACHE_NULL);

        struct mustache_set *set = mustache_set_new();
        struct error err;
        struct buf out = BUF_INIT;
        const char *src = "{{customer.name}} {{total}} {{rate}} {{count}} {{late}} [{{gone}}]"
                          "{{#invoices}} {{n}}{{.}}{{/invoices}}{{#late}}!{{/late}}";
        ck_assert_int_eq(mustache_set_add(set, "t", src, strlen(src), &err), 0);
        ck_assert_int_eq(mustache_render(&out, set, "t", ctx, NULL, &err), 0);
        ck_assert_uint_eq(out.len, strlen("Jan &amp; Zn € 13,50 1.5 2 true [] 1 2 x") + 2 + 1);
        ck_assert_int_eq(memcmp(out.data, "Jan &amp; Zn € 13,50 1.5 2 true [] 1 2 x\0y!", out.len),
                         0);
        buf_free(&out);
        mustache_set_free(set);
        mustache_value_free(ctx);
        mustache_value_free(NULL);
        mustache_set_free(NULL);
}
END_TEST

START_TEST(test_big_map)
{
        /* Past the linear scan: lookups go through the hash index. */
        struct mustache_value *m = mustache_map_new();
        char key[32], val[32];
        for (int i = 0; i < 300; i++) {
                snprintf(key, sizeof(key), "k%d", i);
                snprintf(val, sizeof(val), "v%d", i);
                mustache_map_set_str(m, key, val);
        }
        for (int i = 0; i < 300; i += 7) {
                snprintf(key, sizeof(key), "k%d", i);
                mustache_map_set_int(m, key, i);
        }
        ck_assert_uint_eq(mustache_value_len(m), 300);
        for (int i = 0; i < 300; i++) {
                snprintf(key, sizeof(key), "k%d", i);
                snprintf(val, sizeof(val), i % 7 ? "v%d" : "%d", i);
                ck_assert_str_eq(text_of(mustache_map_get(m, key)), val);
        }
        ck_assert_ptr_null(mustache_map_get(m, "k300"));
        struct mustache_set *set = mustache_set_new();
        struct error err;
        struct buf out = BUF_INIT;
        ck_assert_int_eq(mustache_set_add(set, "t", "{{k0}}-{{k1}}-{{k299}}-{{k300}}", 31, &err), 0);
        ck_assert_int_eq(mustache_render(&out, set, "t", m, NULL, &err), 0);
        ck_assert_str_eq(buf_str(&out), "0-v1-v299-");
        buf_free(&out);
        mustache_set_free(set);
        mustache_value_free(m);
}
END_TEST

START_TEST(test_json_errors)
{
        struct mustache_value *v = (struct mustache_value *)&v; /* untouched on error */
        struct error err;
        ck_assert_int_eq(mustache_value_from_json(&v, "{\"a\": ", 6, &err), -EINVAL);
        ck_assert_ptr_eq(v, (struct mustache_value *)&v);
        ck_assert_msg(!strncmp(err.msg, "json:1:", 7), "%s", err.msg);
        /* Any root, NUL bytes in strings. */
        ck_assert_int_eq(mustache_value_from_json(&v, "\"a\\u0000b\"", 10, &err), 0);
        size_t len;
        ck_assert_ptr_nonnull(mustache_value_text(v, &len));
        ck_assert_uint_eq(len, 3);
        mustache_value_free(v);
}
END_TEST

/* ---- rendering details ---------------------------------------------------- */

START_TEST(test_render_details)
{
        /* Falsey: missing, null, false, "", []; numbers and maps are true. */
        ASSERT_RENDER("{{#a}}A{{/a}}{{#b}}B{{/b}}{{#c}}C{{/c}}{{#d}}D{{/d}}{{#e}}E{{/e}}"
                      "{{#f}}F{{/f}}{{#g}}G{{/g}}",
                      "{\"b\": null, \"c\": false, \"d\": \"\", \"e\": [], \"f\": 0, \"g\": {}}",
                      "FG");
        /* Lists and maps interpolate as nothing. */
        ASSERT_RENDER("[{{l}}{{m}}]", "{\"l\": [1], \"m\": {\"a\": 1}}", "[]");
        /* Nested standalone partials add up their indentation. */
        struct mustache_set *set = mustache_set_new();
        struct error err;
        struct buf out = BUF_INIT;
        ck_assert_int_eq(mustache_set_add(set, "a", "  {{>b}}\n", 9, &err), 0);
        ck_assert_int_eq(mustache_set_add(set, "b", "x\n  {{>c}}\n", 11, &err), 0);
        ck_assert_int_eq(mustache_set_add(set, "c", "1\n\n2\n", 5, &err), 0);
        ck_assert_int_eq(mustache_render(&out, set, "a", NULL, NULL, &err), 0);
        ck_assert_str_eq(buf_str(&out), "  x\n    1\n\n    2\n");
        /* Appends; out grows, nothing else is allocated. */
        ck_assert_int_eq(mustache_render(&out, set, "c", NULL, NULL, &err), 0);
        ck_assert_str_eq(buf_str(&out), "  x\n    1\n\n    2\n1\n\n2\n");
        /* A layout parent, as the shipped templates use it. */
        const char *layout = "<h1>{{$title}}Reminder{{/title}}</h1>\n<main>\n{{$body}}\n{{/body}}\n"
                             "</main>\n";
        const char *page = "{{<layout/email.html}}\n{{$body}}\n<p>Dear {{name}},</p>\n{{/body}}\n"
                           "{{/layout/email.html}}\n";
        ck_assert_int_eq(mustache_set_add(set, "layout/email.html", layout, strlen(layout), &err),
                         0);
        ck_assert_int_eq(mustache_set_add(set, "page", page, strlen(page), &err), 0);
        struct mustache_value *ctx = json("{\"name\": \"Jan & Zn\"}");
        buf_reset(&out);
        ck_assert_int_eq(mustache_render(&out, set, "page", ctx, NULL, &err), 0);
        ck_assert_str_eq(buf_str(&out),
                         "<h1>Reminder</h1>\n<main>\n<p>Dear Jan &amp; Zn,</p>\n</main>\n");
        mustache_value_free(ctx);
        buf_free(&out);
        mustache_set_free(set);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("mustache");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_spec);
        tcase_add_test(tc, test_escape_modes);
        tcase_add_test(tc, test_injection);
        tcase_add_test(tc, test_compile_errors);
        tcase_add_test(tc, test_strict);
        tcase_add_test(tc, test_size_limit);
        tcase_add_test(tc, test_nesting_limit);
        tcase_add_test(tc, test_recursion_limits);
        tcase_add_test(tc, test_fuzz);
        tcase_add_test(tc, test_numbers);
        tcase_add_test(tc, test_builders);
        tcase_add_test(tc, test_big_map);
        tcase_add_test(tc, test_json_errors);
        tcase_add_test(tc, test_render_details);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
