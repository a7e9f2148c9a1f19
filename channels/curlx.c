/* curlx.c: libcurl set-up shared by the HTTP clients. */
#include "curlx.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode init_rc;

static void init(void)
{
        init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

CURLcode curlx_global_init(void)
{
        pthread_once(&once, init);
        return init_rc;
}

void curlx_wipe_free(char *s)
{
        if (!s)
                return;
        explicit_bzero(s, strlen(s));
        free(s);
}

char *curlx_dup_or_null(const char *s)
{
        return s && *s ? xstrdup(s) : NULL;
}

int64_t curlx_retry_after_ms(const char *v, long max_s)
{
        if (!v || !*v)
                return 0;
        if (strspn(v, "0123456789") == strlen(v)) {
                if (strlen(v) > 9)
                        return (int64_t)max_s * 1000;
                long sec = strtol(v, NULL, 10);
                return (int64_t)(sec < max_s ? sec : max_s) * 1000;
        }
        time_t when = curl_getdate(v, NULL), now = time(NULL);
        if (when == (time_t)-1 || when <= now)
                return 0;
        int64_t d = (int64_t)(when - now);
        return (d < max_s ? d : max_s) * 1000;
}
