"""The example app (examples/fastapi/app.py) under uvicorn, killed with SIGKILL under load and
started again on the same spool: every request it answered has its event in the log exactly
once, and no event is there twice."""


from __future__ import annotations

import support  # noqa: F401  first: it puts clients/python on sys.path

import os
import signal
import subprocess
import sys
import threading
import time
import unittest
from collections import Counter

from evident import EvidentClient, uuid7
from evident.spool import Spool

from support import client_events, free_port, http, read_log, server, temp_dir, wait_http


class CrashTest(unittest.TestCase):
    def setUp(self) -> None:
        self.srv = server()
        self.spool = temp_dir(self)
        self.port = free_port()

    def start_app(self) -> subprocess.Popen:
        root = self.srv["root"]
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("EVIDENT_")},
            "EVIDENT_URL": self.srv["url"],
            "EVIDENT_API_KEY": self.srv["ingest"],
            "EVIDENT_LOG": "crash",
            "EVIDENT_SPOOL_DIR": self.spool,
            "PYTHONPATH": os.path.join(root, "clients", "python"),
        }
        cmd = [sys.executable, "-m", "uvicorn", "app:app", "--app-dir", os.path.join(root, "examples", "fastapi")]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--no-proxy-headers", "--log-level", "warning"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait()))
        wait_http(f"http://127.0.0.1:{self.port}/healthz")
        return proc

    def load(self, seconds: float, acknowledged: list[str], stop: threading.Event) -> list[threading.Thread]:
        url = f"http://127.0.0.1:{self.port}"

        def worker(n: int) -> None:
            i = 0
            deadline = time.monotonic() + seconds
            while not stop.is_set() and time.monotonic() < deadline:
                rid = uuid7()
                i += 1
                try:
                    if i % 3:
                        status = http("PUT", f"{url}/patients/p-{n}/ward", {"X-User": f"nurse-{n}", "X-Request-ID": rid}, {"ward": f"w{i}"}, timeout=5)[0]
                    else:
                        status = http("GET", f"{url}/patients/p-1", {"X-User": f"nurse-{n}", "X-Request-ID": rid}, timeout=5)[0]
                except OSError:
                    continue  # the app is down: this request was never answered
                if status == 200:
                    acknowledged.append(rid)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        return threads

    def test_sigkill_under_load_loses_no_acknowledged_event(self) -> None:
        acknowledged: list[str] = []
        stop = threading.Event()
        app = self.start_app()
        threads = self.load(30, acknowledged, stop)
        deadline = time.monotonic() + 30
        while len(acknowledged) < 300:
            self.assertLess(time.monotonic(), deadline, f"only {len(acknowledged)} requests answered in 30 s")
            time.sleep(0.01)
        app.send_signal(signal.SIGKILL)
        app.wait()
        stop.set()
        for t in threads:
            t.join()
        killed_at = len(acknowledged)
        sp = Spool(self.spool)  # the lock died with the process
        left = sp.pending
        sp.close()
        print(f"\n  {killed_at} requests answered before SIGKILL; {left} events still in the spool", file=sys.stderr)

        app = self.start_app()
        stop = threading.Event()
        for t in self.load(1.0, acknowledged, stop):
            t.join()
        app.send_signal(signal.SIGTERM)  # graceful: the client delivers what is left, then exits
        self.assertEqual(app.wait(30), 0, app.stderr.read().decode() if app.stderr else "")
        sp = Spool(self.spool)
        left = sp.pending
        sp.close()
        if left:
            # The shutdown delivers for at most 10 s (examples/fastapi/app.py): on a loaded machine
            # some events may still wait, durable in the spool, for the next start, as here.
            print(f"  {left} events left in the spool at the graceful stop; delivered at the next start", file=sys.stderr)
            again = EvidentClient(self.srv["url"], self.srv["ingest"], "crash", self.spool)
            self.assertTrue(again.flush(60))
            again.close(5)
        sp = Spool(self.spool)
        self.assertEqual(sp.pending, 0)
        sp.close()

        events = client_events(read_log(self.srv["url"], self.srv["read"], "crash"))
        counts = Counter(e["metadata"]["request_id"] for e in events)
        self.assertEqual([rid for rid in acknowledged if counts[rid] != 1], [])
        self.assertEqual([rid for rid, n in counts.items() if n > 1], [])
        self.assertEqual(len({e["id"] for e in events}), len(events))
        self.assertGreater(len(acknowledged), killed_at)
        puts = [e for e in events if e["action"] == "put /patients/{patient_id}/ward"]
        # A fail-closed request cut by the SIGKILL left its provisional event (outcome unknown).
        finals = [e for e in puts if e["metadata"].get("evident_outcome") != "unknown"]
        self.assertTrue(finals and all(e["changed_fields"] == ["ward"] for e in finals))
        for e in puts:
            if e not in finals:
                self.assertEqual((e["result"], e["reason"]), ("failure", "the process ended before the outcome was recorded"))


if __name__ == "__main__":
    unittest.main()
