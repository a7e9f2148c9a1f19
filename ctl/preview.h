/* preview.h: dunningctl's template commands, which need no Redis. */
#pragma once

#include "config.h"

/* `render TEMPLATE.mustache DATA.json [--partials DIR] [--strict]`: prints
 * the rendered template; 1 with a located error. No config needed. */
int preview_render_cmd(int argc, char **argv);

/* `preview JOB.json [--channel C] [--out DIR] [--strict]`: renders what
 * the job would send on each channel (or C) with cfg's templates; prints
 * it, or with --out writes the outbox files (.eml, .json, .pdf) to DIR. */
int preview_job_cmd(const struct config *cfg, int argc, char **argv);
