"""Client-side checks of an audit event, the rules of evident's event schema
(src/core/event/schema.ts): a bad event fails in the caller's hands, naming the field and the
rule, instead of being refused by the server later. The server checks again; it decides."""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
from typing import Any, Callable

from .errors import ValidationError

ACTOR_TYPES = ("user", "service", "admin", "system", "anonymous")
RESULTS = ("success", "failure", "denied")
REQUIRED = ("actor_id", "actor_type", "action", "resource_type", "resource_id", "result")
JSON_FIELDS = ("old_values", "new_values", "metadata")
FIELDS = frozenset(
    (
        "id",
        "timestamp",
        *REQUIRED,
        "ip_address",
        "user_agent",
        "session_id",
        "reason",
        "changed_fields",
        *JSON_FIELDS,
    )
)
# Maximum lengths in UTF-16 code units, as the server (JavaScript) counts them.
LINE_LIMITS = {
    "actor_id": 256,
    "action": 128,
    "resource_type": 128,
    "resource_id": 256,
    "user_agent": 1024,
    "session_id": 256,
}
REASON_MAX = 4096
CHANGED_FIELDS_MAX = 256
JSON_MAX_BYTES = 65536
JSON_MAX_DEPTH = 16
EVENT_MAX_BYTES = 262144
SAFE_INT = 2**53 - 1
FORBIDDEN_KEYS = frozenset(("__proto__", "constructor", "prototype"))

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z$")
SINGLE_LINE = re.compile(r"^[^\x00-\x1f\x7f]*$")
FREE_TEXT = re.compile(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")


def utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def check_event(event: Any) -> None:
    """Raises ValidationError listing every fault, or returns None."""
    issues: list[dict[str, str]] = []

    def add(field: str, rule: str, message: str) -> None:
        issues.append({"field": field, "rule": rule, "message": message})

    if not isinstance(event, dict):
        add("(event)", "type", "an event must be a dict")
        raise ValidationError(issues)
    for key in event:
        if key not in FIELDS:
            add(str(key), "unknown_field", "is not a field of an audit event (put extra data in metadata)")
    for f in REQUIRED:
        if event.get(f) is None:
            add(f, "required", "is required")
    for key, value in event.items():
        if key in FIELDS and value is None and key not in REQUIRED:
            add(key, "not_null", "must not be None: omit an optional field instead")

    for f, limit in LINE_LIMITS.items():
        v = event.get(f)
        if v is not None:
            _line(f, v, limit, add)
    for f, allowed in (("actor_type", ACTOR_TYPES), ("result", RESULTS)):
        v = event.get(f)
        if v is not None and v not in allowed:
            add(f, "enum", f"must be one of {', '.join(allowed)}")
    _optional(event, "id", add, lambda v: None if isinstance(v, str) and UUID_RE.match(v) else ("format", "must be a lowercase UUID"))
    _optional(event, "timestamp", add, _timestamp_problem)
    _ip(event, add)
    reason = event.get("reason")
    if reason is not None:
        if not isinstance(reason, str):
            add("reason", "type", "must be a string")
        elif reason == "":
            add("reason", "min_length", "must not be empty")
        elif utf16_len(reason) > REASON_MAX:
            add("reason", "max_length", f"must be at most {REASON_MAX} characters")
        elif not FREE_TEXT.match(reason):
            add("reason", "format", "has control characters that are not allowed here")
    changed = event.get("changed_fields")
    if changed is not None:
        if not isinstance(changed, (list, tuple)):
            add("changed_fields", "type", "must be a list")
        elif len(changed) > CHANGED_FIELDS_MAX:
            add("changed_fields", "max_items", f"must have at most {CHANGED_FIELDS_MAX} items")
        else:
            for i, name in enumerate(changed):
                _line(f"changed_fields[{i}]", name, 256, add)
    for f in JSON_FIELDS:
        v = event.get(f)
        if v is None:
            continue
        if not isinstance(v, dict):
            add(f, "type", "must be a dict (a JSON object)")
            continue
        before = len(issues)
        _walk(v, f, 1, add)  # the server counts the event itself as depth 0
        if len(issues) == before:
            size = len(_dumps(v))
            if size > JSON_MAX_BYTES:
                add(f, "max_bytes", f"is {size} bytes as JSON; at most {JSON_MAX_BYTES}")
    if not issues:
        size = len(_dumps(event))
        if size > EVENT_MAX_BYTES:
            add("(event)", "max_bytes", f"is {size} bytes; at most {EVENT_MAX_BYTES}")
    if issues:
        raise ValidationError(issues)


def _dumps(v: Any) -> bytes:
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _line(field: str, v: Any, limit: int, add: Callable[[str, str, str], None]) -> None:
    if not isinstance(v, str):
        add(field, "type", "must be a string")
    elif v == "":
        add(field, "min_length", "must not be empty")
    elif utf16_len(v) > limit:
        add(field, "max_length", f"must be at most {limit} characters")
    elif not SINGLE_LINE.match(v):
        add(field, "format", "must be one line without control characters")
    elif _has_lone_surrogate(v):
        add(field, "unicode", "contains a lone surrogate (not valid Unicode)")


def _optional(event: dict, field: str, add: Callable[[str, str, str], None], problem: Callable[[Any], Any]) -> None:
    v = event.get(field)
    if v is None:
        return
    found = problem(v)
    if found:
        add(field, *found)


def _timestamp_problem(v: Any) -> tuple[str, str] | None:
    if not isinstance(v, str):
        return ("type", "must be a string")
    m = TS_RE.match(v)
    if not m:
        return ("format", "must be RFC 3339 in UTC, like 2026-01-31T23:59:59.123Z (uppercase T and Z)")
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    try:
        datetime.datetime(max(y, 1), mo, d, h, mi, s)
    except ValueError:
        return ("format", "is not a real date and time (leap seconds are not accepted)")
    return None


def _ip(event: dict, add: Callable[[str, str, str], None]) -> None:
    v = event.get("ip_address")
    if v is None:
        if event.get("actor_type") != "system":
            add("ip_address", "required", 'is required unless actor_type is "system"')
        return
    if not isinstance(v, str):
        add("ip_address", "type", "must be a string")
        return
    try:
        if "%" in v or len(v) > 45:
            raise ValueError(v)
        ipaddress.ip_address(v)
    except ValueError:
        add("ip_address", "format", "must be an IPv4 (dotted quad) or IPv6 address")


def _has_lone_surrogate(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _walk(value: Any, path: str, depth: int, add: Callable[[str, str, str], None]) -> None:
    if isinstance(value, str):
        if _has_lone_surrogate(value):
            add(path, "unicode", "contains a lone surrogate (not valid Unicode)")
        return
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if abs(value) > SAFE_INT:
            add(path, "unsafe_integer", "is an integer beyond ±(2^53-1): send it as a string")
        return
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            add(path, "type", "must be a finite number")
        return
    if depth > JSON_MAX_DEPTH:
        add(path, "max_depth", f"nests deeper than {JSON_MAX_DEPTH} levels")
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _walk(v, f"{path}[{i}]", depth + 1, add)
        return
    if not isinstance(value, dict):
        add(path, "type", "must be plain JSON (dict, list, str, int, float, bool or None)")
        return
    for k, v in value.items():
        p = f"{path}.{k}"
        if not isinstance(k, str):
            add(p, "type", "keys must be strings")
        elif k in FORBIDDEN_KEYS:
            add(p, "forbidden_key", f'the key "{k}" is not allowed')
        elif _has_lone_surrogate(k):
            add(p, "unicode", "key contains a lone surrogate")
        else:
            _walk(v, p, depth + 1, add)


def utc_now() -> str:
    """RFC 3339 UTC with milliseconds and Z, as the server writes timestamps."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
