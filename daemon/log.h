/* log.h: one logfmt line per event, on stderr.
 *
 * Under systemd (JOURNAL_STREAM set) every line starts with the kernel-style
 * priority prefix "<N>" that journald understands and carries no timestamp;
 * otherwise it starts with ts=. Every value is scrubbed: e-mail addresses
 * and E.164 phone numbers are masked wherever they appear, so a careless
 * caller cannot leak them. Secrets must simply never be passed in. */
#pragma once

#include <stddef.h>
#include <syslog.h>

/* Sets the lowest priority that is written (LOG_DEBUG .. LOG_ERR) and
 * reads JOURNAL_STREAM. Safe to call again (SIGHUP). */
void log_init(int max_priority);

/* LOG_DEBUG/LOG_INFO/LOG_WARNING/LOG_ERR for "debug"/"info"/"warning"/
 * "error"; -1 for anything else. */
int log_level_from_name(const char *name);

/* Writes `level=L msg="MSG" k1=v1 k2=v2 ...`. The variadic part is pairs
 * of const char * (key, value) ending with a NULL key; a NULL value skips
 * its pair. Values are quoted when needed and scrubbed (see above).
 * Thread-safe: one write(2) per line. */
void log_event(int priority, const char *msg, ...) __attribute__((sentinel));

/* Masks into out (size n): "jan@example.nl" -> "j***@example.nl". */
void log_mask_email(char *out, size_t n, const char *email);
/* Masks into out (size n): "+31612345678" -> "+3161****678". */
void log_mask_phone(char *out, size_t n, const char *phone);

/* Appends value to line with personal data masked (exposed for tests). */
struct buf;
void log_scrub(struct buf *line, const char *value);
