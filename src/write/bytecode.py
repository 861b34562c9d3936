"""Compile Python sources into hash-based .pyc files (PEP 552), streamed.

Usage: python -I -B bytecode.py < JOBS
JOBS: pairs SOURCE, MODULE, each a file name as bytes after its 4-byte
little-endian length, where MODULE is the source's path inside the
bundle, which each .pyc records as its file name, so no path of the build
machine gets in.  A name that is not UTF-8 is recorded as the bundle's
interpreter (in UTF-8 mode) decodes it: with surrogateescape, as
`__file__` will be.  For each pair, in order, writes to stdout the
SHA-256 of the source's bytes as read, then an 8-byte little-endian
signed length and that many bytes of .pyc, or the length -1 for a source
this interpreter cannot compile (syntax another Python version accepts).
A source that cannot be read ends the run: the message on stderr, exit
status 1.  The bytes are what py_compile writes with
PycInvalidationMode.UNCHECKED_HASH, except on PyPy (see MARSHAL_VERSION).
"""
import hashlib
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


def pyc(loader, data, module):
    module = module.decode("utf-8", "surrogateescape")
    try:
        code = loader.source_to_code(data, module, _optimize=0)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # Syntax this version does not accept, a NUL byte (ValueError
        # before 3.12) or an undecodable text, nesting too deep for its
        # compiler (MemoryError from 3.8's parser): what another Python
        # may compile.
        return None
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
        path = os.fsdecode(source)
        loader = importlib.machinery.SourceFileLoader("<embedpack>", path)
        try:
            data = loader.get_data(path)
        except OSError as err:
            sys.stderr.write(f"cannot read {path}: {err.strerror}\n")
            sys.exit(1)
        out.write(hashlib.sha256(data).digest())
        compiled = pyc(loader, data, module)
        if compiled is None:
            out.write(struct.pack("<q", -1))
            continue
        out.write(struct.pack("<q", len(compiled)))
        out.write(compiled)
    out.flush()


main()
