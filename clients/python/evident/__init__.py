"""evident's Python client: durable audit events for `evident serve`, and ASGI middleware.

The client uses the standard library only; ``evident.asgi`` works with any ASGI app (FastAPI,
Starlette) without importing them at load time."""

from .client import EvidentClient
from .errors import DeliveryRejected, EvidentError, SpoolFailed, SpoolFull, ValidationError
from .uuid7 import uuid7
from .validate import check_event

__all__ = [
    "EvidentClient",
    "EvidentError",
    "ValidationError",
    "SpoolFull",
    "SpoolFailed",
    "DeliveryRejected",
    "uuid7",
    "check_event",
]
__version__ = "0.1.0"
