/* channel.h: the one interface every transport implements.
 *
 * A driver file exports exactly one const struct channel_ops; channel.c
 * keeps the registry. Drivers never log, count or retry: they return an
 * explicit outcome and the dispatcher does the rest. */
#pragma once

#include <stdint.h>

#include "config.h"
#include "error.h"
#include "job.h"

struct buf;
struct letter_input;

enum channel_outcome {
        CHANNEL_SENT,      /* accepted by the transport */
        CHANNEL_TEMPFAIL,  /* try again later (backoff) */
        CHANNEL_PERMFAIL,  /* this contact will not work: try the next channel */
};

struct send_result {
        enum channel_outcome outcome;
        char provider_id[128];  /* the transport's id of the message, or "" */
        char reason[256];       /* one line, no personal data */
        int64_t retry_after_ms; /* TEMPFAIL: the provider's Retry-After, or 0 */
};

/* A rendered message, ready for a transport. Every pointer is borrowed for
 * the duration of send(). */
struct message {
        enum job_channel channel;
        const struct job *job;
        const char *reminder_id;
        const char *to;         /* e-mail address or E.164 number; NULL for letters */
        const char *to_name;
        const char *from;       /* e-mail From header or SMS sender id */
        const char *subject;    /* e-mail */
        const char *text;       /* plain text: e-mail text part, SMS body, letter text */
        const char *html;       /* e-mail HTML part, may be NULL */
        const struct letter_input *letter;  /* letters: the layout data (letter.h) */
        /* e-mail: an optional attachment (the letter PDF of a final
         * notice); NULL for none. */
        const void *attachment;
        size_t attachment_len;
        const char *attachment_name;  /* A-Z a-z 0-9 . _ - only */
};

/* The bit of a channel in channel_ops.channels. */
#define CHANNEL_BIT(ch) (1u << (unsigned)(ch))

struct channel_ops {
        /* the transport's name in config: channels.<channel>.transport;
         * unique per channel, not across them (sms and letter both have
         * an "http") */
        const char *name;
        /* the channels it serves: CHANNEL_BIT(JOB_CHANNEL_...) ORed */
        unsigned channels;
        /* Opens a session for one channel with the given config; *session
         * is the driver's own state. Called once per worker. */
        int (*open)(void **session, enum job_channel channel, const struct config *cfg,
                    struct error *err);
        /* Sends one message and says how it went in res. */
        void (*send)(void *session, const struct message *msg, struct send_result *res);
        /* Sends n messages at once (one SMTP session for all) and says how
         * each went in res[i]: the same outcomes as n send() calls. May be
         * NULL. The dispatcher sends a batch's e-mails through it
         * (dispatch_email_batch) when the driver has it. */
        void (*send_batch)(void *session, const struct message *const *msgs, size_t n,
                           struct send_result *res);
        /* Ends a batch: a driver that holds a connection may close it here.
         * May be NULL. */
        void (*flush)(void *session);
        /* Names the function the driver calls the moment the far side has
         * taken a message for good (an SMTP server's reply to DATA), while
         * the batch goes on: fn(arg, reminder id). May be NULL. */
        void (*set_accepted)(void *session, void (*fn)(void *arg, const char *reminder_id),
                             void *arg);
        /* Frees the session; NULL is a no-op. */
        void (*close)(void *session);
};

/* The driver of channel named transport (channels.<channel>.transport),
 * or NULL when no driver of that name serves the channel. */
const struct channel_ops *channel_lookup(enum job_channel channel, const char *transport);

/* The letter of m (m->letter) as a one-page PDF, appended to pdf: the one
 * way every letter transport makes it (outbox.c, print.c). Returns 0, or
 * a negative errno with res->outcome and res->reason set (PERMFAIL for a
 * letter that cannot be laid out, TEMPFAIL when cairo fails). */
int channel_letter_pdf(struct buf *pdf, const struct message *m, struct send_result *res);

/* The configured transport name of a channel. */
const char *channel_transport(const struct config *cfg, enum job_channel channel);

/* The drivers. */
extern const struct channel_ops channel_outbox;
extern const struct channel_ops channel_smtp;  /* email.c: e-mail through SMTP */
extern const struct channel_ops channel_sms_http;  /* sms.c: SMS through a provider's API */
extern const struct channel_ops channel_print_http;  /* print.c: letters to a print service */
