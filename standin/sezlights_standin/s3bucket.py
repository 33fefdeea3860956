"""A public S3 bucket on 127.0.0.1, answered the way Amazon S3 answers anonymous HTTP.

Written from Amazon's S3 API reference (ListObjectsV2, ListObjects, GetObject,
HeadObject; docs/evidence/lighteverynight.md §1.3 and "What a local stand-in should
reproduce"), not from the reader in ``sezlights.sources.lighteverynight``:

- the bucket's root (virtual-host style, ``https://{bucket}.s3.amazonaws.com/``) is the
  tree under ``root``; an object's key is its path there;
- ``GET /?list-type=2&prefix=..&delimiter=..&max-keys=..&continuation-token=..&start-after=..``
  answers ``ListBucketResult`` XML (``Name``, ``Prefix``, ``KeyCount``, ``MaxKeys``,
  ``Delimiter``, ``IsTruncated``, ``Contents`` with ``Key``, ``LastModified``, ``ETag``,
  ``Size``, ``StorageClass``; ``CommonPrefixes``; ``ContinuationToken``,
  ``NextContinuationToken``), keys in UTF-8 binary order, at most ``max-keys`` (default
  1000) keys and common prefixes a page; without ``list-type`` the version 1 answer
  (``Marker``, ``NextMarker`` when a delimiter is given);
- ``GET``/``HEAD`` of a key: ``ETag`` (the MD5 of the object, quoted, as for a single-part
  upload), ``Last-Modified``, ``Accept-Ranges``, ``x-amz-request-id``; one ``Range``
  (206, ``Content-Range``; 416 ``InvalidRange``); ``If-Match`` (412
  ``PreconditionFailed`` when the ETag differs) and ``If-None-Match`` (304);
- errors as S3 XML: 404 ``NoSuchKey``, 405 ``MethodNotAllowed``;
- what the base server counts and breaks (:mod:`.httpserver`): bytes sent per key,
  faults queued per key substring ("503", "500", "cut", "reset", "stall", ...).

``page_size`` caps a listing page below ``max-keys`` (S3's own cap is 1000), so tests
can make a listing span pages without thousands of objects.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from pathlib import Path
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from .httpserver import StandinHandler, StandinServer, byte_range, http_date

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_KEYS = 1000


def s3_error(code: str, message: str, resource: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>"
        + (f"<Key>{escape(resource)}</Key>" if resource else "")
        + f"<RequestId>{secrets.token_hex(8).upper()}</RequestId>"
        f"<HostId>{base64.b64encode(secrets.token_bytes(24)).decode()}</HostId></Error>"
    ).encode()


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class _Handler(StandinHandler):
    server: S3BucketServer

    def route(self) -> None:
        if self.command not in ("GET", "HEAD"):
            return self.s3_reply(405, "MethodNotAllowed", "The specified method is not allowed")
        if self.url_path == "/":
            return self.listing()
        return self.object(self.url_path.lstrip("/"))

    def s3_reply(self, status: int, code: str, message: str, key: str = "") -> None:
        self.reply(status, s3_error(code, message, key), "application/xml")

    # ------------------------------------------------------------------ listing

    def listing(self) -> None:
        fault = self.take_fault()
        if fault is True:
            return
        q = {k: v[0] for k, v in parse_qs(self.query, keep_blank_values=True).items()}
        v2 = q.get("list-type") == "2"
        prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
        try:
            max_keys = int(q.get("max-keys", MAX_KEYS))
        except ValueError:
            return self.s3_reply(400, "InvalidArgument", "Provided max-keys not an integer")
        if max_keys < 0:
            return self.s3_reply(400, "InvalidArgument", "max-keys must be non-negative")
        limit = min(max_keys, MAX_KEYS, self.server.page_size)
        if v2:
            token = q.get("continuation-token")
            after = q.get("start-after", "")
            if token is not None:
                try:
                    after = base64.urlsafe_b64decode(token.encode()).decode()
                except ValueError:
                    return self.s3_reply(
                        400, "InvalidArgument", "The continuation token provided is incorrect"
                    )
        else:
            after = q.get("marker", "")
        entries: list[tuple[str, object]] = []  # ("key", info) or ("prefix", None)
        seen_prefixes: set[str] = set()
        truncated, last = False, ""
        for key, info in self.server.objects():
            if not key.startswith(prefix) or key <= after:
                continue
            if delimiter:
                cut = key.find(delimiter, len(prefix))
                if cut >= 0:
                    common = key[: cut + len(delimiter)]
                    if common in seen_prefixes or common <= after:
                        continue
                    if len(entries) >= limit:
                        truncated = True
                        break
                    seen_prefixes.add(common)
                    entries.append(("prefix", common))
                    last = common
                    continue
            if len(entries) >= limit:
                truncated = True
                break
            entries.append(("key", (key, info)))
            last = key
        if truncated and delimiter and last.endswith(delimiter):
            # the next page starts after every key under the last common prefix
            last = last + "\U0010ffff"
        parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="{NS}">']
        parts.append(f"<Name>{escape(self.server.bucket)}</Name>")
        parts.append(f"<Prefix>{escape(prefix)}</Prefix>")
        if v2:
            if "continuation-token" in q:
                parts.append(
                    f"<ContinuationToken>{escape(q['continuation-token'])}</ContinuationToken>"
                )
            if "start-after" in q:
                parts.append(f"<StartAfter>{escape(q['start-after'])}</StartAfter>")
            parts.append(f"<KeyCount>{len(entries)}</KeyCount>")
        else:
            parts.append(f"<Marker>{escape(after)}</Marker>")
        parts.append(f"<MaxKeys>{max_keys}</MaxKeys>")
        if delimiter:
            parts.append(f"<Delimiter>{escape(delimiter)}</Delimiter>")
        parts.append(f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>")
        if truncated:
            if v2:
                token = base64.urlsafe_b64encode(last.encode()).decode()
                parts.append(f"<NextContinuationToken>{token}</NextContinuationToken>")
            elif delimiter:
                parts.append(f"<NextMarker>{escape(last)}</NextMarker>")
        for kind, value in entries:
            if kind == "key":
                key, (size, mtime, etag) = value
                parts.append(
                    f"<Contents><Key>{escape(key)}</Key><LastModified>{_iso(mtime)}</LastModified>"
                    f"<ETag>&quot;{etag}&quot;</ETag><Size>{size}</Size>"
                    "<StorageClass>STANDARD</StorageClass></Contents>"
                )
        for kind, value in entries:
            if kind == "prefix":
                parts.append(f"<CommonPrefixes><Prefix>{escape(value)}</Prefix></CommonPrefixes>")
        parts.append("</ListBucketResult>")
        self.reply(200, "".join(parts).encode(), "application/xml", fault=fault)

    # ------------------------------------------------------------------ objects

    def object(self, key: str) -> None:
        target = self.server.resolve("/" + key)
        if target is None or not target.is_file():
            fault = self.take_fault()
            if fault is True:
                return
            return self.s3_reply(404, "NoSuchKey", "The specified key does not exist.", key)
        st = target.stat()
        etag = f'"{self.server.etag(target)}"'
        headers = {
            "Accept-Ranges": "bytes",
            "Last-Modified": http_date(st.st_mtime),
            "ETag": etag,
            "x-amz-request-id": secrets.token_hex(8).upper(),
        }
        if_match = self.headers.get("If-Match")
        if if_match is not None and if_match.strip() not in (etag, "*"):
            return self.s3_reply(
                412,
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
            )
        if self.headers.get("If-None-Match", "").strip() == etag:
            self.send_head(304, 0, "application/xml", headers)
            return
        fault = self.take_fault()
        if fault is True:
            return
        size = st.st_size
        rng = byte_range(self.headers.get("Range"), size)
        if rng == "unsatisfiable":
            body = s3_error("InvalidRange", "The requested range is not satisfiable", key)
            headers["Content-Range"] = f"bytes */{size}"
            return self.reply(416, body, "application/xml", headers)
        status, first, last = 200, 0, size - 1
        if rng:
            status, (first, last) = 206, rng
            headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        length = last - first + 1
        self.send_head(
            status,
            length,
            "image/tiff" if key.endswith(".tif") else "binary/octet-stream",
            headers,
            fault,
        )
        if self.command == "HEAD":
            return
        with open(target, "rb") as f:
            f.seek(first)
            self._send_body(f, length, fault)


class S3BucketServer(StandinServer):
    """The bucket ``bucket`` with the objects under ``root`` (see the module doc)."""

    handler_class = _Handler
    server_software = "AmazonS3"

    def __init__(self, root, bucket: str = "globalnightlight", port: int = 0, page_size=MAX_KEYS):
        super().__init__(root, port)
        self.bucket = bucket
        self.page_size = page_size
        self._etags: dict[tuple, str] = {}

    def objects(self):
        """(key, (size, mtime, etag)) of every object, in UTF-8 binary key order."""
        files = [p for p in self.root.rglob("*") if p.is_file() and not p.name.startswith(".")]
        keyed = sorted(
            ((p.relative_to(self.root).as_posix(), p) for p in files),
            key=lambda kp: kp[0].encode(),
        )
        for key, p in keyed:
            st = p.stat()
            yield key, (st.st_size, st.st_mtime, self.etag(p))

    def etag(self, path: Path) -> str:
        """The MD5 of the object (cached by path, size and time)."""
        st = path.stat()
        k = (str(path), st.st_size, st.st_mtime_ns)
        if k not in self._etags:
            h = hashlib.md5()
            with open(path, "rb") as f:
                while chunk := f.read(1 << 22):
                    h.update(chunk)
            self._etags[k] = h.hexdigest()
        return self._etags[k]
