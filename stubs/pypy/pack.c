/* The bootstrap of a packed plugin for PyPy, one that was compiled
 * without embedpack (`embedpack pack`).
 *
 * It is a library of its own in the bundle's lib/ folder, named with a
 * hash of the plugin, between the plugin and libpypy: the plugin's
 * DT_NEEDED entry for libpypy names this library instead, and its imports
 * of pypy_carefully_make_gil and pypy_init_embedded_cffi_module are
 * renamed, in place, to the two hooks below (EMBEDPACK_HOOK_0 and
 * EMBEDPACK_HOOK_1: names of the same lengths that carry the hash).
 * CFFI's PyPy start-up handles a failed start itself (its functions
 * return 0), so unlike CPython's, this bootstrap never stops the host.
 */
#include "embedpack.h"
#include "bootstrap.h"
#include "pypy.h"

#define EMBEDPACK_EXPORT __attribute__((visibility("default")))

EMBEDPACK_EXPORT int EMBEDPACK_HOOK_0(const char *name);
EMBEDPACK_EXPORT int EMBEDPACK_HOOK_1(int version, void *init);

/* Called where the plugin calls pypy_carefully_make_gil(). */
int EMBEDPACK_HOOK_0(const char *name)
{
    if (embedpack_check_python() != 0 || embedpack_initialize() != 0)
        return -1;
    return pypy_carefully_make_gil(name);
}

/* Called where the plugin calls pypy_init_embedded_cffi_module(): the
 * bundle's paths are added before its init code runs. */
int EMBEDPACK_HOOK_1(int version, void *init)
{
    return embedpack_init_module(version, init);
}
