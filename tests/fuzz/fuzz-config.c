/* fuzz-config.c: the config loader (config_load: libyaml events, the
 * schema table, defaults and cross-key checks).
 *
 * config_load reads a file, as dunningd does at start-up, so each input is
 * written to one file in a private temporary directory first: the loader
 * is tested exactly as it runs, with no second entry point to keep in step.
 *
 * Beyond "no crash": a failure returns a negative errno and every line of
 * the message is "FILE:..." (or the closing "..."), as config.h promises
 * and as the tests of every config error assume. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

static char dir[64], path[96];

static void cleanup(void)
{
        unlink(path);
        rmdir(dir);
}

static void setup(void)
{
        /* One file per input: on tmpfs, since on this VM's ext4 disk the
         * create and truncate cost 15 times the load itself. */
        const char *tmp = getenv("TMPDIR");
        if (access("/dev/shm", W_OK) == 0)
                tmp = "/dev/shm";
        snprintf(dir, sizeof(dir), "%s/fuzz-config-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir))
                abort();
        snprintf(path, sizeof(path), "%s/dunningd.yaml", dir);
        atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct error err = { "" };
        struct config *cfg = NULL;

        if (!dir[0])
                setup();
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd) < 0)
                abort();

        int r = config_load(&cfg, path, &err);
        if (r == 0) {
                FUZZ_ASSERT(cfg && cfg->redis.url && cfg->workers >= 1, "loaded config");
                config_free(cfg);
                return 0;
        }
        FUZZ_ASSERT(r < 0 && !cfg && err.msg[0], "r %d", r);
        size_t plen = strlen(path);
        for (const char *line = err.msg; *line;) {
                size_t n = strcspn(line, "\n");
                bool ok = (n > plen && strncmp(line, path, plen) == 0 && line[plen] == ':') ||
                          (n == 3 && strncmp(line, "...", 3) == 0);
                FUZZ_ASSERT(ok, "message line does not name the file: %.*s", (int)n, line);
                line += n + (line[n] == '\n');
        }
        return 0;
}
