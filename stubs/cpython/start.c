/* Starting CPython from the bundle.
 *
 * embedpack_initialize() replaces CFFI's Py_InitializeEx(0): an isolated
 * configuration whose home and module search path lie in the bundle, so
 * that neither PYTHON* variables, the user's site directory, the working
 * directory nor the host executable's location can change what is
 * imported.  embedpack_attach() then adds the bundle's site-packages (as
 * site.addsitedir() does, so .pth files work) and, when someone else
 * started Python, the app folder too.
 */
#define _GNU_SOURCE
#include <Python.h>
#include <dlfcn.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedpack.h"
#include "bootstrap.h"
#include "join_py.h" /* EMBEDPACK_JOIN_PY: stubs/join.py, made at build time */

#if PY_VERSION_HEX < 0x03080000
#error "embedpack needs CPython 3.8 or newer (PyConfig)"
#endif

static int started_here;

/* Extension modules do not link libpython (since 3.8), so under a host
 * that loaded us with RTLD_LOCAL they could not resolve its symbols.
 * Re-open the libpython this plugin is bound to, never a guessed name,
 * into the global scope. */
static int promote_libpython(void)
{
    Dl_info info;

    if (!dladdr((void *)&Py_IsInitialized, &info) || info.dli_fname == NULL)
        return embedpack_fail("cannot tell which libpython the plugin is bound to");
    if (dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL) == NULL)
        return embedpack_fail("cannot make %s global: %s", info.dli_fname, dlerror());
    return 0;
}

static int set_path(PyConfig *config, wchar_t **field, const char *relative)
{
    char path[PATH_MAX];
    PyStatus status;

    if (embedpack_bundle_path(path, sizeof path, relative) != 0)
        return embedpack_fail("the bundle's path is too long");
    status = PyConfig_SetBytesString(config, field, path);
    if (PyStatus_Exception(status))
        return embedpack_fail("cannot set the path %s: %s", path, status.err_msg);
    return 0;
}

static int append_path(PyConfig *config, const char *relative)
{
    char path[PATH_MAX];
    wchar_t *wide;
    PyStatus status;

    if (embedpack_bundle_path(path, sizeof path, relative) != 0)
        return embedpack_fail("the bundle's path is too long");
    wide = Py_DecodeLocale(path, NULL);
    if (wide == NULL)
        return embedpack_fail("cannot decode the path %s", path);
    config->module_search_paths_set = 1;
    status = PyWideStringList_Append(&config->module_search_paths, wide);
    PyMem_RawFree(wide);
    if (PyStatus_Exception(status))
        return embedpack_fail("cannot add %s to sys.path: %s", path, status.err_msg);
    return 0;
}

static int configure(PyConfig *config)
{
    config->write_bytecode = 0;          /* the bundle must not change */
    config->install_signal_handlers = 0; /* as Py_InitializeEx(0) */
    config->pathconfig_warnings = 0;
    config->parse_argv = 0;
    config->site_import = 1;
    if (set_path(config, &config->home, EMBEDPACK_HOME) != 0
        || set_path(config, &config->program_name, EMBEDPACK_HOME "/bin/python3") != 0
        || set_path(config, &config->executable, EMBEDPACK_HOME "/bin/python3") != 0)
        return -1;
    if (append_path(config, EMBEDPACK_APP) != 0
#ifdef EMBEDPACK_STDLIB_ZIP
        || append_path(config, EMBEDPACK_STDLIB_ZIP) != 0
#endif
        || append_path(config, EMBEDPACK_STDLIB) != 0
        || append_path(config, EMBEDPACK_EXTENSIONS) != 0)
        return -1;
    return 0;
}

static void flush_std_streams(void)
{
    static const char *names[] = {"stdout", "stderr"};
    size_t i;

    for (i = 0; i < 2; i++) {
        PyObject *stream = PySys_GetObject(names[i]);
        PyObject *result;
        if (stream == NULL || stream == Py_None)
            continue;
        result = PyObject_CallMethod(stream, "flush", NULL);
        if (result == NULL)
            PyErr_Clear();
        Py_XDECREF(result);
    }
}

/* Nobody finalizes the interpreter of a plugin, so at the host's exit
 * this does what Python's own exit does for a program: the functions
 * registered with `atexit` run (a failing one is reported as Python
 * reports it), and buffered print() output to a pipe or file is flushed,
 * before and after them.  Registered only by the bundle that started
 * Python: a Python host finalizes its own interpreter. */
static void finish_at_exit(void)
{
    PyGILState_STATE state;
    PyObject *atexit_module, *result = NULL;

    if (!Py_IsInitialized())
        return;
    state = PyGILState_Ensure();
    flush_std_streams();
    atexit_module = PyImport_ImportModule("atexit");
    if (atexit_module != NULL)
        result = PyObject_CallMethod(atexit_module, "_run_exitfuncs", NULL);
    if (result == NULL)
        PyErr_Clear();
    Py_XDECREF(result);
    Py_XDECREF(atexit_module);
    flush_std_streams();
    PyGILState_Release(state);
}

