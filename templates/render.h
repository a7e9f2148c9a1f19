/* render.h: from a job to the texts of a message, through the templates.
 *
 * render_load reads a directory laid out like templates/default once (at
 * start and on SIGHUP) and compiles, for every locale directory in it, one
 * template set holding the default locale's templates, overridden by the
 * language's (nl), overridden by the locale's own (nl-BE). A job's locale
 * picks the set of the locale, else of its language, else the default.
 * Within a set a step's template is looked up as
 *   <step>/<segment>/<channel>.<part>   (a tone variant), then
 *   <step>/<channel>.<part>
 * (a tone variant found anywhere in the locale chain wins over the step
 * file). Parts: email subject, txt, html (optional); sms txt; letter txt. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "error.h"
#include "job.h"

struct render;
struct mustache_value;
struct l10n_cache;

/* Loads and compiles every *.mustache under dir. default_locale must have
 * a directory. On a syntax error err names the file, line and column. */
int render_load(struct render **out, const char *dir, const char *default_locale,
                struct error *err);
void render_free(struct render *r);

/* What a message needs from outside the job. */
struct render_extra {
        const char *pay_link;       /* NULL: no link */
        const char *pay_reference;  /* NULL: the invoice number(s) */
        int64_t now_ms;             /* "today" and days overdue */
};

/* Builds the variable context of job (documented in
 * templates/default/README.md): formatted amounts and dates in the job's
 * locale, totals, days overdue, pay block, creditor, WIK figures. *out is
 * new and the caller frees it with mustache_value_free. cache may be NULL
 * (slower: a formatter per call). */
int render_context(struct mustache_value **out, const struct job *job, const struct config *cfg,
                   const struct render_extra *extra, struct l10n_cache *cache,
                   struct error *err);

/* The rendered parts of one message. */
struct render_parts {
        struct buf subject;   /* email */
        struct buf text;      /* email text part, SMS body, letter text */
        struct buf html;      /* email HTML part */
};

/* Renders every part of channel ch for job with ctx into parts (emptied
 * first). strict: a missing variable is an error (dunningctl preview
 * --strict). -ENOENT when the locale chain has no template for the step. */
int render_message(const struct render *r, const struct job *job, enum job_channel ch,
                   const struct mustache_value *ctx, bool strict, struct render_parts *parts,
                   struct error *err);

void render_parts_free(struct render_parts *parts);

#include "letter.h"

/* What the letter channel lays out besides the text: creditor and
 * recipient blocks, the invoice table with formatted amounts and dates,
 * the EPC QR payload (EUR only), the reference. Built from the job, its
 * context and the rendered parts; the strings live in this struct. */
struct render_letter {
        struct letter_input in;
        struct letter_invoice *invoices;
        const char *recipient[8];
        const char *creditor[8];
        struct buf postal, epc, title, body, iban;
};

/* Fills l for job (ctx from render_context, parts from render_message on
 * the letter channel). Returns 0, or -EINVAL with err when the EPC payload
 * cannot be made (e.g. a creditor IBAN that fails its check). */
int render_letter(struct render_letter *l, const struct job *job, const struct config *cfg,
                  const struct mustache_value *ctx, const struct render_parts *parts,
                  int64_t now_ms, struct error *err);
/* Frees what render_letter allocated; l may be zeroed. */
void render_letter_free(struct render_letter *l);
