"""The CFFI build script of the `pyudf` example: an SQLite extension whose
SQL functions are written in Python.

The sqlite3 shell loads `libpyudf.so` with `.load` and calls its entry
point `sqlite3_pyudf_init()`, which registers the SQL functions
`html_escape(text)` (markupsafe) and `unicode_name(text)` (the standard
library's unicodedata).  Each calls into Python through a function of the
embedding API.  The extension reaches SQLite only through the
`sqlite3_api` table the host hands over (SQLITE_EXTENSION_INIT2): it uses
the host's SQLite and never links libsqlite3.
"""
import cffi

ffibuilder = cffi.FFI()

ffibuilder.embedding_api("""
    /* Receives the result of a call: text, or an error message. */
    typedef void (*pyudf_result)(void *context, const char *text, int is_error);

    /* `text` escaped for HTML, by markupsafe. */
    void pyudf_html_escape(const char *text, pyudf_result result, void *context);

    /* The Unicode names of the characters of `text`, comma-separated. */
    void pyudf_unicode_name(const char *text, pyudf_result result, void *context);
""")

ffibuilder.set_source("pyudf", r"""
#include <sqlite3ext.h>
/* The host's API table, private to this library: hosts load extensions
 * into the global scope, where another extension has its own. */
__attribute__((visibility("hidden"))) SQLITE_EXTENSION_INIT1

/* The embedding API above, defined by CFFI further down. */
typedef void (*pyudf_result)(void *context, const char *text, int is_error);
CFFI_DLLEXPORT void pyudf_html_escape(const char *, pyudf_result, void *);
CFFI_DLLEXPORT void pyudf_unicode_name(const char *, pyudf_result, void *);

struct sql_function {
    const char *name;
    void (*python)(const char *, pyudf_result, void *);
};

static struct sql_function sql_functions[] = {
    {"html_escape", pyudf_html_escape},
    {"unicode_name", pyudf_unicode_name},
};

/* One call of an SQL function, as Python's result callback sees it. */
struct call {
    sqlite3_context *context;
    int answered;
};

static void set_result(void *opaque, const char *text, int is_error)
{
    struct call *call = opaque;

    call->answered = 1;
    if (is_error)
        sqlite3_result_error(call->context, text, -1);
    else
        sqlite3_result_text(call->context, text, -1, SQLITE_TRANSIENT);
}

/* An SQL function of one text argument, computed in Python.  NULL gives
 * NULL, as with SQLite's own functions. */
static void call_python(sqlite3_context *context, int argc, sqlite3_value **argv)
{
    struct sql_function *function = sqlite3_user_data(context);
    const unsigned char *text = sqlite3_value_text(argv[0]);
    struct call call = {context, 0};

    (void)argc;
    if (text == NULL) {
        sqlite3_result_null(context);
        return;
    }
    function->python((const char *)text, set_result, &call);
    if (!call.answered)
        sqlite3_result_error(context, "pyudf: Python gave no result (see stderr)", -1);
}

/* The entry point that `.load libpyudf` looks for.  It starts Python now,
 * so that a bundle that cannot start fails the .load with a message. */
CFFI_DLLEXPORT int sqlite3_pyudf_init(sqlite3 *db, char **error,
                                      const sqlite3_api_routines *api)
{
    size_t i;
    int rc = SQLITE_OK;

    SQLITE_EXTENSION_INIT2(api);
    if (cffi_start_python() != 0) {
        *error = sqlite3_mprintf("pyudf: Python could not start (see stderr)");
        return SQLITE_ERROR;
    }
    for (i = 0; i < sizeof sql_functions / sizeof sql_functions[0] && rc == SQLITE_OK; i++)
        rc = sqlite3_create_function_v2(db, sql_functions[i].name, 1,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                        &sql_functions[i], call_python, NULL, NULL, NULL);
    return rc;
}
""")

ffibuilder.embedding_init_code("""
    from pyudf import ffi
    import sqlfuncs

    @ffi.def_extern()
    def pyudf_html_escape(text, result, context):
        sqlfuncs.answer(sqlfuncs.html_escape, text, result, context)

    @ffi.def_extern()
    def pyudf_unicode_name(text, result, context):
        sqlfuncs.answer(sqlfuncs.unicode_name, text, result, context)
""")

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
