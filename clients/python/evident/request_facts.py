"""What the middleware reads from an ASGI request: the route pattern (with the router's own
matchers), the actor, the resource, the headers, the client address; and how wire values are
made to fit the event schema."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable, Iterable, Union

from .validate import ACTOR_TYPES, utf16_len

Matcher = Union[bool, Iterable[str], Callable[[str, str], bool]]
UNMATCHED = "(unmatched)"
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def match_route(routes: Iterable[Any], scope: dict, prefix: str) -> str | None:
    partial = None
    for route in routes:
        kind, child = route.matches(scope)
        name = getattr(kind, "name", "")
        if name == "FULL":
            inner = getattr(route, "routes", None)
            path = getattr(route, "path", "")
            if inner is not None and not hasattr(route, "endpoint"):
                found = match_route(inner, {**scope, **child}, prefix + path)
                return found if found is not None else prefix + path + "/{path}"
            return prefix + getattr(route, "path_format", path)
        if name == "PARTIAL" and partial is None:
            partial = prefix + getattr(route, "path_format", "")
    return partial


def matcher(spec: Matcher) -> Callable[[str, str], bool]:
    if spec is True or spec is False:
        return lambda method, pattern: bool(spec)
    if callable(spec):
        return spec  # type: ignore[return-value]
    entries = [s.strip() for s in spec]  # type: ignore[union-attr]

    def match(method: str, pattern: str) -> bool:
        action = f"{method.lower()} {pattern}"
        for s in entries:
            target = pattern
            if " " in s:  # "POST /patients/{patient_id}": one method only
                m, p = s.split(" ", 1)
                s, target = f"{m.lower()} {p.strip()}", action
            if s == target or (s.endswith("*") and target.startswith(s[:-1])):
                return True
        return False

    return match


def headers_of(scope: dict) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in scope.get("headers") or []:
        name = k.decode("latin-1").lower()
        if name in ("authorization", "cookie", "proxy-authorization"):
            continue  # never read, never recorded
        value = v.decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def unmap(s: str) -> str:
    """``::ffff:192.0.2.1`` (an IPv4 peer on a dual-stack socket) is written as ``192.0.2.1``."""
    try:
        mapped = ipaddress.ip_address(s)
    except ValueError:
        return s
    v4 = getattr(mapped, "ipv4_mapped", None)
    return str(v4) if v4 is not None else s


def is_ip(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
        return "%" not in s
    except ValueError:
        return False


def request_of(scope: dict) -> Any:
    try:
        from starlette.requests import Request

        return Request(scope)
    except ImportError:
        return scope


def default_user(scope: dict) -> Any:
    state = scope.get("state")
    user = state.get("user") if isinstance(state, dict) else None
    return user if user is not None else scope.get("user")


def actor_of(user: Any) -> tuple[str, str]:
    anonymous = ("anonymous", "anonymous")
    if user is None or getattr(user, "is_authenticated", True) is False:
        return anonymous
    if isinstance(user, tuple) and len(user) == 2:
        return str(user[0]), str(user[1]) if user[1] in ACTOR_TYPES else "user"
    if isinstance(user, str):
        return (user, "user") if user else anonymous
    get = user.get if isinstance(user, dict) else lambda k: _attr(user, k)
    ident = None
    for k in ("actor_id", "id", "user_id", "sub", "identity", "username", "display_name", "email"):
        v = get(k)
        if v not in (None, ""):
            ident = str(v)
            break
    if ident is None:
        return anonymous
    kind = get("actor_type") or get("type")
    if kind not in ACTOR_TYPES:
        kind = "admin" if get("is_admin") is True else "user"
    return ident, kind


def _attr(obj: Any, name: str) -> Any:
    try:
        return getattr(obj, name, None)
    except Exception:  # e.g. starlette's BaseUser.identity raises NotImplementedError
        return None


def resource_of(pattern: str | None, params: dict[str, Any]) -> tuple[str, str]:
    """The rule of evident's Node middleware: ``resource_id`` is the value of the route's last
    parameter (``*`` when it has none); ``resource_type`` is the literal segment just before
    that parameter when the route ends with it (``/patients/{patient_id}`` → patients), else
    the route's last literal segment (``/patients/{patient_id}/notes`` → notes, ``/`` → root)."""
    if not pattern:
        return "route", UNMATCHED
    segments = [s for s in pattern.split("/") if s]
    is_param = [s.startswith("{") for s in segments]
    last = max((i for i, p in enumerate(is_param) if p), default=-1)

    def literal_before(end: int) -> str:
        for i in range(end - 1, -1, -1):
            if not is_param[i]:
                return segments[i]
        return "root"

    kind = literal_before(last) if last >= 0 and last == len(segments) - 1 else literal_before(len(segments))
    value = None
    if last >= 0:
        name = segments[last][1:-1].split(":", 1)[0]
        if params.get(name) not in (None, ""):
            value = str(params[name])
    return kind, value if value is not None else "*"


def fit(value: str, limit: int, field: str, changed: list[str]) -> str:
    out = CONTROL.sub("\ufffd", value)[:limit]
    while utf16_len(out) > limit:
        out = out[:-1]
    if not out:
        out = "\ufffd"
    if out != value:
        changed.append(field)
    return out
