"""Compile Python sources into hash-based .pyc files (PEP 552).

Usage: python -I -B bytecode.py < JSON
JSON: {"out": DIR, "files": [[SOURCE, DEST], ...]} where DEST is the
source's path inside the bundle.  Each .pyc is written to
DIR/<its path inside the bundle> and records DEST as its file name, so no
path of the build machine gets in.  Prints the DESTs that could not be
compiled (syntax another Python version accepts), one per line.
"""
import importlib.util
import json
import os
import py_compile
import sys


def main():
    request = json.load(sys.stdin)
    out = request["out"]
    for source, dest in request["files"]:
        pyc = importlib.util.cache_from_source(dest)
        target = os.path.join(out, pyc)
        try:
            py_compile.compile(
                source,
                cfile=target,
                dfile=dest,
                doraise=True,
                optimize=0,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
        except py_compile.PyCompileError:
            print(dest)


main()
