"""Write-ahead intents of fail-closed routes: a request's provisional event, written and fsynced
before the application runs (one file per request in ``<spool>/intents``), so that no handler
runs without a durable record. Completing the request appends the final event to the spool
(fsynced) and then removes the file; releasing it appends the provisional event instead. A file
left by a process that died mid-request is appended when the spool is next opened, unless the
spool already holds an event with its id (the process died between the append and the removal).
A full disk fails the file's write, so the request is refused before its handler runs."""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any

from .errors import SpoolFailed

log = logging.getLogger("evident.intents")

INTENT_DIR = "intents"
TMP_SUFFIX = ".tmp"
_NAME = re.compile(r"^[0-9a-f-]{36}\.json$")


class Intents:
    def __init__(self, spool_dir: str) -> None:
        self.dir = os.path.join(spool_dir, INTENT_DIR)
        try:
            if not os.path.isdir(self.dir):
                os.makedirs(self.dir, mode=0o700, exist_ok=True)
                _fsync_dir(spool_dir)
        except OSError as e:
            raise SpoolFailed(self.dir, e) from e

    def _path(self, event_id: str) -> str:
        if not _NAME.match(event_id + ".json"):
            raise SpoolFailed(self.dir, f"not an event id: {event_id!r}")
        return os.path.join(self.dir, event_id + ".json")

    def write(self, event_id: str, payload: bytes) -> None:
        """Returns once the intent is on disk (file and directory fsynced); raises SpoolFailed
        having kept nothing. Written beside its place and renamed into it once fsynced, so that
        a process killed mid-write leaves no torn intent, only a temporary file (removed at the
        next open)."""
        path = self._path(event_id)
        tmp = path + TMP_SUFFIX
        fd = -1
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            os.close(fd)
            fd = -1
            os.rename(tmp, path)
            _fsync_dir(self.dir)
        except OSError as e:
            if fd >= 0:
                os.close(fd)
            for p in (tmp, path):
                try:
                    os.unlink(p)
                except OSError:
                    pass
            raise SpoolFailed(self.dir, e) from e

    def drop(self, event_id: str) -> None:
        """Retires an intent whose event (final or provisional) is in the spool."""
        try:
            os.unlink(self._path(event_id))
            _fsync_dir(self.dir)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise SpoolFailed(self.dir, e) from e

    def orphans(self) -> list[tuple[str, bytes]]:
        """Intents left on disk, oldest id first (UUIDv7 ids sort by time). A temporary file is
        an intent whose write never finished: its request was refused before its handler ran,
        so it is removed. So is an intent that is not a JSON object (a torn file written by an
        earlier version, which wrote in place): spooled, it would be refused by the server."""
        out = []
        for name in sorted(os.listdir(self.dir)):
            path = os.path.join(self.dir, name)
            if name.endswith(TMP_SUFFIX) and _NAME.match(name[: -len(TMP_SUFFIX)]):
                os.unlink(path)
                continue
            if not _NAME.match(name):
                continue
            with open(path, "rb") as f:
                payload = f.read()
            try:
                whole = isinstance(json.loads(payload), dict)
            except ValueError:
                whole = False
            if whole:
                out.append((name[:-5], payload))
            else:
                log.warning("evident: removed a torn intent %s (%d bytes): its write never finished", path, len(payload))
                os.unlink(path)
        return out


def payload_of(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
