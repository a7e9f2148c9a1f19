/* channel.c: the registry of transports (looked up per channel), and the
 * letter PDF that every letter transport sends. */
#include "channel.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "letter.h"

static const struct channel_ops *const drivers[] = {
        &channel_outbox,
        &channel_smtp,
        &channel_sms_http,
        &channel_print_http,
};

const struct channel_ops *channel_lookup(enum job_channel channel, const char *transport)
{
        if ((unsigned)channel >= JOB_CHANNEL__N)
                return NULL;
        for (size_t i = 0; transport && i < sizeof(drivers) / sizeof(drivers[0]); i++)
                if ((drivers[i]->channels & CHANNEL_BIT(channel)) &&
                    strcmp(drivers[i]->name, transport) == 0)
                        return drivers[i];
        return NULL;
}

int channel_letter_pdf(struct buf *pdf, const struct message *m, struct send_result *res)
{
        struct error err;

        if (!m->letter) {
                res->outcome = CHANNEL_PERMFAIL;
                snprintf(res->reason, sizeof(res->reason), "letter: no layout data");
                return -EINVAL;
        }
        int rc = letter_render(pdf, m->letter, &err);
        if (rc < 0) {
                res->outcome = rc == -EIO ? CHANNEL_TEMPFAIL : CHANNEL_PERMFAIL;
                snprintf(res->reason, sizeof(res->reason), "letter: %s", err.msg);
        }
        return rc;
}

const char *channel_transport(const struct config *cfg, enum job_channel channel)
{
        switch (channel) {
        case JOB_CHANNEL_EMAIL: return cfg->channels.email.transport;
        case JOB_CHANNEL_SMS: return cfg->channels.sms.transport;
        case JOB_CHANNEL_LETTER: return cfg->channels.letter.transport;
        default: return NULL;
        }
}
