"""The client's durable spool: an append-only queue of events on disk, in segment files.

Each record is a frame: 4-byte big-endian length, 4-byte CRC-32 of the body, then the body (a
kind byte and the payload). A crash can leave a torn frame at the tail; opening the spool cuts
the file at the first frame whose length or CRC does not hold, so a half-written event is never
delivered and nothing after it is misread.

``append`` returns only once the frame is written and fsynced; appends from many threads share
one fsync (group commit). Delivered events are removed by moving the acknowledged position,
kept in the ``ack`` file (written to a temporary file, fsynced, renamed): a crash between a
receipt and that write sends the events again, which the server answers with the original
receipts (same id, same content), so nothing is logged twice. A segment is deleted once every
event in it is acknowledged. A lock file keeps a second process off the directory.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import struct
import threading
import time
import zlib
from typing import Any

from .errors import SpoolFailed, SpoolFull

log = logging.getLogger("evident.spool")

HEADER = struct.Struct(">II")
EVENT = 1
PROBE = 2
MAX_FRAME = 4 << 20
SEGMENT_RE = re.compile(r"^seg-(\d{10})\.log$")

Position = tuple  # (segment number, byte offset)


def frame(payload: bytes, kind: int = EVENT) -> bytes:
    body = bytes((kind,)) + payload
    return HEADER.pack(len(body), zlib.crc32(body)) + body


def scan(data: bytes, start: int = 0) -> tuple[list[tuple[int, int, int, int]], int]:
    """Valid frames from ``start``: (offset, end, kind, payload start), and where they stop."""
    frames = []
    off = start
    while off + HEADER.size <= len(data):
        length, crc = HEADER.unpack_from(data, off)
        end = off + HEADER.size + length
        if length == 0 or length > MAX_FRAME or end > len(data):
            break
        body = data[off + HEADER.size : end]
        if zlib.crc32(body) != crc or body[0] not in (EVENT, PROBE):
            break
        frames.append((off, end, body[0], off + HEADER.size + 1))
        off = end
    return frames, off


class Spool:
    def __init__(
        self,
        directory: str,
        *,
        max_events: int = 100_000,
        max_bytes: int = 256 << 20,
        segment_bytes: int = 8 << 20,
    ) -> None:
        self.dir = os.path.abspath(directory)
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.cond = threading.Condition()
        self.closed = False
        self.cut_bytes = 0  # torn or corrupt bytes cut when the spool was opened
        try:
            os.makedirs(self.dir, exist_ok=True)
            self._lock_fd = self._lock()
        except OSError as e:
            raise SpoolFailed(self.dir, e) from e
        try:
            self._open()
        except OSError as e:
            os.close(self._lock_fd)
            raise SpoolFailed(self.dir, e) from e

    # ------------------------------------------------------------------ opening

    def _lock(self) -> int:
        fd = os.open(os.path.join(self.dir, "LOCK"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            os.close(fd)
            raise SpoolFailed(self.dir, f"the spool is in use by another process (pid {holder or '?'})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        return fd

    def _path(self, seg: int) -> str:
        return os.path.join(self.dir, f"seg-{seg:010d}.log")

    def _segments(self) -> list[int]:
        return sorted(int(m.group(1)) for n in os.listdir(self.dir) if (m := SEGMENT_RE.match(n)))

    def _read_ack(self) -> Position | None:
        try:
            with open(os.path.join(self.dir, "ack"), encoding="utf-8") as f:
                a = json.load(f)
            return (int(a["segment"]), int(a["offset"]))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as e:
            # Unreadable: start from the oldest segment. Events sent again get their original receipts.
            log.warning("spool %s: ack file unreadable (%s); replaying from the oldest segment", self.dir, e)
            return None

    def _open(self) -> None:
        segs = self._segments()
        ack = self._read_ack()
        if ack is None:
            ack = (segs[0] if segs else 1, 0)
        for s in segs:
            if s < ack[0]:
                os.unlink(self._path(s))
        segs = [s for s in segs if s >= ack[0]]
        if not segs or segs[0] != ack[0]:
            ack = (segs[0] if segs else ack[0], 0)
        if not segs:
            segs = [ack[0]]
        self.pending = 0
        self.pending_bytes = 0
        for s in segs:
            path = self._path(s)
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                data = b""
            start = min(ack[1], len(data)) if s == ack[0] else 0
            frames, stop = scan(data, start)
            for off, end, kind, _ in frames:
                if kind == EVENT:
                    self.pending += 1
                    self.pending_bytes += end - off
            if stop < len(data):
                self.cut_bytes += len(data) - stop
                log.warning("spool %s: cut %d torn or corrupt bytes at the end of %s", self.dir, len(data) - stop, path)
                os.truncate(path, stop)
        if os.path.exists(self._path(ack[0])):
            ack = (ack[0], min(ack[1], os.path.getsize(self._path(ack[0]))))
        self.acked: Position = ack
        self.seg = segs[-1]
        self.fd = os.open(self._path(self.seg), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fsync(self.fd)  # what the previous process wrote but never fsynced is durable from here on
        self._fsync_dir()
        self.offset = os.fstat(self.fd).st_size
        self.synced: Position = (self.seg, self.offset)
        self.unsynced_events = 0
        self.unsynced_bytes = 0
        self.syncing = False
        self.sync_error: BaseException | None = None

    def _fsync_dir(self) -> None:
        fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ writing

    def append(self, payload: bytes, kind: int = EVENT, block: float | None = None) -> None:
        """Writes one frame and returns once it is fsynced. ``block``: seconds to wait for room
        when the spool is full (None: raise SpoolFull at once)."""
        data = frame(payload, kind)
        with self.cond:
            self._check()
            if kind == EVENT:
                self._wait_room(len(data), block)
            if self.offset > 0 and self.offset + len(data) > self.segment_bytes:
                self._rotate()
            start = self.offset
            try:
                view = memoryview(data)
                while view:
                    n = os.write(self.fd, view)
                    view = view[n:]
            except OSError as e:
                self._cut_back(start)
                raise SpoolFailed(self.dir, e) from e
            self.offset += len(data)
            if kind == EVENT:
                self.pending += 1
                self.pending_bytes += len(data)
                self.unsynced_events += 1
                self.unsynced_bytes += len(data)
            self._sync_to((self.seg, self.offset))

    def _check(self) -> None:
        if self.closed:
            raise SpoolFailed(self.dir, "the spool is closed")
        if self.sync_error is not None:
            self._recover()
        # A removed spool directory would take every later write into an unlinked file: refuse.
        if os.fstat(self.fd).st_nlink == 0:
            raise SpoolFailed(self.dir, "the spool file was removed")

    def _wait_room(self, size: int, block: float | None) -> None:
        deadline = None if block is None else time.monotonic() + block
        while self.pending >= self.max_events or self.pending_bytes + size > self.max_bytes:
            left = None if deadline is None else deadline - time.monotonic()
            if left is None or left <= 0:
                if self.pending >= self.max_events:
                    raise SpoolFull(self.max_events, self.pending)
                raise SpoolFull(self.max_bytes, self.pending_bytes, "bytes")
            self.cond.wait(left)
            self._check()

    def _cut_back(self, start: int) -> None:
        """A failed write may have left part of a frame: cut it, so the file stays framed."""
        try:
            os.ftruncate(self.fd, start)
        except OSError:
            self.sync_error = OSError(errno.EIO, "could not cut a partial frame")
        self.offset = start

    def _sync_to(self, target: Position) -> None:
        # Group commit: one thread fsyncs for every frame written so far; the others wait for it.
        while self.synced < target:
            if self.sync_error is not None:
                raise SpoolFailed(self.dir, self.sync_error)
            if self.syncing:
                self.cond.wait()
                continue
            self.syncing = True
            upto = (self.seg, self.offset)
            events, nbytes = self.unsynced_events, self.unsynced_bytes
            self.cond.release()
            err: BaseException | None = None
            try:
                os.fsync(self.fd)
            except OSError as e:
                err = e
            finally:
                self.cond.acquire()
                self.syncing = False
            if err is not None:
                # After a failed fsync the kernel may have dropped the pages: the frames since
                # the last good fsync are not durable, and their writers are told so.
                self.sync_error = err
                self.pending -= self.unsynced_events
                self.pending_bytes -= self.unsynced_bytes
                self.unsynced_events = self.unsynced_bytes = 0
                self.cond.notify_all()
                raise SpoolFailed(self.dir, err)
            self.synced = upto
            self.unsynced_events -= events
            self.unsynced_bytes -= nbytes
            self.cond.notify_all()

    def _recover(self) -> None:
        """After a failed fsync: drop what was not durable and try again from the last good fsync."""
        try:
            os.ftruncate(self.fd, self.synced[1] if self.synced[0] == self.seg else 0)
            os.fsync(self.fd)
        except OSError as e:
            raise SpoolFailed(self.dir, e) from e
        self.offset = os.fstat(self.fd).st_size
        self.synced = (self.seg, self.offset)
        self.sync_error = None

    def _rotate(self) -> None:
        os.fsync(self.fd)
        self.synced = (self.seg, self.offset)
        self.unsynced_events = self.unsynced_bytes = 0
        fd = os.open(self._path(self.seg + 1), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._fsync_dir()
        os.close(self.fd)
        self.fd = fd
        self.seg += 1
        self.offset = 0

    # ------------------------------------------------------------------ reading

    def has_unread(self, pos: Position) -> bool:
        with self.cond:
            return pos < self.synced

    def pending_ids(self) -> set[str]:
        """Ids of the events in the spool not yet acknowledged (read once, at open, to retire
        intents whose event was appended before their process died)."""
        ids: set[str] = set()
        with self.cond:
            acked = self.acked
        for seg in self._segments():
            if seg < acked[0]:
                continue
            with open(self._path(seg), "rb") as f:
                data = f.read()
            frames, _ = scan(data, acked[1] if seg == acked[0] else 0)
            for off, end, kind, start in frames:
                if kind != EVENT:
                    continue
                try:
                    ev = json.loads(data[start:end])
                except ValueError:
                    continue
                if isinstance(ev, dict) and isinstance(ev.get("id"), str):
                    ids.add(ev["id"])
        return ids

    def read_batch(self, max_events: int, max_bytes: int) -> tuple[list[bytes], Position, int]:
        """Durable events from the acknowledged position: payloads, the position after the last
        one, and their frame bytes. Probe frames are passed over. Reads in chunks of about
        ``max_bytes``, so a long backlog is not read again for every batch."""
        with self.cond:
            pos, limit = self.acked, self.synced
        out: list[bytes] = []
        size = 0
        while pos < limit and len(out) < max_events:
            seg, off = pos
            path = self._path(seg)
            end = limit[1] if seg == limit[0] else os.path.getsize(path)
            if off >= end:
                if seg == limit[0]:
                    break
                pos = (seg + 1, 0)  # that segment is read to its end
                continue
            with open(path, "rb") as f:
                f.seek(off)
                data = f.read(min(end - off, max_bytes + (64 << 10)))
                frames, _ = scan(data)
                if not frames and len(data) >= HEADER.size:
                    # One frame larger than the chunk: read it whole.
                    length = HEADER.unpack_from(data)[0]
                    if off + HEADER.size + length <= end:
                        f.seek(off)
                        data = f.read(HEADER.size + length)
                        frames, _ = scan(data)
            if not frames:
                raise SpoolFailed(self.dir, f"corrupt frame in segment {seg} at {off}")
            for fo, fe, kind, ps in frames:
                if kind == EVENT:
                    if out and (len(out) >= max_events or size + (fe - fo) > max_bytes):
                        return out, (seg, off + fo), size
                    out.append(data[ps:fe])
                    size += fe - fo
                pos = (seg, off + fe)
        return out, pos, size

    def ack(self, pos: Position, events: int, nbytes: int) -> None:
        """Marks everything before ``pos`` delivered (or set aside), durably, and frees it."""
        tmp = os.path.join(self.dir, "ack.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"segment": pos[0], "offset": pos[1]}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(self.dir, "ack"))
        self._fsync_dir()
        with self.cond:
            self.acked = pos
            self.pending -= events
            self.pending_bytes -= nbytes
            self.cond.notify_all()
            current = self.seg
        for s in self._segments():
            if s < pos[0] and s < current:
                os.unlink(self._path(s))

    def set_aside(self, record: dict[str, Any]) -> None:
        """Appends a refused event to the rejected file (JSON Lines), fsynced."""
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        fd = os.open(os.path.join(self.dir, "rejected.jsonl"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def rejected(self) -> list[dict[str, Any]]:
        try:
            with open(os.path.join(self.dir, "rejected.jsonl"), encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def close(self) -> None:
        with self.cond:
            if self.closed:
                return
            self.closed = True
            self.cond.notify_all()
            try:
                os.fsync(self.fd)
            except OSError:
                pass
            os.close(self.fd)
            os.close(self._lock_fd)
