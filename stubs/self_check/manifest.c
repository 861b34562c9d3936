/* A reader of JSON just large enough for MANIFEST.json: it walks any
 * JSON value (objects, arrays, strings, numbers, true, false, null) and
 * looks only at the top object's `files`.  Strings are decoded in place
 * (a decoded string is never longer than its JSON spelling), then a name
 * marked `"escaped": true` has embedpack's own escapes undone: `\xHH`
 * for a byte that is not UTF-8 and `\\` for a backslash
 * (src/bundle/name.rs).  Anything else is refused, saying where. */
#include "manifest.h"

#include <stdio.h>
#include <string.h>

/* Deeper than any manifest embedpack writes. */
#define MAX_DEPTH 32

struct reader {
    char *start, *at, *end;
    const char *problem;
};

/* One entry of `files`, as read so far. */
struct entry {
    const char *path, *sha256;
    int escaped;
};

static int fail(struct reader *r, const char *problem)
{
    if (r->problem == NULL)
        r->problem = problem;
    return -1;
}

static void skip_space(struct reader *r)
{
    while (r->at < r->end && (*r->at == ' ' || *r->at == '\n' || *r->at == '\r' || *r->at == '\t'))
        r->at++;
}

/* Whether the next character is `c`; it is consumed if so. */
static int next_is(struct reader *r, char c)
{
    skip_space(r);
    if (r->at < r->end && *r->at == c) {
        r->at++;
        return 1;
    }
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The four hex digits at `p`, or -1. */
static long hex4(const char *p)
{
    long value = 0;
    int i;

    for (i = 0; i < 4; i++) {
        int digit = hex_digit(p[i]);

        if (digit < 0)
            return -1;
        value = value * 16 + digit;
    }
    return value;
}

/* Writes `code` as UTF-8 at `out`; returns the end. */
static char *put_utf8(char *out, long code)
{
    if (code < 0x80) {
        *out++ = (char)code;
    } else if (code < 0x800) {
        *out++ = (char)(0xc0 | code >> 6);
        *out++ = (char)(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
        *out++ = (char)(0xe0 | code >> 12);
        *out++ = (char)(0x80 | (code >> 6 & 0x3f));
        *out++ = (char)(0x80 | (code & 0x3f));
    } else {
        *out++ = (char)(0xf0 | code >> 18);
        *out++ = (char)(0x80 | (code >> 12 & 0x3f));
        *out++ = (char)(0x80 | (code >> 6 & 0x3f));
        *out++ = (char)(0x80 | (code & 0x3f));
    }
    return out;
}

/* The `\u` escape at r->at (past the `u`), with its low surrogate if it
 * has one, written at `out`; returns the end, or NULL. */
static char *unicode_escape(struct reader *r, char *out)
{
    long code = r->end - r->at >= 4 ? hex4(r->at) : -1;

    if (code < 0)
        return NULL;
    r->at += 4;
    if (code >= 0xd800 && code < 0xdc00) {
        long low = r->end - r->at >= 6 && r->at[0] == '\\' && r->at[1] == 'u' ? hex4(r->at + 2) : -1;

        if (low < 0xdc00 || low >= 0xe000)
            return NULL;
        r->at += 6;
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
    } else if (code >= 0xdc00 && code < 0xe000) {
        return NULL;
    }
    return code == 0 ? NULL : put_utf8(out, code);
}

/* The string at r->at, decoded in place and ended with a NUL byte. */
static const char *string(struct reader *r)
{
    char *out, *start;

    if (!next_is(r, '"'))
        return fail(r, "a string was expected"), NULL;
    start = out = r->at;
    while (r->at < r->end && *r->at != '"') {
        char c = *r->at++;

        if ((unsigned char)c < 0x20)
            return fail(r, "a string holds a control character"), NULL;
        if (c != '\\') {
            *out++ = c;
            continue;
        }
        if (r->at == r->end)
            break;
        c = *r->at++;
        switch (c) {
        case '"': case '\\': case '/': *out++ = c; break;
        case 'b': *out++ = '\b'; break;
        case 'f': *out++ = '\f'; break;
        case 'n': *out++ = '\n'; break;
        case 'r': *out++ = '\r'; break;
        case 't': *out++ = '\t'; break;
        case 'u':
            out = unicode_escape(r, out);
            if (out == NULL)
                return fail(r, "a string holds a `\\u` escape that is not a character"), NULL;
            break;
        default:
            return fail(r, "a string holds an unknown escape"), NULL;
        }
    }
    if (r->at == r->end)
        return fail(r, "a string does not end"), NULL;
    r->at++;
    *out = '\0';
    return start;
}

/* Whether `word` is next; it is consumed if so. */
static int literal(struct reader *r, const char *word)
{
    size_t length = strlen(word);

    skip_space(r);
    if ((size_t)(r->end - r->at) < length || memcmp(r->at, word, length) != 0)
        return 0;
    r->at += length;
    return 1;
}

static int skip_value(struct reader *r, int depth);

/* The members of an object or the items of an array, after its opening
 * bracket, skipped. */
static int skip_items(struct reader *r, char close, int depth)
{
    if (next_is(r, close))
        return 0;
    do {
        if (close == '}' && (string(r) == NULL || !next_is(r, ':')))
            return fail(r, "an object member was expected");
        if (skip_value(r, depth + 1) != 0)
            return -1;
    } while (next_is(r, ','));
    return next_is(r, close) ? 0 : fail(r, "`,` or the end of a list or an object was expected");
}

static int skip_value(struct reader *r, int depth)
{
    if (depth > MAX_DEPTH)
        return fail(r, "values nest too deep");
    skip_space(r);
    if (r->at == r->end)
        return fail(r, "a value was expected");
    if (*r->at == '"')
        return string(r) != NULL ? 0 : -1;
    if (next_is(r, '{'))
        return skip_items(r, '}', depth);
    if (next_is(r, '['))
        return skip_items(r, ']', depth);
    if (literal(r, "true") || literal(r, "false") || literal(r, "null"))
        return 0;
    if (strchr("-0123456789", *r->at) == NULL)
        return fail(r, "a value was expected");
    while (r->at < r->end && strchr("+-.eE0123456789", *r->at) != NULL)
        r->at++;
    return 0;
}

/* Undoes embedpack's escapes of a file name that is not UTF-8, in place. */
static int unescape_name(struct reader *r, char *name)
{
    char *out = name;

    for (; *name != '\0'; name++) {
        int high, low;

        if (*name != '\\') {
            *out++ = *name;
        } else if (name[1] == '\\') {
            *out++ = '\\';
            name++;
        } else if (name[1] == 'x' && (high = hex_digit(name[2])) >= 0
                   && (low = hex_digit(name[3])) >= 0 && high * 16 + low != 0) {
            *out++ = (char)(high * 16 + low);
            name += 3;
        } else {
            return fail(r, "an escaped file name holds a backslash that is no escape");
        }
    }
    *out = '\0';
    return 0;
}

/* One object of `files`, after its `{`. */
static int file_entry(struct reader *r, struct entry *entry)
{
    memset(entry, 0, sizeof *entry);
    if (next_is(r, '}'))
        return fail(r, "an entry of `files` is empty");
    do {
        const char *key = string(r);

        if (key == NULL || !next_is(r, ':'))
            return fail(r, "an object member was expected");
        if (strcmp(key, "path") == 0) {
            if ((entry->path = string(r)) == NULL)
                return -1;
        } else if (strcmp(key, "sha256") == 0) {
            if ((entry->sha256 = string(r)) == NULL)
                return -1;
        } else if (strcmp(key, "escaped") == 0) {
            entry->escaped = literal(r, "true");
            if (!entry->escaped && !literal(r, "false"))
                return fail(r, "`escaped` is neither true nor false");
        } else if (skip_value(r, 3) != 0) {
            return -1;
        }
    } while (next_is(r, ','));
    if (!next_is(r, '}'))
        return fail(r, "`,` or the end of an entry of `files` was expected");
    if (entry->path == NULL || entry->sha256 == NULL)
        return fail(r, "an entry of `files` has no `path` or no `sha256`");
    return entry->escaped ? unescape_name(r, (char *)entry->path) : 0;
}

/* The list `files`; -1 on an error, else what the last each() said. */
static int files(struct reader *r, int (*each)(const char *, const char *, void *), void *data)
{
    struct entry entry;
    int said;

    if (!next_is(r, '['))
        return fail(r, "`files` is not a list");
    if (next_is(r, ']'))
        return 0;
    do {
        if (!next_is(r, '{'))
            return fail(r, "an entry of `files` is not an object");
        if (file_entry(r, &entry) != 0)
            return -1;
        said = each(entry.path, entry.sha256, data);
        if (said != 0)
            return said;
    } while (next_is(r, ','));
    return next_is(r, ']') ? 0 : fail(r, "`,` or the end of `files` was expected");
}

int embedpack_manifest_files(char *text, size_t size,
                             int (*each)(const char *path, const char *sha256, void *data),
                             void *data, char *error, size_t error_size)
{
    struct reader r = {text, text, text + size, NULL};
    int found = 0, said = 0;

    if (!next_is(&r, '{'))
        fail(&r, "the text is not a JSON object");
    else if (!next_is(&r, '}')) {
        do {
            const char *key = string(&r);

            if (key == NULL || !next_is(&r, ':')) {
                fail(&r, "an object member was expected");
                break;
            }
            if (strcmp(key, "files") == 0 && !found) {
                found = 1;
                said = files(&r, each, data);
            } else {
                said = skip_value(&r, 1);
            }
        } while (said == 0 && next_is(&r, ','));
        if (said == 0 && !next_is(&r, '}'))
            fail(&r, "`,` or the end of the manifest was expected");
    }
    skip_space(&r);
    if (said == 0 && r.at != r.end)
        fail(&r, "more text follows the manifest");
    if (r.problem == NULL && said == 0 && !found)
        fail(&r, "it has no `files`");
    if (r.problem != NULL) {
        snprintf(error, error_size, "%s (at byte %zu)", r.problem, (size_t)(r.at - r.start));
        return -1;
    }
    return said;
}
