"""EvidentClient: records audit events durably on local disk, then delivers them to
`evident serve` in the background, in order, until the server has acknowledged each one.

``record`` returns only once the event is fsynced to the spool, so an acknowledged event
survives a crash of this process; a background thread posts spooled events in batches and
removes them only after the server's receipt. Network errors, 5xx and 429 are retried for ever
with exponential backoff and jitter (at least the server's Retry-After). A permanent refusal
(400, 409, or 413 of a single event) is set aside in the spool's rejected file and reported:
never dropped silently.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import threading
import time
import urllib.parse
from typing import Any, Callable

from .errors import DeliveryRejected, EvidentError, SpoolFailed, SpoolFull
from .spool import PROBE, Spool
from .transport import Response, Transport
from .uuid7 import uuid7
from .intents import Intents, payload_of
from .validate import check_event, utc_now

log = logging.getLogger("evident")

PERMANENT = (400, 409, 413)


class EvidentClient:
    def __init__(
        self,
        url: str,
        api_key: str,
        log: str,
        spool_dir: str,
        *,
        max_events: int = 100_000,
        max_bytes: int = 256 << 20,
        on_full: str = "reject",
        block_timeout: float = 5.0,
        batch_size: int = 500,
        batch_bytes: int = 512 << 10,
        timeout: float = 10.0,
        retry_base: float = 0.1,
        retry_max: float = 30.0,
        on_rejected: Callable[[DeliveryRejected, dict[str, Any]], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        start: bool = True,
    ) -> None:
        if on_full not in ("reject", "block"):
            raise ValueError("on_full must be 'reject' or 'block'")
        self.log_name = log
        self.on_full = on_full
        self.block_timeout = block_timeout
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.on_rejected = on_rejected
        self.on_error = on_error
        self.transport = Transport(url, api_key, timeout)
        self.path = f"/v1/logs/{urllib.parse.quote(log, safe='')}/events"
        self.spool = Spool(spool_dir, max_events=max_events, max_bytes=max_bytes)
        try:
            self.intents = Intents(self.spool.dir)
            self.recovered_intents = self._recover_intents()
        except BaseException:
            self.spool.close()
            raise
        self.delivered = 0
        self.rejected_count = 0
        self._stop = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    # ------------------------------------------------------------------ the caller's side

    def record(self, event: dict[str, Any]) -> dict[str, Any]:
        """Checks the event, fills ``id`` (UUIDv7) and ``timestamp`` when absent, and returns
        the event as spooled once it is fsynced. Raises ValidationError, SpoolFull or SpoolFailed
        (each with ``code``) when the event was not kept."""
        if self._closed:
            raise SpoolFailed(self.spool.dir, "the client is closed")
        ev = dict(event)
        ev.setdefault("id", uuid7())
        ev.setdefault("timestamp", utc_now())
        check_event(ev)
        payload = json.dumps(ev, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
        self.spool.append(payload, block=self.block_timeout if self.on_full == "block" else None)
        return ev

    def begin(self, provisional: dict[str, Any]) -> dict[str, Any]:
        """The fail-closed write-ahead: checks the provisional event (the request's event with
        its outcome unknown), fills ``id`` and ``timestamp``, and returns it once it is written and
        fsynced as an intent (not delivered while held). Raises ValidationError, SpoolFull or
        SpoolFailed, having kept nothing: the request must then be refused before it runs."""
        if self._closed:
            raise SpoolFailed(self.spool.dir, "the client is closed")
        ev = dict(provisional)
        ev.setdefault("id", uuid7())
        ev.setdefault("timestamp", utc_now())
        check_event(ev)
        with self.spool.cond:
            if self.spool.pending >= self.spool.max_events:
                raise SpoolFull(self.spool.max_events, self.spool.pending)
        self.intents.write(ev["id"], payload_of(ev))
        return ev

    def complete(self, intent: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
        """Spools the final event (the intent's id and timestamp), fsynced, then retires the
        intent. On an exception the intent is still held: call release()."""
        ev = {**event, "id": intent["id"], "timestamp": intent["timestamp"]}
        self.record(ev)
        self.intents.drop(intent["id"])
        return ev

    def release(self, intent: dict[str, Any]) -> None:
        """Spools the provisional event as it is, then retires the intent. If that fails too the
        intent stays on disk and is spooled when the client next opens."""
        self.spool.append(payload_of(intent))
        self.intents.drop(intent["id"])

    def _recover_intents(self) -> int:
        """Spools the provisional events of intents left by a process that died mid-request."""
        left = self.intents.orphans()
        if not left:
            return 0
        spooled = self.spool.pending_ids()
        n = 0
        for event_id, payload in left:
            if event_id not in spooled:
                self.spool.append(payload)
                n += 1
            self.intents.drop(event_id)
        return n

    def ensure_writable(self) -> None:
        """The fail-closed preflight: writes and fsyncs a probe frame. Raises SpoolFailed or
        SpoolFull when an event recorded now would not be kept."""
        if self._closed:
            raise SpoolFailed(self.spool.dir, "the client is closed")
        with self.spool.cond:
            if self.spool.pending >= self.spool.max_events:
                raise SpoolFull(self.spool.max_events, self.spool.pending)
        self.spool.append(b"", PROBE)

    @property
    def pending(self) -> int:
        """Events spooled and not yet delivered nor set aside."""
        with self.spool.cond:
            return self.spool.pending

    def rejected(self) -> list[dict[str, Any]]:
        """The events set aside after a permanent refusal, with the server's answer."""
        return self.spool.rejected()

    def flush(self, timeout: float | None = None) -> bool:
        """Waits until every event recorded so far is delivered or set aside; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.spool.cond:
            while self.spool.pending > 0:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self.spool.cond.wait(left if left is not None else 1.0)
        return True

    def close(self, timeout: float = 5.0) -> bool:
        """Stops taking events, delivers what it can within ``timeout``, stops the thread and
        releases the spool. Undelivered events stay in the spool for the next start. Returns
        whether everything was delivered."""
        if self._closed:
            return True
        self._closed = True
        done = self.flush(timeout)
        self._stop.set()
        with self.spool.cond:
            self.spool.cond.notify_all()
        if self._thread is not None:
            self._thread.join(self.transport.timeout + 1)
        if self._thread is None or not self._thread.is_alive():
            self.spool.close()
            self.transport.close()
        return done

    def __enter__(self) -> EvidentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ delivery

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="evident-delivery", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self.spool.cond:
                while not self._stop.is_set() and not self.spool.acked < self.spool.synced:
                    self.spool.cond.wait()
            if self._stop.is_set():
                return
            try:
                payloads, end, nbytes = self.spool.read_batch(self.batch_size, self.batch_bytes)
                if payloads and not self._deliver(payloads):
                    return  # stopping: the batch stays in the spool
                self.spool.ack(end, len(payloads), nbytes)
            except Exception as e:  # the spool's disk failed: report, wait, try again
                self._report(e)
                self._stop.wait(1.0)

    def _deliver(self, payloads: list[bytes]) -> bool:
        """Posts the events until each has a receipt or is set aside; False when stopping."""
        items = list(payloads)
        attempt = 0
        streak_reported = False
        while items:
            if self._stop.is_set():
                return False
            try:
                r = self.transport.request("POST", self.path, b"[" + b",".join(items) + b"]")
            except (OSError, http.client.HTTPException) as e:
                if not streak_reported:
                    log.warning("evident: server unreachable (%s); %d events wait in the spool", e, self.pending)
                    streak_reported = True
                self._backoff(attempt, None)
                attempt += 1
                continue
            if r.status == 201:
                self.delivered += len(items)
                return True
            if r.status in PERMANENT:
                rest = self._refused(items, r)
                if rest is None:
                    return False
                items = rest
                attempt = 0
                continue
            if r.status not in (408, 429) and r.status < 500:
                # 401, 403, 404, 415: a configuration fault that an operator can fix. Keep the
                # events and keep trying; dropping them would lose the audit trail.
                if not streak_reported:
                    code = r.body.get("code") if isinstance(r.body, dict) else None
                    self._report(EvidentError(str(code or r.status), f"evident answered {r.status} {code}; retrying"))
                    streak_reported = True
            self._backoff(attempt, r.retry_after())
            attempt += 1
        return True

    def _refused(self, items: list[bytes], r: Response) -> list[bytes] | None:
        """Sets aside the events a 400/409/413 names, and returns those left to send. When the
        answer names no event, the batch is sent in halves until the refused one is alone.
        None: stopping."""
        body = r.body if isinstance(r.body, dict) else {}
        bad: set[int] = set()
        if r.status == 400:
            for issue in body.get("issues") or []:
                if isinstance(issue, dict) and isinstance(issue.get("item"), int) and 0 <= issue["item"] < len(items):
                    bad.add(issue["item"])
            if not bad and isinstance(body.get("item"), int) and 0 <= body["item"] < len(items):
                bad.add(body["item"])
        elif r.status == 409 and isinstance(body.get("id"), str):
            bad = {i for i, p in enumerate(items) if _event_of(p).get("id") == body["id"]}
            # Two events of the batch carry that id (the same id recorded twice with other
            # content): the server refused the batch for the pair, not for either one. Sent in
            # halves, the one recorded first lands and only a later one is refused.
            if len(bad) > 1:
                bad = set()
        if not bad:
            if len(items) == 1:
                bad = {0}
            else:
                half = len(items) // 2
                for part in (items[:half], items[half:]):
                    if not self._deliver(part):
                        return None
                return []
        for i in sorted(bad):
            self._set_aside(items[i], r)
        return [p for i, p in enumerate(items) if i not in bad]

    def _set_aside(self, payload: bytes, r: Response) -> None:
        event = _event_of(payload)
        body = r.body if isinstance(r.body, dict) else {"body": r.body}
        code = str(body.get("code") or r.status)
        self.spool.set_aside({"rejected_at": utc_now(), "status": r.status, "code": code, "answer": body, "event": event})
        self.rejected_count += 1
        err = DeliveryRejected(str(event.get("id")), r.status, code, body)
        log.error("evident: %s; set aside in %s/rejected.jsonl", err, self.spool.dir)
        if self.on_rejected is not None:
            try:
                self.on_rejected(err, event)
            except Exception:
                log.exception("evident: on_rejected raised")

    def _backoff(self, attempt: int, retry_after: float | None) -> None:
        cap = min(self.retry_max, self.retry_base * (2 ** min(attempt, 30)))
        delay = random.uniform(cap / 2, cap)  # jitter, so many clients do not return at once
        if retry_after is not None:
            delay = max(delay, retry_after + random.uniform(0, self.retry_base))
        self._stop.wait(delay)

    def _report(self, e: BaseException) -> None:
        log.error("evident: %s", e)
        if self.on_error is not None:
            try:
                self.on_error(e)
            except Exception:
                log.exception("evident: on_error raised")


def _event_of(payload: bytes) -> dict[str, Any]:
    """A spooled event; a payload that is not a JSON object comes back as {"payload": ...}
    (kept as text if it is not JSON at all): never a reason to stop delivering."""
    try:
        ev = json.loads(payload)
    except ValueError:
        return {"payload": payload.decode("utf-8", "replace")}
    return ev if isinstance(ev, dict) else {"payload": ev}
