/* channel.c: the registry of transports. */
#include "channel.h"

#include <string.h>

static const struct channel_ops *const drivers[] = {
        &channel_outbox,
        &channel_smtp,
        &channel_sms_http,
};

const struct channel_ops *channel_lookup(const char *transport)
{
        for (size_t i = 0; transport && i < sizeof(drivers) / sizeof(drivers[0]); i++)
                if (strcmp(drivers[i]->name, transport) == 0)
                        return drivers[i];
        return NULL;
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
