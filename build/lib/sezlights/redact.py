"""Secrets out of anything the run prints or writes (the report's configuration, messages).

:func:`redact` copies a config with the value of every key named like a secret hidden,
and in every URL a password and secret-looking query values; :func:`url` does the latter
for one address (a signed download URL's signature included).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SECRET_KEY = re.compile(
    r"secret|passw|token|credential|api[_-]?key|private[_-]?key|cookie|auth[_-]?key|signature"
    r"|x-amz-credential|x-amz-security-token",
    re.I,
)
_HIDDEN = "(hidden)"


def url(value: str) -> str:
    """A URL without a password in it or secret-looking query values."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return value
    if not parts.scheme or not parts.netloc:
        return value
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{_HIDDEN}@{host}" if ":" in userinfo else netloc
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, _HIDDEN if _SECRET_KEY.search(k) else v) for k, v in pairs], safe="()"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact(obj):
    """A copy of a config with secrets hidden, for printing.

    The value of every key named like a secret (``*secret*``, ``*passw*``,
    ``*token*``, ``*credential*``, ``*api_key*``, ...) becomes ``(hidden)``,
    except keys ending in ``url`` (``token_url`` is an address, not a secret);
    in every string that is a URL a password (``user:pw@``) and secret-looking
    query values are hidden. Values that are not plain YAML become strings.
    """
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            key = str(k)
            if _SECRET_KEY.search(key) and not key.lower().endswith("url"):
                out[key] = _HIDDEN if v not in (None, "") else v
            else:
                out[key] = redact(v)
        return out
    if isinstance(obj, list | tuple | set):
        return [redact(v) for v in obj]
    if isinstance(obj, str):
        return url(obj) if "://" in obj else obj
    if obj is None or isinstance(obj, bool | int | float):
        return obj
    return str(obj)
