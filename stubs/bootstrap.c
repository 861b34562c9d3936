/* Where the bundle is, and how its failures are reported.
 *
 * This part of the bootstrap uses no Python API, so any interpreter's
 * start-up code (CPython's, PyPy's) can share it.  The bundle's layout is
 * compiled in as paths relative to the plugin's own directory:
 * EMBEDPACK_HOME, EMBEDPACK_STDLIB, EMBEDPACK_SITE, EMBEDPACK_APP, and
 * EMBEDPACK_REQUIRED, the list of what the interpreter cannot start
 * without (its backend says what); EMBEDPACK_EXTENSIONS and
 * EMBEDPACK_STDLIB_ZIP when the bundle has them.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "embedpack.h"
#include "bootstrap.h"

static char bundle_dir[PATH_MAX];
static char plugin_path[PATH_MAX];
static char error_text[PATH_MAX + 512];

/* Cuts the last component off `path`. */
static void dirname_in_place(char *path)
{
    char *slash = strrchr(path, '/');
    if (slash != NULL)
        *slash = '\0';
}

/* The path a host passed to dlopen() may be relative, and the host may
 * change directory before its first call: resolve it while loading.  This
 * code lives in the embedded plugin (`embedpack build`), or in a bootstrap
 * library in the bundle's lib/ folder next to the runtime (`embedpack pack`,
 * EMBEDPACK_IN_LIBDIR).  Messages name EMBEDPACK_PLUGIN, the library hosts
 * load. */
__attribute__((constructor)) static void embedpack_locate(void)
{
    char self[PATH_MAX];
    Dl_info info;

    if (!dladdr((void *)&embedpack_locate, &info) || info.dli_fname == NULL)
        return;
    if (realpath(info.dli_fname, self) == NULL)
        return;
    strcpy(bundle_dir, self);
    dirname_in_place(bundle_dir);
#ifdef EMBEDPACK_IN_LIBDIR
    dirname_in_place(bundle_dir);
#endif
    snprintf(plugin_path, sizeof plugin_path, "%s/%s", bundle_dir, EMBEDPACK_PLUGIN);
}

const char *embedpack_bundle_dir(void)
{
    return bundle_dir[0] ? bundle_dir : NULL;
}

int embedpack_bundle_path(char *out, size_t size, const char *relative)
{
    int n = snprintf(out, size, "%s/%s", bundle_dir, relative);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

int embedpack_debug(void)
{
    const char *value = getenv("EMBEDPACK_DEBUG");
    return value != NULL && value[0] != '\0' && strcmp(value, "0") != 0;
}

const char *embedpack_error(void)
{
    return error_text;
}

/* Records why the bundle cannot start, and says so on stderr the first
 * time: a host that calls again and again (CFFI tries to start at each
 * call) gets the paragraph once, not once per call. */
int embedpack_fail(const char *format, ...)
{
    static int reported;
    char reason[512];
    va_list args;

    va_start(args, format);
    vsnprintf(reason, sizeof reason, format, args);
    va_end(args);
    snprintf(error_text, sizeof error_text, "%s", reason);
    if (__atomic_exchange_n(&reported, 1, __ATOMIC_RELAXED) == 0)
        fprintf(stderr, "embedpack: the Python bundle %s cannot start: %s.\n",
                plugin_path[0] ? plugin_path : "(unknown location)", reason);
    return -1;
}

/* Check the parts Python cannot start without, so that a damaged bundle
 * is reported by name instead of by the interpreter's fatal error. */
int embedpack_check_bundle(void)
{
    static const char *required[] = {EMBEDPACK_REQUIRED};
    char path[PATH_MAX];
    struct stat st;
    size_t i;

    if (bundle_dir[0] == '\0')
        return embedpack_fail("the plugin could not find its own file");
    for (i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (embedpack_bundle_path(path, sizeof path, required[i]) != 0)
            return embedpack_fail("the path %s/%s is too long", bundle_dir, required[i]);
        if (stat(path, &st) != 0)
            return embedpack_fail("%s is missing; copy the whole bundle again "
                                  "(`embedpack verify %s` lists what changed)",
                                  path, bundle_dir);
    }
    return 0;
}