/* CPython 3.11 and newer take sys.executable from PYTHONEXECUTABLE even
 * in an isolated configuration (getpath reads it whatever use_environment
 * says), and a pyvenv.cfg beside or above that file makes its folder
 * sys.prefix, whose site-packages site.py then adds, .pth files and all.
 * So Python starts with the variable hidden; then the host's value is put
 * back, in the C environment and in os.environ, for child processes. */
static char *hide_executable_variable(void)
{
    const char *value = getenv("PYTHONEXECUTABLE");
    char *saved = value != NULL ? strdup(value) : NULL;

    if (value != NULL)
        unsetenv("PYTHONEXECUTABLE");
    return saved;
}

static void put_back_executable_variable(char *saved)
{
    PyObject *os, *environ, *key, *value;

    if (saved == NULL)
        return;
    setenv("PYTHONEXECUTABLE", saved, 1);
    if (Py_IsInitialized()) {
        os = PyImport_ImportModule("os");
        environ = os != NULL ? PyObject_GetAttrString(os, "environ") : NULL;
        key = PyUnicode_FromString("PYTHONEXECUTABLE");
        value = PyUnicode_DecodeFSDefault(saved);
        if (environ == NULL || key == NULL || value == NULL
            || PyObject_SetItem(environ, key, value) != 0)
            PyErr_Clear();
        Py_XDECREF(value);
        Py_XDECREF(key);
        Py_XDECREF(environ);
        Py_XDECREF(os);
    }
    free(saved);
}

int embedpack_initialize(void)
{
    static int failed;
    PyPreConfig preconfig;
    PyConfig config;
    PyStatus status;
    char *executable_variable;

    if (failed)
        return -1;
    failed = 1;
    if (embedpack_check_bundle() != 0 || promote_libpython() != 0)
        return -1;

    PyPreConfig_InitIsolatedConfig(&preconfig);
    preconfig.utf8_mode = 1; /* an isolated config would otherwise use ASCII */
    status = Py_PreInitialize(&preconfig);
    if (PyStatus_Exception(status))
        return embedpack_fail("Python's pre-initialization failed: %s", status.err_msg);

    PyConfig_InitIsolatedConfig(&config);
    if (configure(&config) != 0) {
        PyConfig_Clear(&config);
        return -1;
    }
    executable_variable = hide_executable_variable();
    status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    put_back_executable_variable(executable_variable);
    if (PyStatus_Exception(status) || !Py_IsInitialized())
        return embedpack_fail("Python's initialization failed: %s",
                              status.err_msg ? status.err_msg : "unknown error");
    started_here = 1;
    failed = 0;
    atexit(finish_at_exit);
    return 0;
}

void embedpack_wait_turn(void)
{
    sched_yield();
}

static int add_site_dir(const char *relative)
{
    char path[PATH_MAX];
    PyObject *site, *result;

    if (embedpack_bundle_path(path, sizeof path, relative) != 0) {
        PyErr_SetString(PyExc_OSError, "embedpack: the bundle's path is too long");
        return -1;
    }
    site = PyImport_ImportModule("site");
    if (site == NULL)
        return -1;
    result = PyObject_CallMethod(site, "addsitedir", "(N)", PyUnicode_DecodeFSDefault(path));
    Py_DECREF(site);
    Py_XDECREF(result);
    return result == NULL ? -1 : 0;
}

static int append_to_sys_path(const char *relative)
{
    char path[PATH_MAX];
    PyObject *sys_path = PySys_GetObject("path");
    PyObject *entry;
    int present;

    if (sys_path == NULL || embedpack_bundle_path(path, sizeof path, relative) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "embedpack: cannot extend sys.path");
        return -1;
    }
    entry = PyUnicode_DecodeFSDefault(path);
    if (entry == NULL)
        return -1;
    present = PySequence_Contains(sys_path, entry);
    if (present == 0)
        present = PyList_Append(sys_path, entry);
    Py_DECREF(entry);
    return present < 0 ? -1 : 0;
}

static void print_sys(const char *name)
{
    PyObject *value = PySys_GetObject(name);
    PyObject *text = value ? PyObject_Str(value) : NULL;
    const char *utf8 = text ? PyUnicode_AsUTF8(text) : NULL;

    fprintf(stderr, "embedpack: sys.%s %s\n", name, utf8 ? utf8 : "?");
    Py_XDECREF(text);
    PyErr_Clear();
}

static void print_debug(void)
{
    fprintf(stderr, "embedpack: bundle %s (%s)\n", embedpack_bundle_dir(),
            started_here ? "started Python" : "joined a running Python");
    print_sys("prefix");
    print_sys("path");
}

/* Whether `running`, a Py_GetVersion(), is the Python this plugin was
 * compiled for. */
static int is_own_python(const char *running)
{
    char expected[32];

    snprintf(expected, sizeof expected, "%d.%d.", PY_MAJOR_VERSION, PY_MINOR_VERSION);
    return strncmp(running, expected, strlen(expected)) == 0 && strstr(running, "PyPy") == NULL;
}

