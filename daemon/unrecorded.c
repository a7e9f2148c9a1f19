/* unrecorded.c: what a worker sent but could not record (unrecorded.h). A
 * plain array: it holds the sends of the batches whose record failed since
 * the last one that succeeded (one batch, redone a few times, as a rule),
 * each reminder once. */
#include "unrecorded.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

struct unrecorded_entry {
        char id[19];
        struct dispatch_result res;
};

void unrecorded_add(struct unrecorded *u, const char *reminder_id,
                    const struct dispatch_result *r)
{
        /* A redo that fails again adds what it found here: kept once. */
        for (size_t i = 0; i < u->n; i++)
                if (strcmp(u->v[i].id, reminder_id) == 0) {
                        u->v[i].res = *r;
                        return;
                }
        if (u->n == u->cap) {
                u->cap = u->cap ? 2 * u->cap : 64;
                u->v = xrealloc(u->v, u->cap * sizeof(*u->v));
        }
        struct unrecorded_entry *e = &u->v[u->n++];
        snprintf(e->id, sizeof(e->id), "%s", reminder_id);
        e->res = *r;
}

const struct dispatch_result *unrecorded_find(const struct unrecorded *u,
                                              const char *reminder_id)
{
        for (size_t i = 0; i < u->n; i++)
                if (strcmp(u->v[i].id, reminder_id) == 0)
                        return &u->v[i].res;
        return NULL;
}

void unrecorded_free(struct unrecorded *u)
{
        free(u->v);
        *u = (struct unrecorded)UNRECORDED_INIT;
}
