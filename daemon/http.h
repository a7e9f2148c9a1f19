/* http.h: the daemon's HTTP server (libmicrohttpd) with a small route
 * table: /metrics and /healthz, later the webhooks and the credit team's
 * pages.
 *
 * Hardened by default: it binds only the configured address (loopback in
 * the shipped config), limits connections (in total and per client),
 * closes idle connections, refuses bodies over max_body with 413 before
 * reading them, and answers 404/405 itself. Handlers run on the server's
 * one thread, one request at a time, so a handler may own state (a Redis
 * connection) without a lock; they must not block for long. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

struct http;

struct http_limits {
        size_t max_body;          /* bytes of a request body; larger gets 413 */
        unsigned connections;     /* open connections in total */
        unsigned per_client;      /* open connections per client address */
        unsigned timeout_s;       /* idle connections are closed after this */
};

/* The shipped limits: 64 KiB bodies, 64 connections, 8 per client, 10 s. */
extern const struct http_limits http_default_limits;

struct http_request {
        const char *method;       /* "GET", "POST", ...; HEAD is routed as GET */
        const char *path;         /* without the query string */
        const char *body;         /* NUL-terminated; "" without a body */
        size_t body_len;
        void *conn;               /* for http_header / http_query */
};

struct http_response {
        int status;               /* 200 unless the handler sets it */
        const char *content_type; /* static string; default text/plain */
        struct buf body;
        const char *allow;        /* Allow header (405), static string */
        struct buf headers;       /* more header lines, "Name: value\n" each */
};

/* Fills resp. Runs on the server thread. */
typedef void (*http_handler)(void *ctx, const struct http_request *req,
                             struct http_response *resp);

/* A request header, query argument or cookie (case-insensitive name), or
 * NULL. */
const char *http_header(const struct http_request *req, const char *name);
const char *http_query(const struct http_request *req, const char *name);
const char *http_cookie(const struct http_request *req, const char *name);

/* A server for listen ("HOST:PORT", "[ADDR]:PORT"; port 0 picks a free one,
 * see http_port). Add routes, then http_start. */
int http_new(struct http **out, const char *listen, const struct http_limits *lim,
             struct error *err);
/* Routes method+path to fn. A path ending in '*' matches every path with
 * that prefix. Only before http_start. */
void http_route(struct http *h, const char *method, const char *path, http_handler fn,
                void *ctx);
/* Binds and starts the server thread. */
int http_start(struct http *h, struct error *err);
/* The bound port (after http_start). */
int http_port(const struct http *h);
/* Stops the server (waits for a running handler) and frees it; NULL is a
 * no-op. */
void http_free(struct http *h);

/* Fills resp with status and a JSON body {"error": msg}. */
void http_error(struct http_response *resp, int status, const char *msg);
