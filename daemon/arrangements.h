/* arrangements.h: payment arrangements in Redis (the arithmetic is
 * arrangement.h).
 *
 * `dunningctl arrange` makes one: the invoices' open amount split into
 * installments, the invoices marked (field arrangement in their hash, so
 * the dispatcher leaves them alone, hold.h), and one friendly reminder per
 * installment (step installment) put in the scheduled set for
 * arrangements.remind_days before its date. Payments on the invoices are
 * added to the arrangement in the payment's own transaction (tracking.c),
 * covering installments in order. The daemon looks at arrangements that
 * are due (arrangements_sweep): the first installment unpaid past
 * arrangements.grace_days lapses it (the marks go, the invoices' parked
 * reminders come back: normal dunning resumes), everything paid
 * completes it. Keys:
 *
 *   <prefix>:arrangement:<id>  hash: customer, invoices (numbers joined
 *       by "\n"), currency, total_cents, installments, first (YYYY-MM-DD),
 *       every ("1m"), paid_cents (since it began), state (active,
 *       completed, lapsed, cancelled), created_ms, ended_ms, missed,
 *       reminders (installment reminders scheduled); kept until its
 *       last installment lapses, then history.retention_days
 *   <prefix>:arrangements      sorted set: id -> when to look at it next
 *       (ms); +inf once it ended
 *   <prefix>:arrangement-seq   counter behind the ids "A-<n>"
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arrangement.h"
#include "config.h"
#include "queue.h"

#define ARRANGEMENTS_ID_MAX 32

struct arrangements_request {
        const char *const *invoices;    /* numbers, the order payments cover them */
        size_t n_invoices;
        int installments;
        int64_t first_day;              /* civil day number */
        struct arrangement_period every;
        /* A job text (version 1) naming the customer, and the invoices'
         * amounts, currency and dates where it names them; an invoice it
         * does not name needs amount_cents, currency and due in its hash. */
        const char *job;
        int64_t now_ms;
};

/* What a made arrangement is, and what arrangements_list shows. */
struct arrangements_info {
        char id[ARRANGEMENTS_ID_MAX];
        char customer[128];
        char invoices[1024];            /* joined by "," */
        char currency[4];
        char every[16];
        enum arrangement_state state;
        int64_t total_cents, paid_cents;
        int installments, missed;
        struct arrangement_check check; /* of paid_cents, at the time asked */
        struct arrangement_installment plan[ARRANGEMENT_MAX_INSTALLMENTS];
        size_t reminders;               /* installment reminders scheduled */
};

/* Makes the arrangement req describes. -EINVAL with err naming the
 * invoice or field at fault (paid, in another arrangement, unknown
 * amount, another customer, ...); -EAGAIN when the invoices kept changing. */
int arrangements_create(struct queue *q, const struct config *cfg,
                        const struct arrangements_request *req, struct arrangements_info *out,
                        struct error *err);

/* Calls fn for every arrangement, oldest first, looked at as of now_ms. */
int arrangements_list(struct queue *q, const struct config *cfg, int64_t now_ms,
                      void (*fn)(const struct arrangements_info *, void *), void *data,
                      struct error *err);

/* Looks at arrangements due by now_ms: lapses, completes or reschedules
 * each (its own WATCH transaction; one that changed meanwhile waits for
 * the next sweep). *changed (may be NULL) gets how many ended. Safe from
 * any number of instances. */
int arrangements_sweep(struct queue *q, const struct config *cfg, int64_t now_ms, int *changed,
                       struct error *err);

/* In a payment's transaction: cents paid on an invoice of arrangement id;
 * it is looked at again at the next sweep. */
void arrangements_txn_paid(struct queue *q, const char *id, int64_t cents);
