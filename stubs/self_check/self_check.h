/* The self-check of a bundle built with `--self-check`: before the
 * library shim loads the plugin, every file loaded with it is checked
 * against the SHA-256 that MANIFEST.json records. */
#ifndef EMBEDPACK_SELF_CHECK_H
#define EMBEDPACK_SELF_CHECK_H

#include <stddef.h>

/* 0 when the files the shim is about to load, in the bundle at `top`,
 * are as MANIFEST.json lists them; else -1, with why (naming the file
 * and what to do) in `error`. */
int embedpack_self_check(const char *top, char *error, size_t error_size);

#endif
