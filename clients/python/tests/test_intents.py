"""Write-ahead intents of fail-closed routes (evident/intents.py), without a server: an intent is
durable before the app runs, never delivered while held, retired by its final event, and
spooled by the next client when its process died first, exactly once."""

import support  # noqa: F401  first: it puts clients/python on sys.path

import json
import os
import unittest

from evident import EvidentClient, uuid7
from evident.spool import Spool

from support import temp_dir


def event(**over: object) -> dict:
    ev = {
        "actor_id": "alice",
        "actor_type": "user",
        "action": "post /transfers/{patient_id}",
        "resource_type": "patient",
        "resource_id": "p-1",
        "result": "failure",
        "ip_address": "203.0.113.7",
        "reason": "the process ended before the outcome was recorded",
        "metadata": {"evident_outcome": "unknown"},
    }
    ev.update(over)
    return ev


def spooled(d: str) -> list[dict]:
    sp = Spool(d)
    try:
        out, _, _ = sp.read_batch(1_000_000, 1 << 40)
        return [json.loads(p) for p in out]
    finally:
        sp.close()


class IntentTest(unittest.TestCase):
    def client(self, d: str) -> EvidentClient:
        return EvidentClient("http://127.0.0.1:9", "evk_x", "default", d, start=False)

    def test_an_intent_is_a_durable_file_not_a_spooled_event_until_completed(self) -> None:
        d = temp_dir(self)
        c = self.client(d)
        intent = c.begin(event())
        self.assertEqual(os.listdir(os.path.join(d, "intents")), [intent["id"] + ".json"])
        self.assertEqual(c.pending, 0)
        final = {k: v for k, v in event(result="success", metadata={"status": 200}).items() if k != "reason"}
        c.complete(intent, final)
        self.assertEqual(os.listdir(os.path.join(d, "intents")), [])
        c.close(0.1)
        [ev] = spooled(d)
        self.assertEqual((ev["id"], ev["result"], ev["timestamp"]), (intent["id"], "success", intent["timestamp"]))

    def test_the_next_client_spools_an_orphan_once(self) -> None:
        d = temp_dir(self)
        c = self.client(d)
        orphan = c.begin(event(resource_id="p-2"))
        done = c.begin(event(resource_id="p-3"))
        # The process died after spooling p-3's final event, before removing its intent file.
        c.record({**event(resource_id="p-3", result="success"), "id": done["id"], "timestamp": done["timestamp"]})
        c.close(0.1)  # a close is no completion: both intent files stay
        again = self.client(d)
        self.assertEqual(again.recovered_intents, 1)
        again.close(0.1)
        events = spooled(d)
        self.assertEqual(sorted(e["resource_id"] for e in events), ["p-2", "p-3"])
        self.assertEqual(next(e for e in events if e["id"] == orphan["id"])["metadata"], {"evident_outcome": "unknown"})
        self.assertEqual(os.listdir(os.path.join(d, "intents")), [])

    def test_a_write_killed_midway_leaves_no_torn_intent_to_spool(self) -> None:
        d = temp_dir(self)
        c = self.client(d)
        whole = c.begin(event(resource_id="p-4"))
        c.close(0.1)
        folder = os.path.join(d, "intents")
        # What a process killed inside a write leaves: a temporary file (this version), or, from
        # a version that wrote in place, an empty or cut intent file.
        ids = [uuid7() for _ in range(3)]
        with open(os.path.join(folder, ids[0] + ".json.tmp"), "wb") as f:
            f.write(b'{"id":"')
        with open(os.path.join(folder, ids[1] + ".json"), "wb") as f:
            f.write(b"")
        with open(os.path.join(folder, ids[2] + ".json"), "wb") as f:
            f.write(b'{"actor_id":"nurse","id":"' + ids[2].encode())
        with self.assertLogs("evident.intents", "WARNING") as logs:
            again = self.client(d)
        self.assertEqual(len(logs.records), 2)
        self.assertEqual(again.recovered_intents, 1)
        again.close(0.1)
        self.assertEqual([e["id"] for e in spooled(d)], [whole["id"]])
        self.assertEqual(os.listdir(folder), [])


if __name__ == "__main__":
    unittest.main()
