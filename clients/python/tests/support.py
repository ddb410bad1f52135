"""What the tests share: the server test/python/fastapi.test.ts started (through environment
variables), reading a log back, an app served by uvicorn on a real socket, temporary dirs."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

# Run as `python3 -m unittest discover -s clients/python/tests`: the package is one folder up.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def server() -> dict[str, str]:
    """The running evident serve, or SkipTest when this suite runs on its own."""
    url = os.environ.get("EVIDENT_TEST_URL")
    if not url:
        raise unittest.SkipTest("needs evident serve: run through test/python/fastapi.test.ts")
    return {
        "url": url,
        "ingest": os.environ["EVIDENT_TEST_INGEST_KEY"],
        "read": os.environ["EVIDENT_TEST_READ_KEY"],
        "root": os.environ.get("EVIDENT_TEST_ROOT", ""),
    }


def temp_dir(test: unittest.TestCase) -> str:
    d = tempfile.mkdtemp(prefix="evident-py-")
    test.addCleanup(shutil.rmtree, d, True)
    return d


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer to check, not to follow


_opener = urllib.request.build_opener(_NoRedirect)


def http(method: str, url: str, headers: dict[str, str] | None = None, body: Any = None, timeout: float = 10) -> tuple[int, dict[str, str], Any]:
    data = None if body is None else json.dumps(body).encode()
    h = dict(headers or {})
    if data is not None:
        h["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with _opener.open(req, timeout=timeout) as r:
            raw, status, hdrs = r.read(), r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        raw, status, hdrs = e.read(), e.code, dict(e.headers)
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode("utf-8", "replace")
    return status, {k.lower(): v for k, v in hdrs.items()}, parsed


def read_log(url: str, read_key: str, log: str, **filters: str) -> list[dict[str, Any]]:
    """Every entry of the log (filtered), in index order, page by page."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        q = {**filters, "limit": "1000"}
        if cursor:
            q["cursor"] = cursor
        status, _, body = http("GET", f"{url}/v1/logs/{log}/events?{urllib.parse.urlencode(q)}", {"Authorization": f"Bearer {read_key}"})
        if status != 200:
            raise AssertionError(f"reading {log}: {status} {body}")
        out.extend(body["entries"])
        cursor = body["next_cursor"]
        if not cursor:
            return out


def client_events(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The log's entries without the server's own: access-audit events and evident.* (API keys)."""
    return [e for e in entries if not e["action"].startswith(("audit_log.", "evident."))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class ServedApp:
    """An ASGI app served by uvicorn in a thread, on a real loopback socket."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="critical", lifespan="off", proxy_headers=False)
        # proxy_headers=False: uvicorn would otherwise put X-Forwarded-For into the client
        # address itself (it trusts 127.0.0.1 by default), before any middleware sees it.
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30  # generous: a loaded machine starts threads slowly
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def start_outage_server(port: int) -> subprocess.Popen:
    cmd = json.loads(os.environ["EVIDENT_TEST_OUTAGE_SERVE"]) + ["--port", str(port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVIDENT_")}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(f"http://127.0.0.1:{port}/healthz")
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
