/* ui_pages.h: the HTML of the credit team's pages, rendered from the
 * same JSON objects the API answers with (daemon/ui.c builds them), so a
 * page and /api/v1 never disagree. Everything shown is escaped. Internal
 * to ui.c and its tests. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "buf.h"
#include "ui_html.h"

struct ui_page {
        enum ui_lang lang;
        const char *csrf;        /* "" when authenticated by bearer token */
        const char *self;        /* this page's path, for the language links */
};

void ui_page_login(struct buf *b, const struct ui_page *p, bool refused);
/* stats: /api/v1/stats (with its "daily"), queue: /api/v1/queue. */
void ui_page_overview(struct buf *b, const struct ui_page *p, json_t *stats, json_t *queue,
                      const struct stats_day *days, size_t n_days);
/* campaigns: /api/v1/campaigns; customer: /api/v1/customers/{id}. A list
 * the API says was cut gets a line saying how far. */
void ui_page_campaigns(struct buf *b, const struct ui_page *p, json_t *campaigns);
void ui_page_customer(struct buf *b, const struct ui_page *p, json_t *customer);
void ui_page_not_found(struct buf *b, const struct ui_page *p, const char *query);
/* dead: /api/v1/dead; notice: a line to show on top, or NULL. */
void ui_page_dead(struct buf *b, const struct ui_page *p, json_t *dead, const char *notice);
