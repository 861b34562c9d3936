"""Run a CFFI build script and capture its embedding FFI instead of compiling.

Usage: python -B -c "$HARNESS" SCRIPT NAME|"" C_OUT|"" ROOT

The script runs as `__main__` from ROOT, its project's folder, as
setuptools runs the scripts `cffi_modules` names, with its own directory
first on `sys.path` and ROOT after it, except that `FFI.compile()`
records its FFI object and returns.  The chosen FFI's C source is written
to C_OUT (unless it is empty: a dry run writes no file) and a description
of it (module name, `set_source` keyword arguments, the C declarations
given to `embedding_api`) as JSON to stdout.  Whatever the script prints,
and the programs it runs, goes to stderr.  Problems the user must fix are
reported on stdout with exit status 3.
"""
import json
import os
import sys
import traceback
import types

import cffi

USER_ERROR = 3
SCRIPT_RAISED = 4
SOURCE_KEYWORDS = (
    "libraries", "library_dirs", "include_dirs", "sources", "define_macros",
    "undef_macros", "extra_compile_args", "extra_link_args",
    "extra_objects", "depends",
)


# The harness's own report goes to the original stdout; the script's
# output, at the file-descriptor level, to stderr.
report = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)


def fail(message):
    report.write(message + "\n")
    report.flush()
    sys.exit(USER_ERROR)


compiled = []
warnings = []
embedding_decls = {}

original_embedding_api = cffi.FFI.embedding_api


def embedding_api(self, csource, *args, **kwargs):
    embedding_decls.setdefault(id(self), []).append(csource)
    return original_embedding_api(self, csource, *args, **kwargs)


def record_compile(self, tmpdir=".", verbose=0, target=None, debug=None):
    if target is not None:
        warnings.append("`compile(target=%r)` is ignored: the bundle names "
                        "the library `lib<module>.so`" % (target,))
    compiled.append(self)
    return target or ""


def is_embedding(ffi):
    return isinstance(ffi, cffi.FFI) and ffi._embedding is not None


def choose(namespace, name, script):
    if name:
        if name not in namespace:
            fail("`%s` defines no `%s`" % (script, name))
        ffi = namespace[name]
        if not isinstance(ffi, cffi.FFI):
            fail("`%s:%s` is a %s, not a cffi.FFI" % (script, name, type(ffi).__name__))
        if not is_embedding(ffi):
            fail("`%s:%s` has no `embedding_api()`: it is not an embedding "
                 "library" % (script, name))
        return ffi
    candidates = []
    for ffi in compiled:
        if is_embedding(ffi) and ffi not in candidates:
            candidates.append(ffi)
    if not candidates:
        for value in namespace.values():
            if is_embedding(value) and value not in candidates:
                candidates.append(value)
    if len(candidates) == 1:
        return candidates[0]
    found = sorted(k for k, v in namespace.items() if isinstance(v, cffi.FFI))
    if not candidates:
        what = ", ".join("`%s`" % k for k in found) or "no cffi.FFI object"
        fail("`%s` defines no FFI object with an `embedding_api()` (found: %s)"
             % (script, what))
    names = [k for k, v in namespace.items() if v in candidates]
    fail("`%s` defines several embedding FFI objects: %s; name one as "
         "`%s:NAME`" % (script, ", ".join("`%s`" % n for n in sorted(names)), script))


def describe(ffi):
    if not hasattr(ffi, "_assigned_source"):
        fail("the FFI object has no `set_source()`: nothing to compile")
    module_name, source, extension, kwds = ffi._assigned_source
    if source is None:
        fail("`set_source(%r, None)` makes an ABI-mode module; embedding "
             "needs C source" % module_name)
    unknown = sorted(set(kwds) - set(SOURCE_KEYWORDS) - {"py_limited_api"})
    for key in unknown:
        warnings.append("`set_source(%s=...)` is not supported and ignored" % key)
    keywords = {}
    for key in SOURCE_KEYWORDS:
        value = kwds.get(key) or []
        keywords[key] = [list(v) if isinstance(v, tuple) else v for v in value]
    return {
        "module_name": module_name,
        "source_extension": extension,
        "keywords": keywords,
        "embedding_api": embedding_decls.get(id(ffi), []),
        "cffi_version": cffi.__version__,
        "warnings": warnings,
    }


def run_script(script):
    """Run `script` as `__main__` and return its globals, even after `sys.exit(0)`."""
    module = types.ModuleType("__main__")
    module.__file__ = script
    sys.modules["__main__"] = module
    try:
        with open(script, "rb") as f:
            code = compile(f.read(), script, "exec")
        exec(code, module.__dict__)
    except SystemExit as e:
        if e.code not in (None, 0):
            sys.stderr.write("the script called sys.exit(%r)\n" % (e.code,))
            sys.exit(SCRIPT_RAISED)
    except BaseException as e:
        # Show the traceback from the script's own frames on; a script
        # that does not compile has none, and its error shows the line.
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != script:
            tb = tb.tb_next
        if isinstance(e, (cffi.CDefError, cffi.FFIError)):
            print_script_frames(e, tb, script)
        else:
            traceback.print_exception(type(e), e, tb)
        sys.exit(SCRIPT_RAISED)
    return module.__dict__


def print_script_frames(e, tb, script):
    """Print the traceback of an error CFFI raised about what the script
    gave it (a declaration that does not parse) up to the script's last
    frame: CFFI's and its parser's own frames tell nothing more."""
    frames = traceback.extract_tb(tb)
    mine = [i for i, frame in enumerate(frames) if frame.filename == script]
    if mine:
        frames = frames[:mine[-1] + 1]
    sys.stderr.write("Traceback (most recent call last):\n")
    sys.stderr.write("".join(traceback.format_list(frames)))
    sys.stderr.write("".join(traceback.format_exception_only(type(e), e)))


def main():
    script, name, c_out, root = sys.argv[1:5]
    c_out = c_out and os.path.abspath(c_out)
    script, root = os.path.abspath(script), os.path.abspath(root)
    directory = os.path.dirname(script)
    cffi.FFI.embedding_api = embedding_api
    cffi.FFI.compile = record_compile
    os.chdir(root)
    sys.path[0:0] = [directory] + ([root] if root != directory else [])
    sys.argv = [script]
    namespace = run_script(script)
    ffi = choose(namespace, name, os.path.basename(script))
    description = describe(ffi)
    if c_out:
        ffi.emit_c_code(c_out)
    json.dump(description, report)
    report.flush()


main()
