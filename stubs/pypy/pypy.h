/* What the bootstrap uses of libpypy: its embedding functions, which
 * PyPy's headers do not declare (CFFI's generated code declares them the
 * same way). */
#ifndef EMBEDPACK_PYPY_H
#define EMBEDPACK_PYPY_H

extern int pypy_carefully_make_gil(const char *name);
extern int pypy_init_embedded_cffi_module(int version, void *init);
extern int pypy_execute_source_ptr(char *source, void *ptr);

#endif
