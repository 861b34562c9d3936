"""Describe the running interpreter as JSON on stdout.

Run by embedpack as `python -I -B probe.py`; reads nothing but the
interpreter's own configuration and the editable finders setuptools left
in its site directories.
"""
import sys

# Before this probe imports anything of its own.
STARTUP_MODULES = sorted({name.partition(".")[0] for name in sys.modules})

import ast
import json
import os
import site
import sysconfig


def cffi_version():
    try:
        import cffi
    except ImportError:
        return None
    return cffi.__version__


def assigned_literal(path, name):
    """The literal assigned to `name` at the top level of the module at
    `path`, or None."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    for node in tree.body:
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        elif isinstance(node, ast.Assign):
            targets = node.targets
        else:
            continue
        if node.value is not None and any(
            isinstance(t, ast.Name) and t.id == name for t in targets
        ):
            return ast.literal_eval(node.value)
    return None


def editable_finders(site_dirs):
    """setuptools' editable finders (`__editable___<dist>_<ver>_finder.py`)
    in the site dirs, each with its MAPPING: top-level name -> source path.
    A finder whose MAPPING cannot be read maps to None."""
    finders = {}
    for site_dir in site_dirs:
        for name in sorted(os.listdir(site_dir)):
            if not (name.startswith("__editable__") and name.endswith("_finder.py")):
                continue
            path = os.path.join(site_dir, name)
            try:
                mapping = assigned_literal(path, "MAPPING")
            except (OSError, SyntaxError, ValueError):
                mapping = None
            if not isinstance(mapping, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
            ):
                mapping = None
            finders[path] = mapping
    return finders


def main():
    paths = sysconfig.get_paths()
    var = sysconfig.get_config_var
    site_dirs = [d for d in site.getsitepackages() if os.path.isdir(d)]
    info = {
        "implementation": sys.implementation.name,
        "version": list(sys.version_info[:3]),
        "hexversion": sys.hexversion,
        "cache_tag": sys.implementation.cache_tag,
        "abiflags": getattr(sys, "abiflags", ""),
        "soabi": var("SOABI"),
        "ext_suffix": var("EXT_SUFFIX"),
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "stdlib": paths["stdlib"],
        "platstdlib": sysconfig.get_path("platstdlib", vars={"platbase": sys.base_prefix}),
        "purelib": paths["purelib"],
        "platlib": paths["platlib"],
        "include": paths["include"],
        "libdir": var("LIBDIR"),
        "multiarch": var("MULTIARCH"),
        "instsoname": var("INSTSONAME"),
        "ldlibrary": var("LDLIBRARY"),
        "enable_shared": bool(var("Py_ENABLE_SHARED")),
        "dynload": var("DESTSHARED"),
        "site_dirs": site_dirs,
        "editable_finders": editable_finders(site_dirs),
        "cffi": cffi_version(),
        "startup_modules": STARTUP_MODULES,
    }
    json.dump(info, sys.stdout)


main()
