"""Make a bundle's modules importable in PyPy, before its init code runs.

Run first by the init code PyPy runs for the plugin (stubs/pypy/start.c
puts it there), in every bundle of the process, in a namespace of its
own.  `c_argument` is the address of
an array of C strings: the bundle's folder, its site-packages, its app
folder, the user base PyPy was started with, the host's own
PYTHONUSERBASE (or NULL), whether EMBEDPACK_DEBUG is set, the source of
stubs/join.py, a buffer for the reason of a failure, which the C side
reports, and the address of C's `atexit()`.

Every C type here is built by the backend's constructors, never parsed
from text: PyPy's type parser writes into one buffer that every FFI of
the process shares, with the GIL released, so two bundles starting at
once in two threads could be handed each other's types.
"""
import _cffi_backend as _backend

_char_p = _backend.new_pointer_type(_backend.new_primitive_type("char"))
_arguments = _backend.cast(_backend.new_pointer_type(_char_p), c_argument)  # noqa: F821 (set by PyPy)


def argument(index):
    value = _arguments[index]
    if not value:
        return None
    return _backend.string(value).decode("utf-8", "surrogateescape")


def fail(reason):
    data = reason.encode("utf-8", "replace")[:1000] + b"\0"
    _backend.memmove(_arguments[7], data, len(data))


def restore_user_base(os, ours, theirs):
    """PyPy read PYTHONUSERBASE (the bundle's, so that no user site
    directory got in) into os.environ; child processes get the host's."""
    if os.environ.get("PYTHONUSERBASE") != ours:
        return
    if theirs is None:
        del os.environ["PYTHONUSERBASE"]
    else:
        os.environ["PYTHONUSERBASE"] = theirs


def finish_at_host_exit(sys):
    """Nobody finalizes the PyPy of a plugin: at the host's exit, do what
    a Python program's exit does — run the functions registered with
    `atexit`, and flush what was printed, before and after them."""
    import atexit

    def finish():
        for flush_all in (True, False):
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:
                    pass
            if flush_all:
                try:
                    atexit._run_exitfuncs()
                except Exception:
                    pass  # reported already; PyPy raises the last one again

    function = _backend.new_function_type((), _backend.new_void_type())
    int_type = _backend.new_primitive_type("int")
    c_atexit = _backend.cast(_backend.new_function_type((function,), int_type), _arguments[8])
    callback = _backend.callback(function, finish)
    # The C function lives as long as its callback object does.
    sys._embedpack_at_exit = callback
    c_atexit(callback)


def main():
    import os
    import sys

    bundle, site_dir, app = argument(0), argument(1), argument(2)
    sys.dont_write_bytecode = True
    restore_user_base(os, argument(3), argument(4))
    started_here = os.path.realpath(sys.prefix) == os.path.realpath(bundle)
    if started_here:
        sys.path.insert(0, app)
        finish_at_host_exit(sys)
    else:
        join = compile(argument(6), "embedpack/join.py", "exec")
        try:
            exec(join, {"__builtins__": __builtins__, "bundle": bundle, "site": site_dir})
        except Exception:
            pass
        if app not in sys.path:
            sys.path.append(app)
    import site

    site.addsitedir(site_dir)
    if argument(5):
        how = "started PyPy" if started_here else "joined a running PyPy"
        sys.stderr.write("embedpack: bundle %s (%s)\n" % (bundle, how))
        sys.stderr.write("embedpack: sys.prefix %s\n" % sys.prefix)
        sys.stderr.write("embedpack: sys.path %s\n" % sys.path)


try:
    main()
except BaseException as e:
    reason = "adding its paths failed: %s: %s" % (type(e).__name__, e)
    fail(reason)
    raise ImportError("embedpack: " + reason)
