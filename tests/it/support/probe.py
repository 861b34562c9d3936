"""Describe the running interpreter as JSON on stdout: what the integration
tests need to know of an interpreter tests/run.sh handed in, so that no test
names a folder or a version of one machine.

Run as `python -I -B -c <this file>` (tests/it/support/python.rs).
"""
import json
import sys
import sysconfig

print(
    json.dumps(
        {
            "version": list(sys.version_info[:3]),
            "base_prefix": sys.base_prefix,
            "include": sysconfig.get_paths()["include"],
            "libdir": sysconfig.get_config_var("LIBDIR"),
            "ldversion": sysconfig.get_config_var("LDVERSION"),
            "instsoname": sysconfig.get_config_var("INSTSONAME"),
        }
    )
)
