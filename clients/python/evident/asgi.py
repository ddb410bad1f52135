"""EvidentMiddleware: one audit event per HTTP request, for FastAPI and any Starlette app (pure
ASGI, no framework import at module load).

The event says who (``actor``), what (the lower-case method and the route *pattern*, such as
``get /patients/{patient_id}``: never the raw path, which may hold personal data), which
resource (from the path parameters), the result (2xx and 3xx success, 401 and 403 denied, the
rest failure), where from (the peer's address; X-Forwarded-For only with ``trust_proxy``), the
user agent, a request id and the duration. Bodies, cookies and Authorization headers are never
read.

The event is spooled (fsynced) before the response starts, so a client that saw the answer
can count on its audit record. Fail-open by default: a spool failure is reported loudly and
the request still succeeds. Fail-closed routes probe the spool before the handler runs and
answer 503 when it cannot be written, so the handler's side effect does not happen.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Callable

from .errors import EvidentError, ValidationError
from .request_facts import (
    UNMATCHED,
    Matcher,
    actor_of,
    default_user,
    fit,
    headers_of,
    is_ip,
    match_route,
    matcher,
    request_of,
    resource_of,
    unmap,
)
from .uuid7 import uuid7

log = logging.getLogger("evident")


class EvidentMiddleware:
    def __init__(
        self,
        app: Any,
        client: Any,
        *,
        actor: Callable[[Any], Any] | None = None,
        resource: Callable[[Any], tuple[str, str] | None] | None = None,
        skip: Matcher = (),
        fail_closed: Matcher = False,
        trust_proxy: bool | int = False,
        request_id_header: str = "x-request-id",
        on_error: Callable[[BaseException, dict[str, Any] | None], None] | None = None,
    ) -> None:
        self.app = app
        self.client = client
        self.actor = actor
        self.resource = resource
        self.skip = matcher(skip)
        self.fail_closed = matcher(fail_closed)
        self.trust_proxy = trust_proxy
        self.request_id_header = request_id_header.lower().encode("latin-1")
        self.on_error = on_error
        self.failures = 0  # events that could not be spooled
        self.fields_refused = 0  # events recorded without the fields a handler added, which broke a rule

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"].upper()
        pattern = self._pattern_before(scope)
        if pattern is not None and self.skip(method, pattern):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        closed = pattern is not None and self.fail_closed(method, pattern)
        started = time.perf_counter()
        headers = headers_of(scope)
        request_id = headers.get(self.request_id_header.decode("latin-1"))
        generated = request_id is None
        if generated:
            request_id = uuid7()
        intent: dict[str, Any] | None = None
        if closed:
            # Write-ahead: the request's provisional event is durable before the app runs, or
            # the request is refused here, before any side effect.
            try:
                arrived, _ = self._event(scope, headers, method, pattern, 0, started, request_id)
                intent = await loop.run_in_executor(None, self.client.begin, provisional(arrived))
            except Exception as e:
                self._report(e, None)
                await _refuse(send, e)
                return
        done = False
        failed: BaseException | None = None

        async def record(status: int) -> None:
            nonlocal done, failed
            done = True
            final = pattern or self._pattern_after(scope)
            if intent is None and final is not None and self.skip(method, final):
                return
            event: dict[str, Any] | None = None
            try:
                # A getter that raises (actor, resource) is a failure to audit, not a failed request.
                event, base = self._event(scope, headers, method, final, status, started, request_id)
                if intent is not None:
                    await loop.run_in_executor(None, self._complete, intent, event, base)
                else:
                    await loop.run_in_executor(None, self._record, event, base)
            except Exception as e:
                event = event or {"action": f"{method.lower()} {final or UNMATCHED}"}
                self._report(e, event)
                if intent is not None:
                    # The outcome could not be written: the provisional event stands (released
                    # now, or spooled at the next open) and the response becomes a 503.
                    failed = e
                    try:
                        await loop.run_in_executor(None, self.client.release, intent)
                    except Exception as inner:
                        self._report(inner, intent)

        swallow = False

        async def audited_send(message: dict) -> None:
            nonlocal swallow
            if swallow:
                return
            if message["type"] == "http.response.start" and not done:
                await record(int(message["status"]))
                if failed is not None:
                    swallow = True
                    await _refuse(send, failed)
                    return
                if generated:
                    message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, audited_send)
        except BaseException:
            if not done:
                await record(500)
            raise
        if not done:
            await record(500)

    # ------------------------------------------------------------------ the event

    def _record(self, event: dict[str, Any], base: dict[str, Any]) -> None:
        self._write(self.client.record, event, base)

    def _complete(self, intent: dict[str, Any], event: dict[str, Any], base: dict[str, Any]) -> None:
        self._write(lambda e: self.client.complete(intent, e), event, base)

    def _write(self, write: Callable[[dict[str, Any]], Any], event: dict[str, Any], base: dict[str, Any]) -> None:
        """Writes the event; if what the handler added broke a rule, the record of the request itself."""
        try:
            write(event)
        except ValidationError as e:
            if event == base:
                raise
            self.fields_refused += 1
            log.error("evident: fields added to %s refused (%s); recorded without them", event.get("action"), e)
            if self.on_error is not None:
                self.on_error(e, event)
            issues = [{k: str(i.get(k)) for k in ("field", "rule")} for i in e.issues[:20]]
            write({**base, "metadata": {**base["metadata"], "audit_fields_refused": issues}})

    def _event(self, scope: dict, headers: dict[str, str], method: str, pattern: str | None, status: int, started: float, request_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The event, and the same without what the handler added (kept if that breaks a rule)."""
        request = request_of(scope)
        actor_id, actor_type = actor_of(self.actor(request) if self.actor else default_user(scope))
        resource = self.resource(request) if self.resource else None
        rtype, rid = resource if resource else resource_of(pattern, scope.get("path_params") or {})
        ip, raw_client = self._ip(scope, headers)
        changed: list[str] = []
        metadata: dict[str, Any] = {}
        event: dict[str, Any] = {
            "actor_id": fit(actor_id, 256, "actor_id", changed),
            "actor_type": actor_type,
            "action": fit(f"{method.lower()} {pattern or UNMATCHED}", 128, "action", changed),
            "resource_type": fit(rtype, 128, "resource_type", changed),
            "resource_id": fit(rid, 256, "resource_id", changed),
            "result": "success" if status < 400 else "denied" if status in (401, 403) else "failure",
            "ip_address": ip,
        }
        ua = headers.get("user-agent")
        if ua:
            event["user_agent"] = fit(ua, 1024, "user_agent", changed)
        ours: dict[str, Any] = {
            "method": method,
            "route": pattern or UNMATCHED,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "request_id": fit(request_id, 256, "request_id", changed),
        }
        if changed:
            # Values from the wire are made to fit rather than losing the event; this says which.
            ours["truncated"] = changed
        if raw_client is not None:
            ours["client_address"] = raw_client
        base = {**event, "metadata": dict(ours)}
        state = scope.get("state")
        added = state.get("audit") if isinstance(state, dict) else None
        if isinstance(added, dict):
            for k, v in added.items():
                if k == "metadata" and isinstance(v, dict):
                    metadata.update(v)
                elif v is not None:
                    event[k] = v
        metadata.update(ours)
        event["metadata"] = metadata
        return event, base

    def _ip(self, scope: dict, headers: dict[str, str]) -> tuple[str, str | None]:
        if self.trust_proxy is not False:
            chain = [p.strip() for p in headers.get("x-forwarded-for", "").split(",") if p.strip()]
            if chain:
                # True: the proxies in front are all trusted, the first address is the client's.
                # A number n: only the last n hops are ours; the address before them is the client's.
                hops = self.trust_proxy if self.trust_proxy is not True else len(chain)
                candidate = chain[max(0, len(chain) - int(hops))]
                if is_ip(candidate):
                    return unmap(candidate), None
        client = scope.get("client")
        host = client[0] if client else None
        if host and is_ip(host):
            return unmap(host), None
        # No IP from the server (a Unix socket, a test transport): the unspecified address,
        # with what the server did give kept beside it.
        return "0.0.0.0", str(host) if host else None

    # ------------------------------------------------------------------ route patterns

    def _pattern_before(self, scope: dict) -> str | None:
        """The pattern the router is about to match, found with the router's own matchers, so
        that skip and fail-closed are decided before the handler runs."""
        target = scope.get("app") or self.app
        router = getattr(target, "router", target)
        routes = getattr(router, "routes", None)
        if not routes:
            return None
        try:
            return match_route(routes, scope, "")
        except Exception:
            return None

    def _pattern_after(self, scope: dict) -> str | None:
        route = scope.get("route")
        fmt = getattr(route, "path_format", None)
        return fmt if isinstance(fmt, str) else None

    def _report(self, e: BaseException, event: dict[str, Any] | None) -> None:
        self.failures += 1
        code = getattr(e, "code", type(e).__name__)
        what = event.get("action") if event else "a fail-closed probe"
        log.error("evident: audit event NOT recorded (%s) for %s: %s", code, what, e)
        if self.on_error is not None:
            try:
                self.on_error(e, event)
            except Exception:
                log.exception("evident: on_error raised")


OUTCOME_UNKNOWN = "the process ended before the outcome was recorded"


def provisional(event: dict[str, Any]) -> dict[str, Any]:
    """The event a fail-closed request leaves if its outcome is never recorded: result failure,
    ``metadata.evident_outcome: "unknown"``, no status or duration (not known yet)."""
    metadata = {k: v for k, v in event.get("metadata", {}).items() if k not in ("status", "duration_ms")}
    return {**event, "result": "failure", "reason": OUTCOME_UNKNOWN, "metadata": {**metadata, "evident_outcome": "unknown"}}


async def _refuse(send: Callable, e: BaseException) -> None:
    code = getattr(e, "code", "SPOOL_FAILED")
    body = json.dumps({"code": code, "message": "the audit log cannot record this request; it was not performed"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"retry-after", b"5")],
        }
    )
    await send({"type": "http.response.body", "body": body})


__all__ = ["EvidentMiddleware", "EvidentError", "Matcher"]
