/* letter.h: the one-page A4 payment-reminder letter as a PDF.
 *
 * Laid out for a DL/C5 window envelope with the window on the left
 * (NEN 1026 / DIN 5008 type B: 20 mm from the left, 45 mm from the top,
 * 85 x 45 mm): the recipient's address sits inside it, the creditor's
 * details top right, then date and reference, a heading, the letter text,
 * the invoice table and, at the bottom, a payment block with the EPC QR
 * code (and a second QR code with the pay link when there is one).
 * Text is DejaVu Sans (fonts-dejavu-core), set as plain text: nothing the
 * caller passes is interpreted as markup. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

struct letter_invoice {
        const char *number;
        const char *due;        /* formatted date, e.g. "15 november 2026" */
        const char *amount;     /* formatted amount, e.g. "€ 1.234,56" */
};

/* Everything on the letter. Every pointer is borrowed for the duration of
 * letter_render; every string is UTF-8 (invalid UTF-8 is refused). Arrays
 * of lines are NULL-terminated. Required: creditor_name, creditor_iban,
 * recipient_name, recipient_lines (1..5), date_text, title, body_text. */
struct letter_input {
        const char *creditor_name;
        const char *const *creditor_address;   /* NULL: none */
        const char *creditor_iban;      /* as printed, e.g. "NL91 ABNA 0417 1643 00" */
        const char *creditor_bic;       /* NULL: not printed */
        const char *recipient_name;
        const char *const *recipient_lines;   /* street ..., postal code + city, country */
        const char *date_text;          /* formatted date of the letter */
        const char *reference;          /* payment reference; NULL: none */
        const char *title;              /* heading and PDF title */
        const struct letter_invoice *invoices;
        size_t n_invoices;
        const char *total_text;         /* formatted total; NULL: no total row */
        const char *body_text;          /* the rendered letter text, plain */
        const char *epc_payload;        /* epcqr_payload(); NULL: no EPC QR code */
        const char *pay_link;           /* URL; NULL: no second QR code */
        const char *lang;               /* labels: "nl", "de", "fr", else English */
        int64_t created_ms;             /* PDF creation date (Unix ms); 0: now */
};

/* Appends the PDF of the letter to pdf (no temporary files). The PDF's
 * title is in->title, its author in->creditor_name. The letter is one
 * page: when the text and table do not fit above the payment block the
 * body font shrinks from 10 pt in steps down to 8 pt, and if it still does
 * not fit -EMSGSIZE is returned; text is never cut. Returns 0, -EINVAL
 * (a field is missing or not UTF-8, or the address does not fit the
 * window), -EMSGSIZE, or -EIO when cairo fails; on failure pdf is left as
 * it was and err names the reason. */
int letter_render(struct buf *pdf, const struct letter_input *in, struct error *err);

/* The renderer is a module of its own (dunningd-letter.so: letter.c and
 * qr.c with cairo, pango and libqrencode), loaded on the first letter: a
 * dunningd that sends only e-mail and SMS never maps the 37 libraries of
 * the PDF stack (4 MiB of its resident memory). letter_render (letter_load.c)
 * loads it and calls its one exported function, letter_module_render, whose
 * contract is letter_render's.
 *
 * Where the module is looked for, first match wins: $DUNNINGD_LETTER_MODULE,
 * dunningd-letter.so beside the running program (the build tree), then
 * the installed path, LETTER_MODULE_INSTALLED. */
#define LETTER_MODULE_ENV "DUNNINGD_LETTER_MODULE"
#define LETTER_MODULE_NAME "dunningd-letter.so"
#define LETTER_MODULE_SYMBOL "letter_module_render"

int letter_module_render(struct buf *pdf, const struct letter_input *in, struct error *err);

/* What program and module must agree on, exported by the module as
 * letter_module_abi and compared before its first use: the version and
 * the sizes of what crosses between them. */
struct letter_abi {
        char version[32];
        size_t input, invoice, buf, error;
};
#define LETTER_MODULE_ABI_SYMBOL "letter_module_abi"
#define LETTER_ABI_INIT                                                                    \
        { DUNNINGD_VERSION, sizeof(struct letter_input), sizeof(struct letter_invoice),    \
          sizeof(struct buf), sizeof(struct error) }

/* Loads the module now, if it is not loaded (letter_render does this on
 * the first letter; dunningd --check-config, to prove it loads). A load
 * that failed is tried again a minute later. 0, or -EIO with err. */
int letter_module_load(struct error *err);

/* Finds the module (without loading it): its path into out, 0; or -ENOENT
 * with err naming every place looked at. For a check at startup, so that
 * a missing module is an error the operator sees at once rather than a
 * letter failing hours later. */
int letter_module_find(char *out, size_t n, struct error *err);