/* Whether the library holding `symbol` is a libpythonX.Y of our version,
 * whichever bundle's file it is (the loader shares one per SONAME). */
static int in_own_libpython(void *symbol)
{
    Dl_info info;
    const char *name;
    char prefix[32];

    if (symbol == NULL || !dladdr(symbol, &info) || info.dli_fname == NULL)
        return 0;
    name = strrchr(info.dli_fname, '/');
    name = name != NULL ? name + 1 : info.dli_fname;
    snprintf(prefix, sizeof prefix, "libpython%d.%d.", PY_MAJOR_VERSION, PY_MINOR_VERSION);
    return strncmp(name, prefix, strlen(prefix)) == 0;
}

/* Before CFFI's start-up lock (cffi_embedding.patch), in any number of
 * threads at once.  When the process holds another Python version already
 * (the host's, or another bundle's), either our calls reach it, and CFFI's
 * lock, a field of PyCapsule_Type that each version uses its own way, would
 * abort or hang the host; or we were bound to our own libpython before the
 * other one went global, and our extension modules would reach the other
 * one.  Say so instead; CFFI's functions then return 0. */
int embedpack_check_python(void)
{
    void *bound = (void *)&Py_GetVersion;
    void *global = dlsym(RTLD_DEFAULT, "Py_GetVersion");
    const unsigned long *hex;
    char running[64];

    /* PyPy's runtime, once global, defines some of CPython's own names
     * (PyType_GetFlags, PyThread_tss_*): our extension modules would
     * reach those. */
    if (dlsym(RTLD_DEFAULT, "pypy_init_embedded_cffi_module") != NULL)
        return embedpack_fail("it was built for CPython %d.%d, but this process already runs "
                              "PyPy; load it into a process without PyPy, or rebuild it from "
                              "a PyPy venv",
                              PY_MAJOR_VERSION, PY_MINOR_VERSION);
    if (in_own_libpython(bound) && (global == NULL || in_own_libpython(global)))
        return 0;
    /* Another program or library provides Python here: ask its version.
     * Py_Version (3.11+) is a constant; Py_GetVersion() rewrites a static
     * buffer that other threads may be reading, so it comes second. */
    hex = (const unsigned long *)dlsym(RTLD_DEFAULT, "Py_Version");
    if (hex != NULL) {
        if (*hex >> 16 == (unsigned long)PY_VERSION_HEX >> 16)
            return 0;
        snprintf(running, sizeof running, "%lu.%lu.%lu", *hex >> 24, (*hex >> 16) & 0xff,
                 (*hex >> 8) & 0xff);
    } else {
        const char *(*get_version)(void) =
            (const char *(*)(void))(global != NULL ? global : bound);
        const char *version = get_version();

        if (is_own_python(version))
            return 0;
        snprintf(running, sizeof running, "%.*s", (int)strcspn(version, " "), version);
    }
    return embedpack_fail("it was built for CPython %d.%d, but this process already runs "
                          "Python %s; load it into a CPython %d.%d process, or rebuild it "
                          "for that Python",
                          PY_MAJOR_VERSION, PY_MINOR_VERSION, running, PY_MAJOR_VERSION,
                          PY_MINOR_VERSION);
}

static int set_path_item(PyObject *dict, const char *key, const char *path)
{
    PyObject *value = PyUnicode_DecodeFSDefault(path);
    int result = value != NULL ? PyDict_SetItemString(dict, key, value) : -1;

    Py_XDECREF(value);
    return result;
}

/* Joining a running Python: warn on stderr about distributions of this
 * bundle that sys.path already holds at other versions (stubs/join.py).
 * Only a warning: whatever goes wrong here is cleared. */
static void warn_shadowed(void)
{
    char site[PATH_MAX];
    PyObject *code, *globals, *result = NULL;

    if (embedpack_bundle_path(site, sizeof site, EMBEDPACK_SITE) != 0)
        return;
    code = Py_CompileString(EMBEDPACK_JOIN_PY, "embedpack/join.py", Py_file_input);
    globals = code != NULL ? PyDict_New() : NULL;
    if (globals != NULL
        && set_path_item(globals, "bundle", embedpack_bundle_dir()) == 0
        && set_path_item(globals, "site", site) == 0
        && PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) == 0)
        result = PyEval_EvalCode(code, globals, globals);
    if (result == NULL) {
        if (embedpack_debug())
            PyErr_Print();
        PyErr_Clear();
    }
    Py_XDECREF(result);
    Py_XDECREF(globals);
    Py_XDECREF(code);
}

int embedpack_attach(void)
{
    if (!started_here)
        warn_shadowed();
    if (append_to_sys_path(EMBEDPACK_APP) != 0 || add_site_dir(EMBEDPACK_SITE) != 0)
        return -1;
    if (embedpack_debug())
        print_debug();
    return 0;
}
