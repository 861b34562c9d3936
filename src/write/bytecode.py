"""Compile Python sources into hash-based .pyc files (PEP 552), streamed.

Usage: python -I -B bytecode.py < JOBS
JOBS: pairs SOURCE, MODULE, each a file name as bytes after its 4-byte
little-endian length, where MODULE is the source's path inside the
bundle, which each .pyc records as its file name, so no path of the build
machine gets in.  A name that is not UTF-8 is recorded as the bundle's
interpreter (in UTF-8 mode) decodes it: with surrogateescape, as
`__file__` will be.  For each pair, in order, writes to stdout an 8-byte
little-endian signed length and that many bytes of .pyc, or the length -1
for a source this interpreter cannot compile (syntax another Python
version accepts).  The bytes are what py_compile writes with
PycInvalidationMode.UNCHECKED_HASH, except on PyPy (see MARSHAL_VERSION).
"""
import importlib.machinery
import importlib.util
import marshal
import os
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
    path = os.fsdecode(source)
    loader = importlib.machinery.SourceFileLoader("<embedpack>", path)
    data = loader.get_data(path)
    module = module.decode("utf-8", "surrogateescape")
    code = loader.source_to_code(data, module, _optimize=0)
    return b"".join([
        importlib.util.MAGIC_NUMBER,
        UNCHECKED_HASH.to_bytes(4, "little"),
        importlib.util.source_hash(data),
        marshal.dumps(code, MARSHAL_VERSION),
    ])


def jobs(data):
    """The (SOURCE, MODULE) pairs of JOBS, as bytes."""
    names = []
    at = 0
    while at < len(data):
        (length,) = struct.unpack_from("<I", data, at)
        names.append(data[at + 4 : at + 4 + length])
        at += 4 + length
    return zip(names[0::2], names[1::2])


def main():
    out = sys.stdout.buffer
    for source, module in jobs(sys.stdin.buffer.read()):
        try:
            data = pyc(source, module)
        except Exception:  # as py_compile: any failure to compile
            out.write(struct.pack("<q", -1))
            continue
        out.write(struct.pack("<q", len(data)))
        out.write(data)
    out.flush()


main()
