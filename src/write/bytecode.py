"""Compile Python sources into hash-based .pyc files (PEP 552), streamed.

Usage: python -I -B bytecode.py < JSON
JSON: [[SOURCE, MODULE], ...] where MODULE is the source's path inside the
bundle, which each .pyc records as its file name, so no path of the build
machine gets in.  For each pair, in order, writes to stdout an 8-byte
little-endian signed length and that many bytes of .pyc, or the length -1
for a source this interpreter cannot compile (syntax another Python
version accepts).  The bytes are what py_compile writes with
PycInvalidationMode.UNCHECKED_HASH, except on PyPy (see MARSHAL_VERSION).
"""
import importlib.machinery
import importlib.util
import json
import marshal
import struct
import sys

# PEP 552's flags: a hash-based .pyc whose source is never checked.
UNCHECKED_HASH = 0b01
# PyPy's marshal marks a string as interned when a string of that value
# is interned in the compiling process at that moment, which depends on
# what the process compiled before and on when its garbage collector
# ran.  Format 2 has no such marks (nor references): PyPy's bytecode is
# then the same bytes whatever else the build compiles, for files about
# a fifth larger.
MARSHAL_VERSION = 2 if sys.implementation.name == "pypy" else marshal.version


def pyc(source, module):
    loader = importlib.machinery.SourceFileLoader("<embedpack>", source)
    data = loader.get_data(source)
    code = loader.source_to_code(data, module, _optimize=0)
    return b"".join([
        importlib.util.MAGIC_NUMBER,
        UNCHECKED_HASH.to_bytes(4, "little"),
        importlib.util.source_hash(data),
        marshal.dumps(code, MARSHAL_VERSION),
    ])


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
