/* Which files the self-check checks, and how: MANIFEST.json (at the
 * bundle's top, beside the shim) is read first; the files it lists that
 * are loaded before Python starts — the shim itself (EMBEDPACK_PLUGIN),
 * the plugin (EMBEDPACK_EMBEDDED), and every file directly in the
 * library folder (EMBEDPACK_LIBDIR: the runtime library and the
 * vendored libraries) — are hashed and compared with it; then the
 * library folder may hold nothing else but folders, since the loader
 * searches it before the system's.  The first difference is the answer.
 *
 * Compiled with the shim when the bundle is built with `--self-check`:
 *   EMBEDPACK_PLUGIN, EMBEDPACK_EMBEDDED  as for shim.c
 *   EMBEDPACK_LIBDIR    the library folder, relative to the bundle's top
 *   EMBEDPACK_MANIFEST  the manifest, relative to the bundle's top
 */
#define _GNU_SOURCE
#include "self_check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "sha256.h"

#define READ_SIZE (128 * 1024)

/* A file the manifest lists and the self-check checks. */
struct listed {
    const char *path, *sha256;
};

struct checked {
    struct listed *files;
    size_t count, capacity;
};

/* Where the error goes, and the bundle it is about. */
struct answer {
    char *error;
    size_t size;
    const char *top;
};

/* Writes why the bundle cannot start, and what to do; returns -1. */
__attribute__((format(printf, 2, 3))) static int refuse(const struct answer *answer,
                                                        const char *format, ...)
{
    va_list args;
    int length;

    va_start(args, format);
    length = vsnprintf(answer->error, answer->size, format, args);
    va_end(args);
    if (length >= 0 && (size_t)length < answer->size)
        snprintf(answer->error + length, answer->size - (size_t)length,
                 "; nothing of the bundle was loaded: copy it again from where it was built, "
                 "or build it again (`embedpack verify %s` lists what changed)",
                 answer->top);
    return -1;
}

/* Whether `path` (relative to the bundle's top) is directly in the
 * library folder. */
static int in_libdir(const char *path)
{
    size_t length = strlen(EMBEDPACK_LIBDIR);

    return strncmp(path, EMBEDPACK_LIBDIR, length) == 0 && path[length] == '/'
           && path[length + 1] != '\0' && strchr(path + length + 1, '/') == NULL;
}

static int is_checked(const char *path)
{
    return strcmp(path, EMBEDPACK_PLUGIN) == 0 || strcmp(path, EMBEDPACK_EMBEDDED) == 0
           || in_libdir(path);
}

/* manifest.c's callback: keeps the files to check; 1 when out of memory. */
static int keep(const char *path, const char *sha256, void *data)
{
    struct checked *checked = data;

    if (!is_checked(path))
        return 0;
    if (checked->count == checked->capacity) {
        size_t capacity = checked->capacity ? 2 * checked->capacity : 32;
        struct listed *files = realloc(checked->files, capacity * sizeof *files);

        if (files == NULL)
            return 1;
        checked->files = files;
        checked->capacity = capacity;
    }
    checked->files[checked->count].path = path;
    checked->files[checked->count].sha256 = sha256;
    checked->count++;
    return 0;
}

static const struct listed *find(const struct checked *checked, const char *path)
{
    size_t i;

    for (i = 0; i < checked->count; i++)
        if (strcmp(checked->files[i].path, path) == 0)
            return &checked->files[i];
    return NULL;
}

/* The file `path` opened for reading, when it is a regular file (what
 * else is there, a FIFO, never blocks the host); -1 with errno set. */
static int open_regular(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), saved;

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0)
        saved = errno;
    else if (S_ISREG(st.st_mode))
        return fd;
    else
        saved = EINVAL;
    close(fd);
    errno = saved;
    return -1;
}

/* The whole file `path`, ended with a NUL byte, and its size; NULL
 * with errno set when it cannot be read. */
static char *read_all(const char *path, size_t *size)
{
    struct stat st;
    char *text = NULL;
    size_t done = 0;
    int fd = open_regular(path), saved;

    if (fd < 0 || fstat(fd, &st) != 0)
        goto failed;
    text = malloc((size_t)st.st_size + 1);
    if (text == NULL)
        goto failed;
    while (done < (size_t)st.st_size) {
        ssize_t got = read(fd, text + done, (size_t)st.st_size - done);

        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            errno = got < 0 ? errno : EIO;
            goto failed;
        }
        done += (size_t)got;
    }
    close(fd);
    text[done] = '\0';
    *size = done;
    return text;
failed:
    saved = errno;
    free(text);
    close(fd);
    errno = saved;
    return NULL;
}

/* The SHA-256 of the file `path`, as 64 lower-case hex digits in `hex`;
 * -1 with errno set when it cannot be read. */
