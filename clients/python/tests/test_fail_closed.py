"""Fail-closed routes: when the spool cannot be written, they answer 503 before the handler
runs, so its side effect does not happen; fail-open routes still answer, and say so loudly."""


from __future__ import annotations

import support  # noqa: F401  first: it puts clients/python on sys.path

import os
import resource
import shutil
import signal
import unittest
from typing import Any

from evident import EvidentClient, uuid7

import clinic
from support import ServedApp, client_events, http, read_log, server, temp_dir


class FailClosedTest(unittest.TestCase):
    def setUp(self) -> None:
        self.srv = server()
        self.effects: list[str] = []
        self.reported: list[tuple[str, Any]] = []

    def serve(self, spool: str, **client_options: Any) -> tuple[ServedApp, EvidentClient, Any]:
        client = EvidentClient(self.srv["url"], self.srv["ingest"], "failclosed", spool, **client_options)
        self.addCleanup(client.close, 5)
        app, mw = clinic.build(
            client,
            self.effects,
            fail_closed=["post /transfers/{patient_id}"],
            on_error=lambda e, ev: self.reported.append((getattr(e, "code", "?"), ev)),
        )
        served = ServedApp(app)
        self.addCleanup(served.stop)
        return served, client, mw

    def test_disk_full_refuses_the_protected_route_before_its_side_effect(self) -> None:
        spool = temp_dir(self)
        app, client, mw = self.serve(spool)
        self.assertEqual(http("POST", app.url + "/transfers/p-1", {"X-User": "alice"})[0], 200)
        self.assertEqual(self.effects, ["transfer p-1"])
        self.assertTrue(client.flush(10))
        seg = os.path.join(spool, sorted(n for n in os.listdir(spool) if n.startswith("seg-"))[-1])
        # From here the kernel refuses to grow the spool's file (EFBIG), as a full disk would.
        old = resource.getrlimit(resource.RLIMIT_FSIZE)
        old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(seg), old[1]))
        try:
            status, _, body = http("POST", app.url + "/transfers/p-2", {"X-User": "alice"})
            self.assertEqual(status, 503)
            self.assertEqual(body["code"], "SPOOL_FAILED")
            self.assertEqual(self.effects, ["transfer p-1"])  # the handler never ran
            # A fail-open route answers, and the lost event is reported and counted.
            self.assertEqual(http("GET", app.url + "/patients/p-1", {"X-User": "alice"})[0], 200)
            self.assertEqual(mw.failures, 2)
            self.assertEqual([code for code, _ in self.reported], ["SPOOL_FAILED", "SPOOL_FAILED"])
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, old)
            signal.signal(signal.SIGXFSZ, old_handler)
        # Room again: the protected route works and is audited.
        rid = uuid7()
        self.assertEqual(http("POST", app.url + "/transfers/p-3", {"X-User": "alice", "X-Request-ID": rid})[0], 200)
        self.assertEqual(self.effects, ["transfer p-1", "transfer p-3"])
        self.assertTrue(client.flush(10))
        events = client_events(read_log(self.srv["url"], self.srv["read"], "failclosed"))
        self.assertEqual([e["resource_id"] for e in events if e["metadata"]["request_id"] == rid], ["p-3"])
        self.assertNotIn("p-2", [e["resource_id"] for e in events if e["action"].startswith("post ")])

    def test_a_removed_spool_refuses_the_protected_route(self) -> None:
        spool = temp_dir(self)
        app, client, mw = self.serve(spool)
        shutil.rmtree(spool)
        status, _, body = http("POST", app.url + "/transfers/p-1", {"X-User": "alice"})
        self.assertEqual((status, body["code"]), (503, "SPOOL_FAILED"))
        self.assertEqual(self.effects, [])
        self.assertEqual(http("GET", app.url + "/patients/p-1")[0], 200)
        self.assertEqual(mw.failures, 2)

    def test_a_full_spool_refuses_the_protected_route(self) -> None:
        app, client, mw = self.serve(temp_dir(self), max_events=2, start=False)
        for _ in range(2):
            self.assertEqual(http("GET", app.url + "/patients/p-1")[0], 200)
        status, _, body = http("POST", app.url + "/transfers/p-1", {"X-User": "alice"})
        self.assertEqual((status, body["code"]), (503, "SPOOL_FULL"))
        self.assertEqual(self.effects, [])


if __name__ == "__main__":
    unittest.main()
