"""Every failure the client reports carries a stable ``code``, the same codes as evident's own
(docs/errors.md). Callers act on ``code``, never on the message."""

from __future__ import annotations

from typing import Any


class EvidentError(Exception):
    """A failure with a stable code and the details a human needs."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.details = details


class ValidationError(EvidentError, ValueError):
    """The event breaks a rule; ``issues`` lists every field at fault with the rule it broke."""

    def __init__(self, issues: list[dict[str, str]]) -> None:
        first = issues[0]
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        message = f"{first['field']}: {first['message']} [rule {first['rule']}]{more}"
        super().__init__("VALIDATION_FAILED", message, issues=issues)
        self.issues = issues


class SpoolFull(EvidentError):
    """The spool holds its limit of undelivered events; the event was not accepted."""

    def __init__(self, limit: int, pending: int, what: str = "events") -> None:
        super().__init__(
            "SPOOL_FULL",
            f"the spool holds {pending} undelivered {what}, its limit is {limit}",
            limit=limit,
            pending=pending,
        )


class SpoolFailed(EvidentError):
    """The spool cannot be written or fsynced; the event was not accepted."""

    def __init__(self, path: str, cause: BaseException | str) -> None:
        super().__init__("SPOOL_FAILED", f"the spool at {path} cannot be written: {cause}", path=path, cause=str(cause))


class DeliveryRejected(EvidentError):
    """The server refused a spooled event for good (400, 409). It was set aside in the
    spool's rejected file, never dropped."""

    def __init__(self, event_id: str, status: int, server_code: str, body: Any) -> None:
        super().__init__(
            "DELIVERY_REJECTED",
            f"the server refused event {event_id} with {status} {server_code}",
            id=event_id,
            status=status,
            server_code=server_code,
            body=body,
        )
