"""Writes the seed inputs of the text and archive fuzz targets: a small
manifest (one name escaped), archives shaped like bundles and like the
archives verify must refuse, the pyvenv.cfg files of venv, virtualenv
and uv, and the cdef texts of the repository's plugins.  Called by
make-seeds.sh; the seeds are checked in."""

import io
import json
import pathlib
import re
import sys
import tarfile
import zipfile

repo = pathlib.Path(sys.argv[1])
corpus = repo / "fuzz" / "corpus"


def seed(target, name, data):
    folder = corpus / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"seed-{name}").write_bytes(data if isinstance(data, bytes) else data.encode())


def sha(n):
    return f"{n:064x}"


manifest = {
    "embedpack": "0.1.0",
    "module": "sentinel",
    "python": {
        "implementation": "cpython",
        "version": "3.11.7",
        "soabi": "cpython-311-x86_64-linux-gnu",
        "libpython": "libpython3.11.so.1.0",
    },
    "compiler": "cc (Debian 12.2.0-14+deb12u1) 12.2.0",
    "distributions": [{"name": "cffi", "version": "2.0.0"}],
    "requires": {"versions": {"glibc": "2.36"}, "host_libs": ["libhost.so.1"]},
    "files": [
        {"path": "app/a.py", "size": 392, "mode": 420, "sha256": sha(1)},
        {"path": "lib/libpython3.11.so.1.0", "size": 7, "mode": 493, "sha256": sha(2)},
        {"path": "site/caf\\xe9\\\\.py", "escaped": True, "size": 0, "mode": 420, "sha256": sha(3)},
    ],
}
seed("manifest", "bundle.json", json.dumps(manifest, indent=2))
seed("manifest", "pypy.json", json.dumps({**manifest, "python": {
    "implementation": "pypy", "version": "3.9.18", "soabi": None, "libpython": "libpypy3.9-c.so"}}))


def zip_of(entries):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return out.getvalue()


def tar_gz_of(entries):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.GNU_FORMAT) as t:
        for name, data, mode in entries:
            info = tarfile.TarInfo(name)
            info.mode = mode & 0o7777
            if mode >> 12 == 0o12:
                info.type, info.linkname = tarfile.SYMTYPE, data.decode()
                t.addfile(info)
            else:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    return out.getvalue()


good = [
    ("b/MANIFEST.json", json.dumps(manifest).encode(), 0o100644),
    ("b/lib/libx.so", b"\x7fELF" + bytes(60), 0o100755),
    ("b/app/a.py", b"print(1)\n" * 20, 0o100644),
]
shapes = {
    "bundle": good,
    "dotdot": good + [("b/../../evil", b"x", 0o100644)],
    "absolute": good + [("/etc/evil", b"x", 0o100644)],
    "link": good + [("b/lib/link", b"../../etc/passwd", 0o120777)],
    "top-only": [("MANIFEST.json", b"{}", 0o100644)],
}
for name, entries in shapes.items():
    seed("zip", f"{name}.zip", zip_of(entries))
    seed("tar_gz", f"{name}.tar.gz", tar_gz_of(entries))

seed("pyvenv_cfg", "venv", "home = /opt/py/bin\ninclude-system-site-packages = false\nversion = 3.11.7\n")
seed("pyvenv_cfg", "virtualenv", "home = /opt/py/bin\nimplementation = CPython\n"
     "version_info = 3.11.7.final.0\nvirtualenv = 21.15.11\nbase-prefix = /opt/py\n")
seed("pyvenv_cfg", "uv", "home = /opt/py/bin\nimplementation = CPython\nuv = 0.13.9\n"
     "version_info = 3.12.1\ninclude-system-site-packages = true\n")

# The cdef texts given to embedding_api() and cdef() by the plugins here.
scripts = sorted(repo.glob("tests/fixtures/**/*.py")) + sorted(repo.glob("examples/**/*.py"))
texts = set()
for script in scripts:
    for text in re.findall(r'(?:embedding_api|cdef)\(\s*"""(.*?)"""', script.read_text(), re.S):
        texts.add(text)
for i, text in enumerate(sorted(texts)):
    seed("cdecl", f"{i:02}.h", text)
seed("cdecl", "partial.h", 'struct s { int x; ...; };\ntypedef ... t;\ntypedef int... n;\n'
     'enum e { A, B, ... };\n#define X ...\nstatic const int Y;\nint a[...];\n'
     'extern "Python" int cb(int);\n_Bool f(size_t, FILE *); /* c */ // d\n')
