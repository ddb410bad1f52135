"""EvidentMiddleware in a FastAPI app served by uvicorn on a real socket, recording to a real
evident serve: one event per request with the route pattern, the result, the actor, the
address; an outage the requests never notice."""


from __future__ import annotations

import support  # noqa: F401  first: it puts clients/python on sys.path

import json
import os
import time
import unittest
from typing import Any

from evident import EvidentClient, uuid7

import clinic
from support import ServedApp, client_events, free_port, http, read_log, server, start_outage_server, stop, temp_dir


class MiddlewareTest(unittest.TestCase):
    def setUp(self) -> None:
        self.srv = server()
        self.effects: list[str] = []

    def serve(self, log: str, url: str | None = None, key: str | None = None, **options: Any) -> tuple[ServedApp, EvidentClient, Any]:
        client = EvidentClient(url or self.srv["url"], key or self.srv["ingest"], log, temp_dir(self), retry_base=0.05, retry_max=0.3)
        self.addCleanup(client.close, 5)
        app, mw = clinic.build(client, self.effects, **options)
        served = ServedApp(app)
        self.addCleanup(served.stop)
        return served, client, mw

    def events_by_request(self, log: str) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for e in client_events(read_log(self.srv["url"], self.srv["read"], log)):
            out.setdefault(e["metadata"]["request_id"], []).append(e)
        return out

    def test_every_kind_of_outcome_gives_exactly_the_expected_event(self) -> None:
        app, client, mw = self.serve("middleware", skip=["/healthz"])
        secret = "Bearer evk_000000000000_s3cr3t"
        cases = [
            # method, path, headers, body, status, action, result, resource, actor
            ("GET", "/patients/p-1", {"X-User": "alice"}, None, 200, "get /patients/{patient_id}", "success", ("patients", "p-1"), ("alice", "user")),
            ("PUT", "/patients/p-2", {"X-User": "bob"}, {"ward": "4C"}, 200, "put /patients/{patient_id}", "success", ("patients", "p-2"), ("bob", "user")),
            ("GET", "/admin/export", {"X-User": "carol"}, None, 403, "get /admin/export", "denied", ("export", "*"), ("carol", "user")),
            ("GET", "/me", {}, None, 401, "get /me", "denied", ("me", "*"), ("anonymous", "anonymous")),
            ("GET", "/boom", {}, None, 500, "get /boom", "failure", ("boom", "*"), ("anonymous", "anonymous")),
            ("GET", "/patients/p-9/missing", {}, None, 404, "get /patients/{patient_id}/missing", "failure", ("missing", "p-9"), ("anonymous", "anonymous")),
            ("GET", "/old", {"X-User": "root"}, None, 307, "get /old", "success", ("old", "*"), ("root", "admin")),
            ("GET", "/no/such/path/4111111111111111", {}, None, 404, "get (unmatched)", "failure", ("route", "(unmatched)"), ("anonymous", "anonymous")),
            ("DELETE", "/patients/p-1", {}, None, 405, "delete /patients/{patient_id}", "failure", ("patients", "p-1"), ("anonymous", "anonymous")),
            ("GET", "/patients/p-1/bad-audit", {}, None, 200, "get /patients/{patient_id}/bad-audit", "success", ("bad-audit", "p-1"), ("anonymous", "anonymous")),
        ]
        ids = {}
        for n, (method, path, headers, body, status, *_) in enumerate(cases):
            rid = uuid7()
            ids[n] = rid
            h = {"X-Request-ID": rid, "User-Agent": "clinic-test/1.0", "Authorization": secret, "Cookie": "session=c00k1e", "X-Forwarded-For": "198.51.100.9", **headers}
            got, _, _ = http(method, app.url + path, h, body)
            self.assertEqual(got, status, path)
        skipped = uuid7()
        self.assertEqual(http("GET", app.url + "/healthz", {"X-Request-ID": skipped})[0], 200)
        # No request id from the caller: one is made and returned.
        _, hdrs, _ = http("GET", app.url + "/patients/p-1")
        self.assertRegex(hdrs["x-request-id"], r"^[0-9a-f-]{36}$")
        self.assertTrue(client.flush(20))
        self.assertEqual(mw.failures, 0)
        self.assertEqual(mw.fields_refused, 1)

        by_request = self.events_by_request("middleware")
        self.assertNotIn(skipped, by_request)
        self.assertEqual(len(by_request[hdrs["x-request-id"]]), 1)
        for n, (method, path, _, _, status, action, result, resource, actor) in enumerate(cases):
            with self.subTest(method=method, path=path):
                evs = by_request.get(ids[n], [])
                self.assertEqual(len(evs), 1, f"{method} {path}: {len(evs)} events")
                e = evs[0]
                self.assertEqual(e["action"], action)
                self.assertEqual(e["result"], result)
                self.assertEqual((e["resource_type"], e["resource_id"]), resource)
                self.assertEqual((e["actor_id"], e["actor_type"]), actor)
                self.assertEqual(e["ip_address"], "127.0.0.1")  # X-Forwarded-For is not trusted here
                self.assertEqual(e["user_agent"], "clinic-test/1.0")
                self.assertEqual(e["metadata"]["status"], status)
                self.assertEqual(e["metadata"]["method"], method)
                self.assertIsInstance(e["metadata"]["duration_ms"], (int, float))
                text = json.dumps(e)
                for leak in ("s3cr3t", "c00k1e", "4111111111111111"):
                    self.assertNotIn(leak, text)
        put = by_request[ids[1]][0]
        self.assertEqual(put["changed_fields"], ["ward"])
        self.assertEqual(put["reason"], "transfer")
        self.assertEqual(put["new_values"], {"ward": "4C"})
        self.assertEqual(put["old_values"], {"ward": "1A"})
        bad = by_request[ids[9]][0]
        self.assertNotIn("reason", bad)
        refused = {(i["field"], i["rule"]) for i in bad["metadata"]["audit_fields_refused"]}
        self.assertEqual(refused, {("reason", "format"), ("colour", "unknown_field")})
        self.assertNotIn("colour", bad)

    def test_forwarded_for_only_when_the_proxy_is_trusted(self) -> None:
        trusted, client, _ = self.serve("middleware", trust_proxy=True)
        one_hop, client2, _ = self.serve("middleware", trust_proxy=1)
        plain, client3, _ = self.serve("middleware")
        ids = {}
        for name, app, xff in (
            ("trusted", trusted, "203.0.113.5, 198.51.100.9"),
            ("one_hop", one_hop, "203.0.113.5, 198.51.100.9"),
            ("plain", plain, "203.0.113.5"),
            ("garbage", trusted, "not-an-ip"),
        ):
            ids[name] = uuid7()
            self.assertEqual(http("GET", app.url + "/patients/p-1", {"X-Request-ID": ids[name], "X-Forwarded-For": xff})[0], 200)
        for c in (client, client2, client3):
            self.assertTrue(c.flush(20))
        by_request = self.events_by_request("middleware")
        ips = {name: by_request[rid][0]["ip_address"] for name, rid in ids.items()}
        self.assertEqual(ips, {"trusted": "203.0.113.5", "one_hop": "198.51.100.9", "plain": "127.0.0.1", "garbage": "127.0.0.1"})

    def test_values_from_the_wire_are_fitted_and_say_so(self) -> None:
        app, client, _ = self.serve("middleware")
        rid = uuid7()
        long_id = "p" * 300
        self.assertEqual(http("GET", f"{app.url}/patients/{long_id}", {"X-Request-ID": rid, "User-Agent": "u" * 2000})[0], 200)
        self.assertTrue(client.flush(20))
        e = self.events_by_request("middleware")[rid][0]
        self.assertEqual((len(e["user_agent"]), len(e["resource_id"])), (1024, 256))
        self.assertEqual(e["metadata"]["truncated"], ["resource_id", "user_agent"])

    def test_a_getter_that_raises_fails_the_audit_not_the_request(self) -> None:
        def broken(request: Any) -> str:
            raise LookupError("no session store")

        app, _, mw = self.serve("middleware", actor=broken)
        self.assertEqual(http("GET", app.url + "/patients/p-1")[0], 200)
        self.assertEqual(mw.failures, 1)

    def test_server_down_requests_succeed_then_every_event_arrives_once_in_order(self) -> None:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        app, client, mw = self.serve("mwoutage", url=url, key=os.environ["EVIDENT_TEST_OUTAGE_INGEST_KEY"])
        rids = [uuid7() for _ in range(40)]
        for i, rid in enumerate(rids):
            path = f"/patients/p-{i % 2 + 1}"
            self.assertEqual(http("GET", app.url + path, {"X-Request-ID": rid})[0], 200)
        time.sleep(0.3)
        self.assertEqual(client.pending, 40)
        self.assertEqual(mw.failures, 0)
        proc = start_outage_server(port)
        self.addCleanup(stop, proc)
        self.assertTrue(client.flush(30))
        got = client_events(read_log(url, os.environ["EVIDENT_TEST_OUTAGE_READ_KEY"], "mwoutage"))
        self.assertEqual([e["metadata"]["request_id"] for e in got], rids)


if __name__ == "__main__":
    unittest.main()
