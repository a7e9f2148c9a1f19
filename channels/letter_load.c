/* letter_load.c: letter_render through the letter module (letter.h),
 * loaded once, on the first letter, by whichever thread gets there first. */
#include "letter.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int render_fn(struct buf *pdf, const struct letter_input *in, struct error *err);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static render_fn *render;
static struct error load_err;

int letter_module_find(char *out, size_t n, struct error *err)
{
        char exe[PATH_MAX], tried[3 * PATH_MAX] = "";
        const char *env = getenv(LETTER_MODULE_ENV);

        if (env && *env) {
                /* Set on purpose: the only place looked at. */
                int e = access(env, R_OK) < 0 ? errno
                        : snprintf(out, n, "%s", env) >= (int)n ? ENAMETOOLONG : 0;
                if (e)
                        return error_set(err, -ENOENT, "letter module: %s=%s: %s",
                                         LETTER_MODULE_ENV, env, strerror(e));
                return 0;
        }
        ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (len > 0) {
                exe[len] = '\0';
                char *slash = strrchr(exe, '/');
                if (slash) {
                        *slash = '\0';
                        if (snprintf(out, n, "%s/%s", exe, LETTER_MODULE_NAME) < (int)n &&
                            access(out, R_OK) == 0)
                                return 0;
                        snprintf(tried, sizeof(tried), "%s/%s, ", exe, LETTER_MODULE_NAME);
                }
        }
        if (access(LETTER_MODULE_INSTALLED, R_OK) == 0 &&
            snprintf(out, n, "%s", LETTER_MODULE_INSTALLED) < (int)n)
                return 0;
        return error_set(err, -ENOENT,
                         "letter module not found (looked at %s%s; %s names another): "
                         "letters cannot be made",
                         tried, LETTER_MODULE_INSTALLED, LETTER_MODULE_ENV);
}

static void load(void)
{
        char path[PATH_MAX];

        if (letter_module_find(path, sizeof(path), &load_err) < 0)
                return;
        /* Never closed: its fonts and caches live as long as the process. */
        void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
                error_set(&load_err, -EIO, "letter module %s: %s", path, dlerror());
                return;
        }
        /* POSIX's way to take a function from dlsym (C cannot cast
         * void * to a function pointer). */
        *(void **)&render = dlsym(lib, LETTER_MODULE_SYMBOL);
        if (!render)
                error_set(&load_err, -EIO, "letter module %s: no %s", path,
                          LETTER_MODULE_SYMBOL);
}

int letter_render(struct buf *pdf, const struct letter_input *in, struct error *err)
{
        pthread_once(&once, load);
        if (!render)
                return error_set(err, -EIO, "%s", load_err.msg);
        return render(pdf, in, err);
}
