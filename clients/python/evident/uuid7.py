"""RFC 9562 §5.7 UUIDv7: a 48-bit Unix millisecond timestamp, version 7, the RFC 9562 variant,
and random bits. Within one millisecond a 12-bit counter in rand_a (§6.2 method 1) keeps the ids
of one process in creation order, so the spool's order and the id order agree."""

from __future__ import annotations

import os
import threading
import time

_lock = threading.Lock()
_last_ms = 0
_seq = 0


def uuid7(now_ms: int | None = None) -> str:
    global _last_ms, _seq
    rand = bytearray(os.urandom(16))
    with _lock:
        ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        if ms <= _last_ms:
            _seq = (_seq + 1) & 0xFFF
            if _seq == 0:
                _last_ms += 1  # the counter rolled over: borrow the next millisecond
            ms = _last_ms
        else:
            _last_ms = ms
            _seq = rand[6] & 0x07  # a random start that leaves room to count up
        seq = _seq
    b = rand
    b[0:6] = ms.to_bytes(6, "big")
    b[6] = 0x70 | (seq >> 8)
    b[7] = seq & 0xFF
    b[8] = 0x80 | (b[8] & 0x3F)
    h = b.hex()
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
