/* Helpers shared by the interpreter-specific parts of the bootstrap. */
#ifndef EMBEDPACK_BOOTSTRAP_H
#define EMBEDPACK_BOOTSTRAP_H

#include <stddef.h>

/* The absolute directory holding the plugin, or NULL if unknown. */
EMBEDPACK_HIDDEN const char *embedpack_bundle_dir(void);
/* Writes "<bundle dir>/<relative>" to out; -1 if it does not fit. */
EMBEDPACK_HIDDEN int embedpack_bundle_path(char *out, size_t size, const char *relative);
/* Whether EMBEDPACK_DEBUG asks for start-up details on stderr. */
EMBEDPACK_HIDDEN int embedpack_debug(void);
/* Records and prints why the bundle cannot start; returns -1. */
EMBEDPACK_HIDDEN int embedpack_fail(const char *format, ...)
    __attribute__((format(printf, 1, 2)));
/* 0 when the files Python needs to start are present, else embedpack_fail(). */
EMBEDPACK_HIDDEN int embedpack_check_bundle(void);

#endif
