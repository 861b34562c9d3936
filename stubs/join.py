"""Warn when a bundle joins a Python whose sys.path already holds other
versions of the bundle's distributions.

Run by embedpack_attach() (stubs/cpython/start.c) with the GIL held, when the
bundle joins an interpreter that someone else started (the host, or
another bundle), before the bundle's own folders are appended to sys.path.
Its globals hold `bundle` (the bundle's folder) and `site` (its
site-packages).  Whatever comes first on sys.path is what gets imported,
so a distribution there at another version shadows the bundle's own: one
warning on stderr names each such distribution, both versions and both
folders.  The caller clears any exception: a warning must not stop the
bundle.
"""
import os
import sys


def distributions(folder):
    """{normalized name: (name, version)} for the *.dist-info and
    *.egg-info folders in `folder`."""
    found = {}
    try:
        names = sorted(os.listdir(folder))
    except (OSError, TypeError, ValueError):
        return found
    for entry in names:
        stem, dot, kind = entry.rpartition(".")
        if kind not in ("dist-info", "egg-info") or not dot:
            continue
        parts = stem.split("-")
        if len(parts) >= 2 and parts[0] and parts[1]:
            key = parts[0].lower().replace("_", "-").replace(".", "-")
            found.setdefault(key, (parts[0], parts[1]))
    return found


def shadowed(site, path):
    """(name, our version, their version, their folder) for each of our
    distributions that `path` holds first at another version."""
    ours = distributions(site)
    theirs = {}
    for folder in path:
        if not isinstance(folder, str) or not folder or folder == site:
            continue
        for key, (_, version) in distributions(folder).items():
            theirs.setdefault(key, (version, folder))
    for key in sorted(ours):
        if key in theirs and theirs[key][0] != ours[key][1]:
            name, version = ours[key]
            yield name, version, theirs[key][0], theirs[key][1]


def warn(bundle, site):
    found = list(shadowed(site, list(sys.path)))
    if not found:
        return
    lines = [
        "embedpack: warning: the bundle %s joins a Python whose sys.path "
        "already holds other versions of its distributions; those come "
        "first, so the bundle's code will import them:" % bundle
    ]
    for name, ours, theirs, folder in found:
        lines.append("  %s %s from %s (the bundle has %s in %s)"
                     % (name, theirs, folder, ours, site))
    lines.append("hint: build the bundles that share a process from venvs "
                 "that pin the same versions")
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()


warn(bundle, site)  # noqa: F821 (set by the caller)
