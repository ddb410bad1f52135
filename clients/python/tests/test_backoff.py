"""Retry timing: Retry-After in seconds, as an HTTP date, or the body's retry_after_ms; the
exponential backoff with jitter stays within its bounds and never undercuts the server."""

import support  # noqa: F401  first: it puts clients/python on sys.path

import email.utils
import time
import unittest
from unittest import mock

from evident import EvidentClient
from evident.transport import Response

from support import temp_dir


class BackoffTest(unittest.TestCase):
    def test_retry_after_forms(self) -> None:
        self.assertEqual(Response(503, {"retry-after": "3"}, None).retry_after(), 3.0)
        date = email.utils.formatdate(time.time() + 30, usegmt=True)
        self.assertAlmostEqual(Response(429, {"retry-after": date}, None).retry_after(), 30, delta=2)
        self.assertEqual(Response(503, {}, {"code": "STORE_BUSY", "retry_after_ms": 1500}).retry_after(), 1.5)
        self.assertIsNone(Response(502, {}, "bad gateway").retry_after())
        self.assertIsNone(Response(503, {"retry-after": "soon"}, None).retry_after())

    def test_backoff_grows_with_jitter_and_honours_retry_after(self) -> None:
        c = EvidentClient("http://127.0.0.1:9", "evk_x", "default", temp_dir(self), start=False, retry_base=0.1, retry_max=5)
        self.addCleanup(c.close, 0)
        waits: list[float] = []
        with mock.patch.object(c._stop, "wait", lambda d: waits.append(d)):
            for attempt in range(10):
                c._backoff(attempt, None)
            c._backoff(0, 2.0)
        for attempt, w in enumerate(waits[:10]):
            cap = min(5, 0.1 * 2**attempt)
            self.assertTrue(cap / 2 <= w <= cap, (attempt, w))
        self.assertGreaterEqual(waits[10], 2.0)
        self.assertLess(waits[10], 2.2)


if __name__ == "__main__":
    unittest.main()
