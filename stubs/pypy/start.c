/* Starting PyPy from the bundle.
 *
 * PyPy has no configuration API for embedding: pypy_carefully_make_gil()
 * starts it once per process, takes its home from libpypy's own file
 * (the bundle's lib/, so the standard library is lib/pypy3.X beside it),
 * sets sys.path to that standard library and imports site.  Neither
 * PYTHONPATH, PYTHONHOME, PYTHONSTARTUP nor the working directory reach
 * that path; the user site directory would, so PYTHONUSERBASE points
 * into the bundle while PyPy starts (and LC_CTYPE to C.UTF-8 when the
 * environment asks for the C locale, as CPython's PEP 538 coercion does).
 * Then start.py, run by PyPy as the start of the plugin's init code,
 * adds the bundle's app folder and site-packages (with site.addsitedir(),
 * so .pth files work), turns bytecode writing off and, when another
 * bundle or the host started PyPy, appends instead and warns about
 * shadowed distributions (join.py).
 *
 * embedpack_initialize() starts PyPy once per bundle, from CFFI's start-up
 * of each of the bundle's calls until it succeeded; any number of threads
 * may call it at once.  embedpack_init_module() takes the place of CFFI's
 * pypy_init_embedded_cffi_module(), which CFFI calls once per plugin.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedpack.h"
#include "bootstrap.h"
#include "pypy.h"
#include "join_py.h"       /* EMBEDPACK_JOIN_PY: stubs/join.py */
#include "pypy_start_py.h" /* EMBEDPACK_PYPY_START_PY: stubs/pypy/start.py */

/* A user base folder that does not exist, below the bundle. */
#define NO_USER_BASE ".no-user-base"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int start_result = -1;

/* cpyext extension modules do not link libpypy, so under a host that
 * loaded us with RTLD_LOCAL they could not resolve its symbols.  Re-open
 * the libpypy this plugin is bound to into the global scope. */
static int promote_libpypy(void)
{
    Dl_info info;

    if (!dladdr((void *)&pypy_carefully_make_gil, &info) || info.dli_fname == NULL)
        return embedpack_fail("cannot tell which libpypy the plugin is bound to");
    if (dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL) == NULL)
        return embedpack_fail("cannot make %s global: %s", info.dli_fname, dlerror());
    return 0;
}

/* An environment variable set while PyPy starts, then put back. */
struct override {
    const char *name;
    char *saved; /* the host's value, or NULL when it had none */
};

static void set_for_start(struct override *o, const char *name, const char *value)
{
    const char *saved = getenv(name);

    o->name = name;
    o->saved = saved != NULL ? strdup(saved) : NULL;
    setenv(name, value, 1);
}

static void put_back(struct override *o)
{
    if (o->name == NULL)
        return;
    if (o->saved != NULL)
        setenv(o->name, o->saved, 1);
    else
        unsetenv(o->name);
    free(o->saved);
}

/* Whether the locale the environment asks for is C or POSIX, in which
 * PyPy encodes file names as ASCII.  As CPython does (PEP 538), LC_ALL
 * is obeyed as it is. */
static int asks_for_c_locale(void)
{
    const char *names[] = {"LC_CTYPE", "LANG"};
    size_t i;

    if (getenv("LC_ALL") != NULL && getenv("LC_ALL")[0] != '\0')
        return 0;
    for (i = 0; i < 2; i++) {
        const char *value = getenv(names[i]);
        if (value != NULL && value[0] != '\0')
            return strcmp(value, "C") == 0 || strcmp(value, "POSIX") == 0;
    }
    return 1;
}

/* Starts PyPy, if nobody has: with no user site directory, and with a
 * UTF-8 locale where the environment asks for the C locale (PyPy sets
 * the process's LC_CTYPE from the environment as it starts). */
static int start_pypy(void)
{
    char no_user_base[PATH_MAX];
    struct override user_base = {0}, locale = {0};
    int result;

    if (embedpack_bundle_path(no_user_base, sizeof no_user_base, NO_USER_BASE) != 0)
        return embedpack_fail("the bundle's path is too long");
    set_for_start(&user_base, "PYTHONUSERBASE", no_user_base);
    if (asks_for_c_locale())
        set_for_start(&locale, "LC_CTYPE", "C.UTF-8");
    result = pypy_carefully_make_gil("embedpack");
    put_back(&locale);
    put_back(&user_base);
    if (result != 0)
        return embedpack_fail("PyPy could not start (it found no standard library "
                              "beside its shared library in %s/lib)",
                              embedpack_bundle_dir());
    return 0;
}

