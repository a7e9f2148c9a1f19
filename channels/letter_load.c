/* letter_load.c: letter_render through the letter module (letter.h),
 * loaded on the first letter by whichever thread gets there first. */
#include "letter.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker.h"

/* A load that failed is tried again after this long, not on every
 * letter (each try scans the disk), and not never: a module installed
 * or repaired meanwhile is taken without a restart. */
#define RETRY_MS 60000

typedef int render_fn(struct buf *pdf, const struct letter_input *in, struct error *err);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static render_fn *render;       /* set once, never unset */
static struct error load_err;
static int64_t failed_at_ms = -1;

/* What this program was built with, to compare with the module's. */
static const struct letter_abi abi = LETTER_ABI_INIT;
_Static_assert(sizeof(DUNNINGD_VERSION) <= sizeof(abi.version), "version too long for the ABI");

int letter_module_find(char *out, size_t n, struct error *err)
{
        char exe[PATH_MAX], tried[PATH_MAX + 16] = "";
        const char *env = getenv(LETTER_MODULE_ENV);

        if (env && *env) {
                /* Set on purpose: the only place looked at. A name
                 * without a slash would send dlopen down the library
                 * path, not to the file access() saw. */
                int e = !strchr(env, '/') ? EINVAL
                        : access(env, R_OK) < 0 ? errno
                        : snprintf(out, n, "%s", env) >= (int)n ? ENAMETOOLONG : 0;
                if (e == EINVAL)
                        return error_set(err, -ENOENT, "letter module: %s=%s: not a path",
                                         LETTER_MODULE_ENV, env);
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

/* Under lock: loads the module, or says in load_err why not. */
static void load(void)
{
        char path[PATH_MAX];

        if (letter_module_find(path, sizeof(path), &load_err) < 0)
                return;
        /* Once taken, never closed: its fonts and caches live as long as
         * the process. */
        void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
                error_set(&load_err, -EIO, "letter module %s: %s", path, dlerror());
                return;
        }
        /* A module of another build (a package upgraded under a running
         * dunningd) would read the structs passed to it wrongly. */
        const struct letter_abi *theirs = dlsym(lib, LETTER_MODULE_ABI_SYMBOL);
        if (!theirs || memcmp(theirs, &abi, sizeof(abi)) != 0) {
                error_set(&load_err, -EIO, "letter module %s: built for %.*s, not for this "
                          "dunningd %s: restart dunningd after an upgrade", path,
                          theirs ? (int)sizeof(theirs->version) : 20,
                          theirs ? theirs->version : "an older dunningd", abi.version);
                /* Closed, so that the next try reads the file again (a
                 * module put right meanwhile) rather than get this one. */
                dlclose(lib);
                return;
        }
        /* POSIX's way to take a function from dlsym (C cannot cast
         * void * to a function pointer). */
        *(void **)&render = dlsym(lib, LETTER_MODULE_SYMBOL);
        if (!render) {
                error_set(&load_err, -EIO, "letter module %s: no %s", path,
                          LETTER_MODULE_SYMBOL);
                dlclose(lib);
        }
}

int letter_module_load(struct error *err)
{
        pthread_mutex_lock(&lock);
        if (!render && (failed_at_ms < 0 || worker_clock_ms() - failed_at_ms >= RETRY_MS)) {
                load();
                failed_at_ms = render ? -1 : worker_clock_ms();
        }
        int rc = render ? 0 : error_set(err, -EIO, "%s", load_err.msg);
        pthread_mutex_unlock(&lock);
        return rc;
}

int letter_render(struct buf *pdf, const struct letter_input *in, struct error *err)
{
        int rc = letter_module_load(err);
        return rc < 0 ? rc : render(pdf, in, err);
}
