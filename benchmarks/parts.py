"""What a bundle's bytes are made of, for benchmarks/compare.sh.

Groups the files of a CPython bundle folder by the part of the bundle
they belong to — libpython, the standard library's extension modules
(lib-dynload), the libraries vendored into lib/, the standard library's
sources and data, its bytecode, site-packages, the plugin and its shim,
the manifest and SBOM, and the rest (the app, headers, CMake and
pkg-config files) — and prints a Markdown table (MiB, share, files) and
an ASCII bar chart of the same.

usage: python parts.py BUNDLE
"""
import os
import sys

PARTS = [
    "libpython",
    "lib-dynload",
    "vendored libraries (lib/)",
    "stdlib sources and data",
    "stdlib bytecode",
    "site-packages",
    "plugin and its shim",
    "MANIFEST.json and SBOM",
    "other (app, include, cmake, pkg-config)",
]
BAR = 50


def part(relative):
    """The part of the bundle that the file at `relative` belongs to."""
    top, _, rest = relative.partition("/")
    name = os.path.basename(relative)
    if top == "lib" and name.startswith("libpython"):
        return "libpython"
    if top == "python" and "/lib-dynload/" in relative:
        return "lib-dynload"
    if top == "lib" and "/" not in rest and ".so" in name:
        return "vendored libraries (lib/)"
    if top == "python":
        return "stdlib bytecode" if name.endswith(".pyc") else "stdlib sources and data"
    if top == "site-packages":
        return "site-packages"
    if not rest and name.endswith(".so"):
        return "plugin and its shim"
    if not rest and name in ("MANIFEST.json", "sbom.cdx.json"):
        return "MANIFEST.json and SBOM"
    return "other (app, include, cmake, pkg-config)"


def measure(bundle):
    """{part: [bytes, files]} of the regular files under `bundle`."""
    sizes = {name: [0, 0] for name in PARTS}
    for folder, _, files in os.walk(bundle):
        for file in files:
            path = os.path.join(folder, file)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            entry = sizes[part(os.path.relpath(path, bundle))]
            entry[0] += os.path.getsize(path)
            entry[1] += 1
    return sizes


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit("usage: python parts.py BUNDLE (a bundle folder)")
    sizes = measure(sys.argv[1])
    total = sum(size for size, _ in sizes.values()) or 1
    files = sum(count for _, count in sizes.values())
    widest = max(size for size, _ in sizes.values()) or 1
    print("| Part | MiB | Share | Files |")
    print("|:---|---:|---:|---:|")
    for name in PARTS:
        size, count = sizes[name]
        print(f"| {name} | {size / 2**20:.2f} | {100 * size / total:.0f}% | {count} |")
    print(f"| **total** | **{total / 2**20:.2f}** | 100% | {files} |")
    print()
    print("```")
    for name in PARTS:
        size = sizes[name][0]
        bar = "#" * round(BAR * size / widest)
        print(f"{name:<40} {bar:<{BAR}} {size / 2**20:6.2f} MiB")
    print("```")


if __name__ == "__main__":
    main()
