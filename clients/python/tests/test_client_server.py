"""EvidentClient against a real evident serve: delivery in order exactly once, an outage, replay
on start, permanent refusals set aside and reported."""

import support  # noqa: F401  first: it puts clients/python on sys.path

import json
import os
import time
import unittest

from evident import DeliveryRejected, EvidentClient, uuid7
from evident.spool import Spool

from support import client_events, free_port, read_log, server, start_outage_server, stop, temp_dir


def event(i: int, **more: object) -> dict:
    return {
        "actor_id": f"user-{i % 3}",
        "actor_type": "user",
        "action": "read",
        "resource_type": "record",
        "resource_id": f"r-{i}",
        "result": "success",
        "ip_address": "192.0.2.7",
        **more,
    }


class ClientServerTest(unittest.TestCase):
    def setUp(self) -> None:
        self.srv = server()

    def client(self, log: str, spool: str | None = None, **kw: object) -> EvidentClient:
        c = EvidentClient(self.srv["url"], self.srv["ingest"], log, spool or temp_dir(self), retry_base=0.05, retry_max=0.5, **kw)
        self.addCleanup(c.close, 5)
        return c

    def test_every_event_delivered_once_in_order(self) -> None:
        c = self.client("client", batch_size=37)
        sent = [c.record(event(i, metadata={"i": i})) for i in range(300)]
        self.assertTrue(c.flush(30))
        self.assertEqual(c.pending, 0)
        got = client_events(read_log(self.srv["url"], self.srv["read"], "client"))
        self.assertEqual([e["id"] for e in got], [e["id"] for e in sent])
        self.assertEqual([e["timestamp"] for e in got], [e["timestamp"] for e in sent])
        self.assertEqual(got[5]["metadata"], {"i": 5})

    def test_replay_on_start(self) -> None:
        d = temp_dir(self)
        first = EvidentClient(self.srv["url"], self.srv["ingest"], "replay", d, start=False)
        sent = [first.record(event(i)) for i in range(25)]
        first.close(0)  # never started: every event stays in the spool
        again = self.client("replay", d)
        self.assertTrue(again.flush(20))
        got = client_events(read_log(self.srv["url"], self.srv["read"], "replay"))
        self.assertEqual([e["id"] for e in got], [e["id"] for e in sent])

    def test_a_lost_ack_sends_again_without_a_duplicate(self) -> None:
        d = temp_dir(self)
        c = EvidentClient(self.srv["url"], self.srv["ingest"], "lostack", d)
        sent = [c.record(event(i)) for i in range(10)]
        self.assertTrue(c.flush(20))
        c.close()
        os.unlink(os.path.join(d, "ack"))  # as if the process died between receipt and ack
        again = self.client("lostack", d)
        self.assertEqual(again.pending, 10)
        self.assertTrue(again.flush(20))
        ids = [e["id"] for e in client_events(read_log(self.srv["url"], self.srv["read"], "lostack"))]
        self.assertEqual(ids, [e["id"] for e in sent])

    def test_refused_events_are_set_aside_and_reported_not_dropped(self) -> None:
        d = temp_dir(self)
        # Events another writer left in the spool that the server refuses (400): written
        # straight to the spool, past the client-side checks.
        sp = Spool(d)
        good = [dict(event(i), id=uuid7(), timestamp="2026-01-01T00:00:00.000Z") for i in range(4)]
        bad = dict(event(99), id=uuid7(), timestamp="2026-01-01T00:00:00.000Z", ip_address="999.1.1.1")
        for e in (good[0], bad, good[1]):
            sp.append(json.dumps(e).encode())
        sp.close()
        reported: list[tuple[DeliveryRejected, dict]] = []
        c = self.client("rejects", d, on_rejected=lambda err, ev: reported.append((err, ev)))
        self.assertTrue(c.flush(20))
        # The same id with other content: 409.
        c.record(good[2])
        conflict = dict(good[2], resource_id="other")
        c.record(conflict)
        c.record(good[3])
        self.assertTrue(c.flush(20))
        got = client_events(read_log(self.srv["url"], self.srv["read"], "rejects"))
        self.assertEqual([e["id"] for e in got], [e["id"] for e in good])
        self.assertEqual(got[2]["resource_id"], good[2]["resource_id"])
        self.assertEqual([(err.code, err.details["status"], err.details["server_code"]) for err, _ in reported], [
            ("DELIVERY_REJECTED", 400, "VALIDATION_FAILED"),
            ("DELIVERY_REJECTED", 409, "ID_CONFLICT"),
        ])
        kept = c.rejected()
        self.assertEqual([r["event"] for r in kept], [bad, conflict])
        self.assertEqual(kept[0]["answer"]["issues"][0]["field"], "ip_address")

    def test_the_same_id_twice_in_one_batch_sets_aside_only_the_later(self) -> None:
        d = temp_dir(self)
        # Both in the spool before the client starts, so that they go in one batch: the server
        # refuses the batch (409) for the pair; the one recorded first must still land.
        first = dict(event(1), id=uuid7(), timestamp="2026-01-01T00:00:00.000Z")
        later = dict(first, resource_id="other")
        after = dict(event(2), id=uuid7(), timestamp="2026-01-01T00:00:00.000Z")
        sp = Spool(d)
        for e in (first, later, after):
            sp.append(json.dumps(e).encode())
        sp.close()
        c = self.client("twins", d)
        self.assertTrue(c.flush(20))
        got = client_events(read_log(self.srv["url"], self.srv["read"], "twins"))
        self.assertEqual([e["id"] for e in got], [first["id"], after["id"]])
        self.assertEqual(got[0]["resource_id"], first["resource_id"])
        kept = c.rejected()
        self.assertEqual([r["event"] for r in kept], [later])
        self.assertEqual(kept[0]["status"], 409)

    def test_a_spooled_payload_that_is_not_json_is_set_aside_and_the_rest_delivered(self) -> None:
        d = temp_dir(self)
        good = [dict(event(i), id=uuid7(), timestamp="2026-01-01T00:00:00.000Z") for i in range(2)]
        sp = Spool(d)
        sp.append(json.dumps(good[0]).encode())
        sp.append(b"")  # what a torn intent file made of an event before intents were renamed into place
        sp.append(json.dumps(good[1]).encode())
        sp.close()
        c = self.client("torn", d)
        self.assertTrue(c.flush(20))
        got = client_events(read_log(self.srv["url"], self.srv["read"], "torn"))
        self.assertEqual([e["id"] for e in got], [e["id"] for e in good])
        kept = c.rejected()
        self.assertEqual([(r["status"], r["event"]) for r in kept], [(400, {"payload": ""})])

    def test_outage_then_recovery(self) -> None:
        port = free_port()
        d = temp_dir(self)
        c = EvidentClient(f"http://127.0.0.1:{port}", os.environ["EVIDENT_TEST_OUTAGE_INGEST_KEY"], "outage", d, retry_base=0.05, retry_max=0.3)
        self.addCleanup(c.close, 5)
        sent = [c.record(event(i)) for i in range(50)]  # each returns: the server is down
        time.sleep(0.5)
        self.assertEqual(c.pending, 50)
        proc = start_outage_server(port)
        self.addCleanup(stop, proc)
        self.assertTrue(c.flush(30))
        got = client_events(read_log(f"http://127.0.0.1:{port}", os.environ["EVIDENT_TEST_OUTAGE_READ_KEY"], "outage"))
        self.assertEqual([e["id"] for e in got], [e["id"] for e in sent])


if __name__ == "__main__":
    unittest.main()
