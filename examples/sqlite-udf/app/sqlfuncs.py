"""The SQL functions of the pyudf SQLite extension, in plain Python."""
import unicodedata

import markupsafe


def html_escape(text):
    return str(markupsafe.escape(text))


def unicode_name(text):
    return ", ".join(unicodedata.name(c, "U+%04X" % ord(c)) for c in text)


def answer(function, text, result, context):
    """Calls `function` on the C string `text` and hands its value, or the
    error it raised, to the C callback `result`."""
    from pyudf import ffi

    try:
        value = function(ffi.string(text).decode("utf-8"))
    except Exception as e:
        result(context, ("%s: %s" % (type(e).__name__, e)).encode("utf-8"), 1)
    else:
        result(context, value.encode("utf-8"), 0)
