/* http.c: libmicrohttpd behind a route table. */
#include "http.h"

#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

#define MAX_ROUTES 32

const struct http_limits http_default_limits = {
        .max_body = 64 * 1024,
        .connections = 64,
        .per_client = 8,
        .timeout_s = 10,
};

struct route {
        char method[8];
        char *path;
        bool prefix;              /* path ended in '*' */
        http_handler fn;
        void *ctx;
};

struct http {
        struct http_limits lim;
        struct sockaddr_storage addr;
        socklen_t addr_len;
        struct route routes[MAX_ROUTES];
        size_t n_routes;
        struct MHD_Daemon *mhd;
        int port;
};

/* Per request: its body so far. */
struct pending {
        struct buf body;
        bool too_big;
};

int http_new(struct http **out, const char *listen, const struct http_limits *lim,
             struct error *err)
{
        char host[256];
        const char *colon = strrchr(listen, ':');
        const char *h = listen;
        size_t hlen = colon ? (size_t)(colon - listen) : 0;

        if (!colon || hlen == 0)
                return error_set(err, -EINVAL, "listen %s: must be HOST:PORT", listen);
        if (*h == '[' && hlen >= 2 && h[hlen - 1] == ']') {
                h++;
                hlen -= 2;
        }
        if (hlen >= sizeof(host))
                return error_set(err, -EINVAL, "listen %s: host name too long", listen);
        memcpy(host, h, hlen);
        host[hlen] = '\0';

        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                                  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
        struct addrinfo *ai = NULL;
        int rc = getaddrinfo(host, colon + 1, &hints, &ai);
        if (rc != 0)
                return error_set(err, -EINVAL, "listen %s: %s", listen, gai_strerror(rc));
        struct http *s = xcalloc(1, sizeof(*s));
        memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
        s->addr_len = ai->ai_addrlen;
        freeaddrinfo(ai);
        s->lim = *lim;
        *out = s;
        return 0;
}

void http_route(struct http *h, const char *method, const char *path, http_handler fn, void *ctx)
{
        if (h->n_routes == MAX_ROUTES)
                abort();   /* a programming error, found by the first test */
        struct route *r = &h->routes[h->n_routes++];
        size_t len = strlen(path);
        snprintf(r->method, sizeof(r->method), "%s", method);
        r->prefix = len > 0 && path[len - 1] == '*';
        r->path = xstrndup(path, r->prefix ? len - 1 : len);
        r->fn = fn;
        r->ctx = ctx;
}

