"""Describe the running interpreter as JSON on stdout.

Run by embedpack as `python -I -B probe.py`; reads nothing but the
interpreter's own configuration.
"""
import json
import os
import site
import sys
import sysconfig


def cffi_version():
    try:
        import cffi
    except ImportError:
        return None
    return cffi.__version__


def main():
    paths = sysconfig.get_paths()
    var = sysconfig.get_config_var
    info = {
        "implementation": sys.implementation.name,
        "version": list(sys.version_info[:3]),
        "hexversion": sys.hexversion,
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
        "site_dirs": [d for d in site.getsitepackages() if os.path.isdir(d)],
        "cffi": cffi_version(),
    }
    json.dump(info, sys.stdout)


main()
