"""Make a bundle's modules importable in PyPy, before its init code runs.

Run first by the init code PyPy runs for the plugin (stubs/pypy/start.c
puts it there), in every bundle of the process, in a namespace of its
own.  `c_argument` is the address of
an array of C strings: the bundle's folder, its site-packages, its app
folder, the user base PyPy was started with, the host's own
PYTHONUSERBASE (or NULL), whether EMBEDPACK_DEBUG is set, the source of
stubs/join.py, and a buffer for the reason of a failure, which the C side
reports.
"""
import _cffi_backend

_ffi = _cffi_backend.FFI()
_arguments = _ffi.cast("char **", c_argument)  # noqa: F821 (set by PyPy)


def argument(index):
    value = _arguments[index]
    if value == _ffi.NULL:
        return None
    return _ffi.string(value).decode("utf-8", "surrogateescape")


def fail(reason):
    data = reason.encode("utf-8", "replace")[:1000] + b"\0"
    _ffi.memmove(_arguments[7], data, len(data))


def restore_user_base(os, ours, theirs):
    """PyPy read PYTHONUSERBASE (the bundle's, so that no user site
    directory got in) into os.environ; child processes get the host's."""
    if os.environ.get("PYTHONUSERBASE") != ours:
        return
    if theirs is None:
        del os.environ["PYTHONUSERBASE"]
    else:
        os.environ["PYTHONUSERBASE"] = theirs


def main():
    import os
    import sys

    bundle, site_dir, app = argument(0), argument(1), argument(2)
    sys.dont_write_bytecode = True
    restore_user_base(os, argument(3), argument(4))
    started_here = os.path.realpath(sys.prefix) == os.path.realpath(bundle)
    if started_here:
        sys.path.insert(0, app)
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
