/* curlx.c: libcurl set-up shared by the HTTP clients. */
#include "curlx.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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