static void start(void)
{
    if (embedpack_check_bundle() != 0 || promote_libpypy() != 0 || start_pypy() != 0)
        return;
    start_result = 0;
}

int embedpack_initialize(void)
{
    pthread_once(&once, start);
    return start_result;
}

/* Before CFFI's start-up, in any number of threads at once.  A process
 * that runs CPython (the host, or a CPython bundle) cannot run PyPy's
 * embedding beside it: say so instead; CFFI's functions then return 0. */
int embedpack_check_python(void)
{
    int (*is_initialized)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "Py_IsInitialized");
    const char *(*get_version)(void) =
        (const char *(*)(void))dlsym(RTLD_DEFAULT, "Py_GetVersion");
    char running[32] = "CPython";

    if (is_initialized == NULL || !is_initialized())
        return 0;
    if (get_version != NULL)
        snprintf(running, sizeof running, "CPython %.*s", (int)strcspn(get_version(), " "),
                 get_version());
    return embedpack_fail("it was built for PyPy, but this process already runs %s; "
                          "load it into a process without CPython, or rebuild it from "
                          "a CPython venv",
                          running);
}

/* The init code PyPy runs in place of the plugin's: start.py, in a
 * namespace of its own, then the plugin's init code under the name CFFI
 * gives it, so that its tracebacks keep their line numbers.  Both texts
 * are written in hexadecimal, so that none needs quoting and reading them
 * asks nothing of CFFI's type parser: two bundles' init code may run at
 * once in two threads, and PyPy's parser once answered one of them with
 * the wrong type. */
static const char WRAPPER[] =
    "exec(compile(bytes.fromhex('%s').decode('utf-8'), 'embedpack/start.py', 'exec'), "
    "{'__builtins__': __builtins__, 'c_argument': %lu})\n"
    "exec(compile(bytes.fromhex('%s').decode('utf-8'), \"<init code for '%s'>\", 'exec'))\n";

/* `text` in hexadecimal, in memory from malloc(); NULL when there is none. */
static char *hex_of(const char *text)
{
    static const char digits[] = "0123456789abcdef";
    size_t length = strlen(text), i;
    char *hex = malloc(2 * length + 1);

    if (hex == NULL)
        return NULL;
    for (i = 0; i < length; i++) {
        hex[2 * i] = digits[(unsigned char)text[i] >> 4];
        hex[2 * i + 1] = digits[(unsigned char)text[i] & 15];
    }
    hex[2 * length] = '\0';
    return hex;
}

/* PyPy runs the init code on whichever thread makes the first call,
 * entering it into PyPy first; start.py runs there too, before the
 * plugin's own code, and reports a failure in `error`. */
int embedpack_init_module(int version, void *init_struct)
{
    struct embedpack_cffi_init *init = init_struct;
    const char *own_code = init->code;
    char site[PATH_MAX], app[PATH_MAX], no_user_base[PATH_MAX];
    char error[1024] = "";
    static const char start_py[] = EMBEDPACK_PYPY_START_PY;
    /* start.py reads these through CFFI, by index (see its `argument`). */
    const char *arguments[] = {
        embedpack_bundle_dir(), site, app, no_user_base, getenv("PYTHONUSERBASE"),
        embedpack_debug() ? "1" : "", EMBEDPACK_JOIN_PY, error,
        (const char *)(uintptr_t)&atexit,
    };
    char *code, *start_hex, *own_hex;
    size_t size;
    int result;

    if (embedpack_bundle_path(site, sizeof site, EMBEDPACK_SITE) != 0
        || embedpack_bundle_path(app, sizeof app, EMBEDPACK_APP) != 0
        || embedpack_bundle_path(no_user_base, sizeof no_user_base, NO_USER_BASE) != 0)
        return embedpack_fail("the bundle's path is too long");
    start_hex = hex_of(start_py);
    own_hex = hex_of(own_code);
    size = sizeof WRAPPER + (start_hex ? strlen(start_hex) : 0) + (own_hex ? strlen(own_hex) : 0)
           + 24 + strlen(init->name);
    code = start_hex && own_hex ? malloc(size) : NULL;
    if (code == NULL) {
        free(start_hex);
        free(own_hex);
        return embedpack_fail("out of memory");
    }
    snprintf(code, size, WRAPPER, start_hex, (unsigned long)arguments, own_hex, init->name);
    free(start_hex);
    free(own_hex);
    init->code = code;
    result = pypy_init_embedded_cffi_module(version, init);
    init->code = own_code;
    free(code);
    if (error[0] != '\0')
        return embedpack_fail("%s", error);
    return result;
}
