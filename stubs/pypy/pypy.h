/* What the bootstrap uses of libpypy: its embedding functions, which
 * PyPy's headers do not declare (CFFI's generated code declares them the
 * same way). */
#ifndef EMBEDPACK_PYPY_H
#define EMBEDPACK_PYPY_H

#include "embedpack.h"

extern int pypy_carefully_make_gil(const char *name);
extern int pypy_init_embedded_cffi_module(int version, void *init);

/* What CFFI's PyPy start-up gives pypy_init_embedded_cffi_module(). */
struct embedpack_cffi_init {
    const char *name;
    void *func;
    const char *code;
};

/* pypy_init_embedded_cffi_module(), with the bundle's paths added before
 * the init code runs (start.c). */
EMBEDPACK_HIDDEN int embedpack_init_module(int version, void *init);

#endif
