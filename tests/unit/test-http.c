/* test-http.c: the route table and the server's limits, over real sockets
 * on 127.0.0.1. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "unit.h"

static struct http *srv;
static int calls;

static void hello(void *ctx, const struct http_request *req, struct http_response *resp)
{
        calls++;
        buf_printf(&resp->body, "hello %s", (const char *)ctx);
        const char *q = http_query(req, "who");
        if (q)
                buf_printf(&resp->body, " who=%s", q);
}

static void echo(void *ctx, const struct http_request *req, struct http_response *resp)
{
        calls++;
        resp->status = 201;
        resp->content_type = "application/octet-stream";
        const char *ct = http_header(req, "content-type");
        buf_printf(&resp->body, "%s %zu %s [%s]", req->method, req->body_len, ct ? ct : "-",
                   req->body);
}

static void customer(void *ctx, const struct http_request *req, struct http_response *resp)
{
        calls++;
        buf_printf(&resp->body, "customer %s", req->path + strlen("/api/v1/customers/"));
}

static void start(unsigned per_client, unsigned timeout_s)
{
        struct http_limits lim = http_default_limits;
        struct error err;
        lim.max_body = 1024;
        lim.per_client = per_client;
        lim.timeout_s = timeout_s;
        calls = 0;
        ck_assert_int_eq(http_new(&srv, "127.0.0.1:0", &lim, &err), 0);
        http_route(srv, "GET", "/hello", hello, "world");
        http_route(srv, "POST", "/echo", echo, NULL);
        http_route(srv, "GET", "/api/v1/customers/*", customer, NULL);
        ck_assert_msg(http_start(srv, &err) == 0, "%s", err.msg);
        ck_assert_int_gt(http_port(srv), 0);
}

static void setup(void)
{
        start(8, 10);
}

static void teardown(void)
{
        http_free(srv);
        srv = NULL;
}

static int dial(void)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(http_port(srv)) };
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        return fd;
}

/* Reads until the peer closes or timeout_ms passes; returns what came. */
static char *read_all(int fd, int timeout_ms)
{
        struct buf b = BUF_INIT;
        char chunk[4096];
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, timeout_ms) <= 0)
                        break;
                ssize_t n = read(fd, chunk, sizeof(chunk));
                if (n <= 0)
                        break;
                buf_append(&b, chunk, (size_t)n);
        }
        buf_putc(&b, '\0');
        return buf_steal(&b);
}

/* Sends raw (a whole request) on a new connection; returns the response. */
static char *roundtrip(const char *raw)
{
        int fd = dial();
        ck_assert_int_eq(write(fd, raw, strlen(raw)), (ssize_t)strlen(raw));
        char *r = read_all(fd, 5000);
        close(fd);
        return r;
}

static int status_of(const char *resp)
{
        int st = -1;
        sscanf(resp, "HTTP/1.1 %d", &st);
        return st;
}

static const char *body_of(const char *resp)
{
        const char *b = strstr(resp, "\r\n\r\n");
        return b ? b + 4 : "";
}