const char *http_header(const struct http_request *req, const char *name)
{
        return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_query(const struct http_request *req, const char *name)
{
        return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_cookie(const struct http_request *req, const char *name)
{
        return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

void http_error(struct http_response *resp, int status, const char *msg)
{
        json_t *o = json_pack("{s:s}", "error", msg);
        char *text = json_dumps(o, JSON_COMPACT);
        resp->status = status;
        resp->content_type = "application/json";
        buf_reset(&resp->body);
        buf_puts(&resp->body, text);
        buf_putc(&resp->body, '\n');
        free(text);
        json_decref(o);
}

static enum MHD_Result send_response(struct MHD_Connection *c, struct http_response *resp)
{
        struct MHD_Response *r = MHD_create_response_from_buffer(
                resp->body.len, resp->body.data ? resp->body.data : (char *)"",
                MHD_RESPMEM_MUST_COPY);
        if (!r)
                return MHD_NO;
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                resp->content_type ? resp->content_type
                                                   : "text/plain; charset=utf-8");
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        if (resp->allow)
                MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
        for (char *line = resp->headers.data, *nl; line && *line; line = nl + 1) {
                char *colon = strchr(line, ':');
                if (!(nl = strchr(line, '\n')) || !colon || colon > nl)
                        break;
                *colon = *nl = '\0';
                MHD_add_response_header(r, line, colon + 1 + (colon[1] == ' '));
        }
        enum MHD_Result rc = MHD_queue_response(c, (unsigned)resp->status, r);
        MHD_destroy_response(r);
        return rc;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, int status, const char *msg,
                                   const char *allow)
{
        struct http_response resp = { .allow = allow };
        http_error(&resp, status, msg);
        enum MHD_Result rc = send_response(c, &resp);
        buf_free(&resp.body);
        return rc;
}

static bool path_matches(const struct route *r, const char *path)
{
        return r->prefix ? strncmp(path, r->path, strlen(r->path)) == 0
                         : strcmp(path, r->path) == 0;
}

/* The route for method and path; *path_known tells a 405 from a 404. */
static const struct route *find_route(const struct http *h, const char *method, const char *path,
                                      bool *path_known)
{
        *path_known = false;
        if (strcmp(method, "HEAD") == 0)
                method = "GET";
        for (size_t i = 0; i < h->n_routes; i++) {
                const struct route *r = &h->routes[i];
                if (!path_matches(r, path))
                        continue;
                *path_known = true;
                if (strcmp(r->method, method) == 0)
                        return r;
        }
        return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
        struct http *h = cls;
        struct pending *p = *con_cls;

        if (!p) {
                /* Headers only: refuse what is too large before reading it. */
                p = xcalloc(1, sizeof(*p));
                *con_cls = p;
                const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                             MHD_HTTP_HEADER_CONTENT_LENGTH);
                if (cl && strtoull(cl, NULL, 10) > h->lim.max_body) {
                        p->too_big = true;
                        return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
                                           "request body too large", NULL);
                }
                return MHD_YES;
        }
        if (*upload_data_size) {
                if (!p->too_big && p->body.len + *upload_data_size <= h->lim.max_body)
                        buf_append(&p->body, upload_data, *upload_data_size);
                else
                        p->too_big = true;   /* chunked: found out while reading */
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (p->too_big)
                return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large", NULL);

        bool known;
        const struct route *r = find_route(h, method, url, &known);
        if (!r) {
                if (!known)
                        return reply_error(c, MHD_HTTP_NOT_FOUND, "no such path", NULL);
                /* The methods the path has, for the Allow header. */
                char allow[64];
                allow[0] = '\0';
                for (size_t i = 0; i < h->n_routes; i++)
                        if (path_matches(&h->routes[i], url) &&
                            strlen(allow) + strlen(h->routes[i].method) + 3 < sizeof(allow))
                                snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow),
                                         "%s%s", allow[0] ? ", " : "", h->routes[i].method);
                return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed", allow);
        }
        struct http_request req = {
                .method = method,
                .path = url,
                .body = p->body.data ? buf_str(&p->body) : "",
                .body_len = p->body.len,
                .conn = c,
        };
        struct http_response resp = { .status = 200 };
        r->fn(r->ctx, &req, &resp);
        enum MHD_Result rc = send_response(c, &resp);
        buf_free(&resp.body);
        buf_free(&resp.headers);
        return rc;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct pending *p = *con_cls;
        if (p) {
                buf_free(&p->body);
                free(p);
                *con_cls = NULL;
        }
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
        char msg[256];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        msg[strcspn(msg, "\n")] = '\0';
        log_event(LOG_WARNING, "http server", "error", msg, NULL);
}

int http_start(struct http *h, struct error *err)
{
        unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
        if (h->addr.ss_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        h->mhd = MHD_start_daemon(
                flags, 0, NULL, NULL, on_request, h,
                MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, NULL,
                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&h->addr,
                MHD_OPTION_CONNECTION_LIMIT, h->lim.connections,
                MHD_OPTION_PER_IP_CONNECTION_LIMIT, h->lim.per_client,
                MHD_OPTION_CONNECTION_TIMEOUT, h->lim.timeout_s,
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
                MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                MHD_OPTION_END);
        if (!h->mhd) {
                char host[128] = "?", port[16] = "?";
                getnameinfo((struct sockaddr *)&h->addr, h->addr_len, host, sizeof(host), port,
                            sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
                return error_set(err, -EADDRINUSE,
                                 "http: cannot listen on %s port %s (in use, or not an address "
                                 "of this machine)",
                                 host, port);
        }
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
        h->port = info ? info->port : 0;
        return 0;
}

int http_port(const struct http *h)
{
        return h->port;
}

void http_free(struct http *h)
{
        if (!h)
                return;
        if (h->mhd)
                MHD_stop_daemon(h->mhd);
        for (size_t i = 0; i < h->n_routes; i++)
                free(h->routes[i].path);
        free(h);
}
