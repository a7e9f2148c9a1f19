/* ctl.h: dunningctl, the operator's command line (everything but main). */
#pragma once

#include <stdbool.h>

struct config;
struct queue;

/* Exit codes of every command (documented in usage and dunningctl(1)). */
#define CTL_OK 0        /* done */
#define CTL_FAIL 1      /* could not be done: config, Redis, a file, an unknown id */
#define CTL_USAGE 2     /* wrong usage; enqueue: some rows were rejected */

/* Runs dunningctl with its arguments (argv[0] is the program name).
 * Returns the process exit code: CTL_OK, CTL_FAIL or CTL_USAGE. */
int ctl_main(int argc, char **argv);

/* For the command files (ctl.c, dead.c). */

/* Connects to cfg's Redis with a timeout fit for an operator's command;
 * prints the reason on stderr when it cannot. Returns 0 or -1. */
int ctl_open_queue(const struct config *cfg, struct queue **q);
/* Prints "dunningctl CMD: MESSAGE" and where to find the usage on stderr;
 * returns CTL_USAGE. */
int ctl_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The usage error of getopt_long's '?' (unknown option) or ':' (missing
 * argument, with ":" leading the optstring) for argv[optind - 1]. */
int ctl_bad_option(const char *cmd, int c, char **argv);

/* A JSON string of s (null for NULL); text that is not UTF-8 keeps its
 * ASCII and gets '?' for the rest, so every key is always there. */
struct json_t;
struct json_t *ctl_jstr(const char *s);
/* Prints root (indented, key order kept) on stdout and frees it; returns
 * CTL_OK, or CTL_FAIL when it cannot be written. */
int ctl_print_json(struct json_t *root);
