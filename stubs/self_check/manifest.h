/* Reads the `files` of a MANIFEST.json, as embedpack writes it, for the
 * library shim's self-check. */
#ifndef EMBEDPACK_MANIFEST_H
#define EMBEDPACK_MANIFEST_H

#include <stddef.h>

/* Calls each(path, sha256, data) for every entry of the manifest's
 * `files`, in order, with the entry's exact file name (unescaped) and
 * its `sha256` text; stops when each() returns non-zero, and returns
 * that.  The strings lie in `text`, which is changed (decoded in place)
 * and must end with a NUL byte at text[size].  Returns -1, with why in
 * `error`, when the text is not JSON that has a `files` list of objects
 * with a `path` and a `sha256` each. */
int embedpack_manifest_files(char *text, size_t size,
                             int (*each)(const char *path, const char *sha256, void *data),
                             void *data, char *error, size_t error_size);

#endif