START_TEST(test_get_and_query)
{
        char *r = roundtrip("GET /hello?who=ops HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        ck_assert_int_eq(status_of(r), 200);
        ck_assert_str_eq(body_of(r), "hello world who=ops");
        /* Every answer says what it is and is not cached. */
        ck_assert_ptr_nonnull(strcasestr(r, "X-Content-Type-Options: nosniff"));
        ck_assert_ptr_nonnull(strcasestr(r, "Cache-Control: no-store"));
        free(r);
        r = roundtrip("HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        ck_assert_int_eq(status_of(r), 200);
        ck_assert_str_eq(body_of(r), "");
        free(r);
}
END_TEST

START_TEST(test_unknown_path_and_method)
{
        char *r = roundtrip("GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        ck_assert_int_eq(status_of(r), 404);
        ck_assert_str_eq(body_of(r), "{\"error\":\"no such path\"}\n");
        free(r);
        r = roundtrip("POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                      "Connection: close\r\n\r\n");
        ck_assert_int_eq(status_of(r), 405);
        ck_assert_ptr_nonnull(strcasestr(r, "\r\nAllow: GET\r\n"));
        free(r);
        /* A prefix route does not match a path that only starts alike. */
        r = roundtrip("GET /api/v1/customers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        ck_assert_int_eq(status_of(r), 404);
        free(r);
        r = roundtrip("GET /api/v1/customers/C-42 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        ck_assert_int_eq(status_of(r), 200);
        ck_assert_str_eq(body_of(r), "customer C-42");
        free(r);
        ck_assert_int_eq(calls, 1);
}
END_TEST

START_TEST(test_post_body)
{
        char *r = roundtrip("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: "
                            "application/x-www-form-urlencoded\r\nContent-Length: 9\r\n"
                            "Connection: close\r\n\r\nid=tr_abc");
        ck_assert_int_eq(status_of(r), 201);
        ck_assert_str_eq(body_of(r), "POST 9 application/x-www-form-urlencoded [id=tr_abc]");
        free(r);
        /* Chunked bodies arrive whole too. */
        r = roundtrip("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                      "Connection: close\r\n\r\n4\r\nid=t\r\n4\r\nr_xy\r\n0\r\n\r\n");
        ck_assert_int_eq(status_of(r), 201);
        ck_assert_str_eq(body_of(r), "POST 8 - [id=tr_xy]");
        free(r);
}
END_TEST

START_TEST(test_oversized_body_refused_unread)
{
        char raw[4096];
        /* Declared too large: 413 before the handler or the body is read. */
        snprintf(raw, sizeof(raw),
                 "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n"
                 "Connection: close\r\n\r\nabc");
        char *r = roundtrip(raw);
        ck_assert_int_eq(status_of(r), 413);
        ck_assert_str_eq(body_of(r), "{\"error\":\"request body too large\"}\n");
        free(r);
        /* Chunked past the limit: found out while reading, still 413. */
        struct buf b = BUF_INIT;
        buf_puts(&b, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     "Connection: close\r\n\r\n");
        for (int i = 0; i < 3; i++) {
                buf_puts(&b, "200\r\n");   /* 512 bytes each */
                for (int k = 0; k < 512; k++)
                        buf_putc(&b, 'x');
                buf_puts(&b, "\r\n");
        }
        buf_puts(&b, "0\r\n\r\n");
        r = roundtrip(buf_str(&b));
        buf_free(&b);
        ck_assert_int_eq(status_of(r), 413);
        free(r);
        ck_assert_int_eq(calls, 0);
}
END_TEST

START_TEST(test_per_client_limit_and_idle_timeout)
{
        teardown();
        start(2, 1);
        int a = dial(), b = dial();
        /* The third connection from this address is closed unanswered. */
        int c = dial();
        char *r = read_all(c, 3000);
        ck_assert_str_eq(r, "");
        free(r);
        close(c);
        /* Idle connections are closed after timeout_s (1 s here). */
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = read_all(a, 5000);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ck_assert_str_eq(r, "");
        free(r);
        double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        ck_assert_msg(waited < 4.5, "idle connection kept for %.1f s", waited);
        r = read_all(b, 5000);
        ck_assert_str_eq(r, "");
        free(r);
        close(a);
        close(b);
        /* Both closed on the server's side: a new connection is answered
         * (once the server has counted the closes, a moment later). */
        int st = -1;
        for (int i = 0; i < 50 && st != 200; i++) {
                r = roundtrip("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                st = status_of(r);
                free(r);
                if (st != 200)
                        usleep(20000);
        }
        ck_assert_int_eq(st, 200);
}
END_TEST

START_TEST(test_listen_errors_name_the_address)
{
        struct http *h = NULL;
        struct error err;
        ck_assert_int_lt(http_new(&h, "no-port", &http_default_limits, &err), 0);
        ck_assert_ptr_nonnull(strstr(err.msg, "no-port"));
        ck_assert_int_lt(http_new(&h, "256.1.1.1:80", &http_default_limits, &err), 0);
        ck_assert_ptr_nonnull(strstr(err.msg, "256.1.1.1:80"));
        /* The port of the running server is taken. */
        char listen[64];
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", http_port(srv));
        ck_assert_int_eq(http_new(&h, listen, &http_default_limits, &err), 0);
        ck_assert_int_lt(http_start(h, &err), 0);
        char port[16];
        snprintf(port, sizeof(port), "%d", http_port(srv));
        ck_assert_ptr_nonnull(strstr(err.msg, port));
        http_free(h);
        /* IPv6 loopback in brackets. */
        ck_assert_int_eq(http_new(&h, "[::1]:0", &http_default_limits, &err), 0);
        int rc = http_start(h, &err);
        if (rc == 0)
                ck_assert_int_gt(http_port(h), 0);
        else   /* a machine without IPv6: the error still names it */
                ck_assert_ptr_nonnull(strstr(err.msg, "::1"));
        http_free(h);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("http");
        TCase *tc = tcase_create("server");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_get_and_query);
        tcase_add_test(tc, test_unknown_path_and_method);
        tcase_add_test(tc, test_post_body);
        tcase_add_test(tc, test_oversized_body_refused_unread);
        tcase_add_test(tc, test_per_client_limit_and_idle_timeout);
        tcase_add_test(tc, test_listen_errors_name_the_address);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(suite());
}
