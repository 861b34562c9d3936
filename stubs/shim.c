/* The library hosts load, `lib<module>.so`: a shim that needs nothing but
 * the C library.  ld.so computes `$ORIGIN` from the path an object was
 * opened by, so a plugin reached through an install-style symlink
 * (/usr/local/lib/libx.so -> /opt/x/libx.so) would look for the bundle's
 * lib/ beside the link, and fail or load another machine's libpython.
 * The shim finds its own real path instead and loads the embedded plugin
 * (EMBEDPACK_EMBEDDED, beside it) from there, while being loaded; each
 * function the plugin exports is a jump through a table the shim fills,
 * so arguments, return values and the stack reach the plugin untouched.
 *
 * Compiled at pack time with:
 *   EMBEDPACK_PLUGIN    the shim's own name in the bundle, for messages
 *   EMBEDPACK_EMBEDDED  the embedded plugin's name in the bundle
 *   EMBEDPACK_INIT, EMBEDPACK_INIT_ERROR  `<module>_init` and
 *                       `<module>_init_error`, when the plugin has them
 *   shim_exports.h      EMBEDPACK_EXPORTS(X): X(index, name) for every
 *                       other function the plugin exports
 *   EMBEDPACK_SELF_CHECK  with `--self-check`: before loading anything,
 *                       check the files loaded with the plugin against
 *                       MANIFEST.json (self_check/self_check.c)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim_exports.h"
#ifdef EMBEDPACK_SELF_CHECK
#include "self_check.h"
#endif

#define EMBEDPACK_STRING(x) #x
#define EMBEDPACK_NAME(x) EMBEDPACK_STRING(x)

#define EMBEDPACK_COUNT(i, name) +1
#define EMBEDPACK_SYMBOL(i, name) #name,
enum { EXPORT_COUNT = 0 EMBEDPACK_EXPORTS(EMBEDPACK_COUNT) };

/* How `embedpack inspect` and `embedpack pack` recognize a shim. */
__attribute__((used)) static const char shim_mark[] = "embedpack library shim: loads " EMBEDPACK_EMBEDDED;

static char plugin_path[PATH_MAX];
static char load_error[PATH_MAX + 512];
static int reported;

/* What a forwarded function does when the plugin could not be loaded. */
extern char embedpack_unavailable[] __attribute__((visibility("hidden")));

/* Where each forwarded function jumps: the plugin's function once it is
 * loaded, else embedpack_unavailable.  One slot more than there are
 * functions, so that the array is never empty. */
__attribute__((visibility("hidden"), used)) void *embedpack_targets[EXPORT_COUNT + 1];

static const char *const export_names[EXPORT_COUNT + 1] = {EMBEDPACK_EXPORTS(EMBEDPACK_SYMBOL) NULL};

/* Says once, on stderr, why the plugin cannot start; never exits. */
__attribute__((visibility("hidden"), used)) void embedpack_report(void)
{
    if (__atomic_exchange_n(&reported, 1, __ATOMIC_ACQ_REL))
        return;
    fprintf(stderr, "embedpack: the Python bundle %s cannot start: %s.\n",
            plugin_path[0] ? plugin_path : "(unknown location)", load_error);
}

/* Each forwarded function: a jump through its slot (endbr64 is a no-op
 * where indirect-branch tracking is off).  The fallback returns 0, in the
 * integer and the floating-point return registers, as CFFI's functions do
 * when Python cannot start. */
#define EMBEDPACK_TRAMPOLINE(i, name)                                                   \
    __asm__(".text\n"                                                                   \
            ".globl " #name "\n"                                                        \
            ".type " #name ", @function\n" #name ":\n"                                  \
            "\tendbr64\n"                                                               \
            "\tjmp *embedpack_targets+8*" #i "(%rip)\n"                                 \
            ".size " #name ", .-" #name "\n");
EMBEDPACK_EXPORTS(EMBEDPACK_TRAMPOLINE)

__asm__(".text\n"
        ".type embedpack_unavailable, @function\n"
        "embedpack_unavailable:\n"
        "\tendbr64\n"
        "\tsub $8, %rsp\n"
        "\tcall embedpack_report\n"
        "\tadd $8, %rsp\n"
        "\txor %eax, %eax\n"
        "\txor %edx, %edx\n"
        "\tpxor %xmm0, %xmm0\n"
        "\tpxor %xmm1, %xmm1\n"
        "\tret\n"
        ".size embedpack_unavailable, .-embedpack_unavailable\n");

static void *embedded;

static void *find(const char *name)
{
    return embedded != NULL ? dlsym(embedded, name) : NULL;
}

__attribute__((constructor)) static void embedpack_load(void)
{
    char self[PATH_MAX], path[PATH_MAX];
    Dl_info info;
    char *slash;
    int i;

    for (i = 0; i < EXPORT_COUNT; i++)
        embedpack_targets[i] = embedpack_unavailable;
    snprintf(load_error, sizeof load_error, "the plugin could not find its own file");
    if (!dladdr((void *)&embedpack_load, &info) || info.dli_fname == NULL
        || realpath(info.dli_fname, self) == NULL)
        return;
    slash = strrchr(self, '/');
    if (slash != NULL)
        *slash = '\0';
    snprintf(plugin_path, sizeof plugin_path, "%s/%s", self, EMBEDPACK_PLUGIN);
    if (snprintf(path, sizeof path, "%s/%s", self, EMBEDPACK_EMBEDDED) >= (int)sizeof path) {
        snprintf(load_error, sizeof load_error, "its path is too long");
        return;
    }
#ifdef EMBEDPACK_SELF_CHECK
    if (embedpack_self_check(self, load_error, sizeof load_error) != 0)
        return;
#endif
    embedded = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (embedded == NULL) {
        snprintf(load_error, sizeof load_error, "%s; copy the whole bundle again "
                 "(`embedpack verify %s` lists what changed)", dlerror(), self);
        return;
    }
    for (i = 0; i < EXPORT_COUNT; i++) {
        void *target = dlsym(embedded, export_names[i]);
        if (target != NULL)
            embedpack_targets[i] = target;
    }
}

#ifdef EMBEDPACK_INIT
/* 0 once Python runs the plugin's init code; else -1, and
 * EMBEDPACK_INIT_ERROR says why. */
__attribute__((visibility("default"))) int EMBEDPACK_INIT(void)
{
    int (*init)(void) = (int (*)(void))find(EMBEDPACK_NAME(EMBEDPACK_INIT));

    if (init != NULL)
        return init();
    embedpack_report();
    return -1;
}

__attribute__((visibility("default"))) const char *EMBEDPACK_INIT_ERROR(void)
{
    const char *(*init_error)(void) =
        (const char *(*)(void))find(EMBEDPACK_NAME(EMBEDPACK_INIT_ERROR));

    return init_error != NULL ? init_error() : load_error;
}
#endif
