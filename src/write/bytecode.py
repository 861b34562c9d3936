"""Compile Python sources into hash-based .pyc files (PEP 552), streamed.

Usage: python -I -B bytecode.py < JSON
JSON: [[SOURCE, MODULE], ...] where MODULE is the source's path inside the
bundle, which each .pyc records as its file name, so no path of the build
machine gets in.  For each pair, in order, writes to stdout an 8-byte
little-endian signed length and that many bytes of .pyc, or the length -1
for a source this interpreter cannot compile (syntax another Python
version accepts).  The bytes are what py_compile writes with
PycInvalidationMode.UNCHECKED_HASH.
"""
import importlib.machinery
import importlib.util
import json
import struct
import sys
from importlib._bootstrap_external import _code_to_hash_pyc


def pyc(source, module):
    loader = importlib.machinery.SourceFileLoader("<embedpack>", source)
    data = loader.get_data(source)
    code = loader.source_to_code(data, module, _optimize=0)
    return _code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False)


def main():
    out = sys.stdout.buffer
    for source, module in json.load(sys.stdin):
        try:
            data = pyc(source, module)
        except Exception:  # as py_compile: any failure to compile
            out.write(struct.pack("<q", -1))
            continue
        out.write(struct.pack("<q", len(data)))
        out.write(data)
    out.flush()


main()
