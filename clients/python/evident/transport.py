"""One keep-alive HTTP connection to evident serve (http.client: the standard library)."""

from __future__ import annotations

import email.utils
import http.client
import json
import ssl
import time
import urllib.parse
from typing import Any


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: Any) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def retry_after(self) -> float | None:
        """Seconds the server asked to wait: Retry-After (seconds or an HTTP date), else the
        body's retry_after_ms."""
        value = self.headers.get("retry-after")
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                try:
                    when = email.utils.parsedate_to_datetime(value)
                    return max(0.0, when.timestamp() - time.time())
                except (TypeError, ValueError):
                    pass
        if isinstance(self.body, dict) and isinstance(self.body.get("retry_after_ms"), (int, float)):
            return max(0.0, self.body["retry_after_ms"] / 1000)
        return None


class Transport:
    def __init__(self, url: str, api_key: str, timeout: float = 10.0, ssl_context: ssl.SSLContext | None = None) -> None:
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"url must be http:// or https://, not {url!r}")
        self.https = u.scheme == "https"
        self.host = u.hostname
        self.port = u.port or (443 if self.https else 80)
        self.base = u.path.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            if self.https:
                ctx = self.ssl_context or ssl.create_default_context()
                self.conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=ctx)
            else:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self.conn

    def request(self, method: str, path: str, body: bytes | None = None) -> Response:
        """Raises OSError or http.client.HTTPException on a network failure."""
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn = self._connection()
        try:
            conn.request(method, self.base + path, body=body, headers=headers)
            r = conn.getresponse()
            raw = r.read()
        except BaseException:
            self.close()
            raise
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if hdrs.get("connection", "").lower() == "close":
            self.close()
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return Response(r.status, hdrs, parsed)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