static int hash_file(const char *path, char hex[2 * EMBEDPACK_SHA256_SIZE + 1], unsigned char *buffer)
{
    struct embedpack_sha256 sha;
    unsigned char digest[EMBEDPACK_SHA256_SIZE];
    int fd = open_regular(path), i, saved;
    ssize_t got;

    if (fd < 0)
        return -1;
    embedpack_sha256_init(&sha);
    while ((got = read(fd, buffer, READ_SIZE)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        embedpack_sha256_update(&sha, buffer, (size_t)got);
    }
    close(fd);
    embedpack_sha256_final(&sha, digest);
    for (i = 0; i < EMBEDPACK_SHA256_SIZE; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return 0;
}

static int is_sha256(const char *text)
{
    return strlen(text) == 2 * EMBEDPACK_SHA256_SIZE
           && strspn(text, "0123456789abcdefABCDEF") == 2 * EMBEDPACK_SHA256_SIZE;
}

/* Each file kept is as the manifest says. */
static int compare(const struct answer *answer, const struct checked *checked)
{
    char path[PATH_MAX], hex[2 * EMBEDPACK_SHA256_SIZE + 1];
    unsigned char *buffer = malloc(READ_SIZE);
    int result = 0;
    size_t i;

    if (buffer == NULL)
        return refuse(answer, "there is no memory to check its files");
    for (i = 0; i < checked->count && result == 0; i++) {
        const struct listed *file = &checked->files[i];

        if (!is_sha256(file->sha256))
            result = refuse(answer, "%s gives %s a `sha256` that is not 64 hex digits",
                            EMBEDPACK_MANIFEST, file->path);
        else if (snprintf(path, sizeof path, "%s/%s", answer->top, file->path) >= (int)sizeof path)
            result = refuse(answer, "the path of %s is too long", file->path);
        else if (hash_file(path, hex, buffer) != 0)
            result = errno == ENOENT
                         ? refuse(answer, "%s is missing (%s lists it)", file->path, EMBEDPACK_MANIFEST)
                         : refuse(answer, "%s cannot be read (%s)", file->path, strerror(errno));
        else if (strcasecmp(hex, file->sha256) != 0)
            result = refuse(answer,
                            "%s has changed since the bundle was built (its SHA-256 is %s, "
                            "%s says %s)",
                            file->path, hex, EMBEDPACK_MANIFEST, file->sha256);
    }
    free(buffer);
    return result;
}

/* The library folder holds no file the manifest does not list. */
static int nothing_added(const struct answer *answer, const struct checked *checked)
{
    char dir[PATH_MAX], name[PATH_MAX];
    struct dirent *entry;
    struct stat st;
    int result = 0;
    DIR *folder;

    if (snprintf(dir, sizeof dir, "%s/%s", answer->top, EMBEDPACK_LIBDIR) >= (int)sizeof dir)
        return refuse(answer, "the path of %s is too long", EMBEDPACK_LIBDIR);
    folder = opendir(dir);
    if (folder == NULL)
        return errno == ENOENT ? 0 : refuse(answer, "%s cannot be read (%s)", EMBEDPACK_LIBDIR, strerror(errno));
    while (result == 0 && (entry = readdir(folder)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        snprintf(name, sizeof name, "%s/%s", EMBEDPACK_LIBDIR, entry->d_name);
        if (fstatat(dirfd(folder), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
            continue;
        if (find(checked, name) == NULL)
            result = refuse(answer,
                            "%s is not in %s: it was put there after the bundle was built, "
                            "and the loader could load it",
                            name, EMBEDPACK_MANIFEST);
    }
    closedir(folder);
    return result;
}

int embedpack_self_check(const char *top, char *error, size_t error_size)
{
    struct answer answer = {error, error_size, top};
    struct checked checked = {NULL, 0, 0};
    char path[PATH_MAX], problem[256];
    const char *required[] = {EMBEDPACK_PLUGIN, EMBEDPACK_EMBEDDED};
    size_t size, i;
    char *text;
    int result;

    if (snprintf(path, sizeof path, "%s/%s", top, EMBEDPACK_MANIFEST) >= (int)sizeof path)
        return refuse(&answer, "the path of %s is too long", EMBEDPACK_MANIFEST);
    text = read_all(path, &size);
    if (text == NULL)
        return refuse(&answer, "it was built to check itself against %s, which cannot be read (%s)",
                      EMBEDPACK_MANIFEST, strerror(errno));
    result = embedpack_manifest_files(text, size, keep, &checked, problem, sizeof problem);
    if (result < 0)
        refuse(&answer, "its %s is not as embedpack writes it: %s", EMBEDPACK_MANIFEST, problem);
    else if (result > 0)
        refuse(&answer, "there is no memory to read its %s", EMBEDPACK_MANIFEST);
    for (i = 0; result == 0 && i < sizeof required / sizeof *required; i++)
        if (find(&checked, required[i]) == NULL)
            result = refuse(&answer, "%s does not list %s", EMBEDPACK_MANIFEST, required[i]);
    if (result == 0)
        result = compare(&answer, &checked);
    if (result == 0)
        result = nothing_added(&answer, &checked);
    free(checked.files);
    free(text);
    return result == 0 ? 0 : -1;
}
