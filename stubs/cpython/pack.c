/* The bootstrap of a packed plugin, one that was compiled without
 * embedpack (`embedpack pack`).
 *
 * It is a library of its own in the bundle's lib/ folder, named with a
 * hash of the bundle, between the plugin and libpython: the plugin's
 * DT_NEEDED entry for libpython names this library instead, and its
 * imports of Py_InitializeEx and PyGILState_Ensure are renamed, in place,
 * to the two hooks below (EMBEDPACK_HOOK_INITIALIZE, EMBEDPACK_HOOK_ENSURE:
 * names of the same lengths that carry the same hash), so that the hooks
 * of several bundles in one process never meet.
 */
#include <Python.h>
#include <stdio.h>
#include <stdlib.h>

#include "embedpack.h"
#include "bootstrap.h"

#define EMBEDPACK_EXPORT __attribute__((visibility("default")))
/* The hooks' names, given in the order of the backend's hooked imports. */
#define EMBEDPACK_HOOK_INITIALIZE EMBEDPACK_HOOK_0
#define EMBEDPACK_HOOK_ENSURE EMBEDPACK_HOOK_1

EMBEDPACK_EXPORT void EMBEDPACK_HOOK_INITIALIZE(int initsigs);
EMBEDPACK_EXPORT PyGILState_STATE EMBEDPACK_HOOK_ENSURE(void);

/* Called where the plugin calls Py_InitializeEx(0).  Unlike a plugin
 * that `embedpack build` compiled, CFFI's code here goes on to use the
 * interpreter whatever happens, so a bundle that cannot start stops the
 * process, after saying why (embedpack_initialize() printed it). */
void EMBEDPACK_HOOK_INITIALIZE(int initsigs)
{
    (void)initsigs;
    if (embedpack_check_python() == 0 && embedpack_initialize() == 0)
        return;
    fprintf(stderr,
            "embedpack: the plugin was packed from a library compiled without "
            "embedpack, which cannot go on without Python: stopping the process.\n");
    abort();
}

/* Called where CFFI takes the GIL to set up the plugin's module, before
 * it imports _cffi_backend: whoever started Python, the bundle's paths
 * are added now.  On failure a Python exception stays set, and CFFI
 * reports it and makes the plugin's functions return 0. */
PyGILState_STATE EMBEDPACK_HOOK_ENSURE(void)
{
    static int attached;
    PyGILState_STATE state = PyGILState_Ensure();

    if (!attached) {
        attached = 1;
        /* Joining a running Python skipped the check in the hook above. */
        if (embedpack_check_python() != 0)
            PyErr_SetString(PyExc_ImportError, embedpack_error());
        else
            (void)embedpack_attach();
    }
    return state;
}
