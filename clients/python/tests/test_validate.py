"""Client-side checks of events: every fault named with its rule, as the server names them."""

import support  # noqa: F401  first: it puts clients/python on sys.path
import unittest

from evident import EvidentClient, ValidationError, check_event

from support import temp_dir

GOOD = {
    "actor_id": "alice",
    "actor_type": "user",
    "action": "read",
    "resource_type": "patient_record",
    "resource_id": "p-1",
    "result": "success",
    "ip_address": "203.0.113.7",
}


def rules(event: object) -> set[tuple[str, str]]:
    try:
        check_event(event)
    except ValidationError as e:
        assert e.code == "VALIDATION_FAILED"
        return {(i["field"], i["rule"]) for i in e.issues}
    return set()


class ValidateTest(unittest.TestCase):
    def test_a_good_event_passes(self) -> None:
        self.assertEqual(rules(GOOD), set())
        system = {k: v for k, v in GOOD.items() if k != "ip_address"}
        self.assertEqual(rules({**system, "actor_type": "system"}), set())
        self.assertEqual(rules(system), {("ip_address", "required")})

    def test_every_fault_is_named_with_its_rule(self) -> None:
        got = rules({"actor_id": "", "actor_type": "robot", "action": "a\nb", "extra": 1, "result": "ok", "resource_type": "r"})
        self.assertEqual(
            got,
            {
                ("actor_id", "min_length"),
                ("actor_type", "enum"),
                ("action", "format"),
                ("extra", "unknown_field"),
                ("result", "enum"),
                ("resource_id", "required"),
                ("ip_address", "required"),
            },
        )

    def test_the_error_is_a_value_error_naming_field_and_rule(self) -> None:
        with self.assertRaises(ValueError) as cm:
            check_event({**GOOD, "result": "maybe"})
        self.assertIn("result", str(cm.exception))
        self.assertIn("enum", str(cm.exception))

    def test_ip_timestamp_id(self) -> None:
        self.assertIn(("ip_address", "format"), rules({**GOOD, "ip_address": "010.0.0.1"}))
        self.assertIn(("ip_address", "format"), rules({**GOOD, "ip_address": "fe80::1%eth0"}))
        self.assertEqual(rules({**GOOD, "ip_address": "2001:db8::1"}), set())
        self.assertIn(("timestamp", "format"), rules({**GOOD, "timestamp": "2026-02-30T00:00:00Z"}))
        self.assertIn(("timestamp", "format"), rules({**GOOD, "timestamp": "2026-01-01 00:00:00"}))
        self.assertEqual(rules({**GOOD, "timestamp": "2026-01-31T23:59:59.123Z"}), set())
        self.assertIn(("id", "format"), rules({**GOOD, "id": "NOT-A-UUID"}))

    def test_lengths_count_utf16_units_as_the_server_does(self) -> None:
        self.assertEqual(rules({**GOOD, "action": "😀" * 64}), set())  # 128 units
        self.assertIn(("action", "max_length"), rules({**GOOD, "action": "😀" * 64 + "a"}))

    def test_json_fields(self) -> None:
        self.assertIn(("metadata", "type"), rules({**GOOD, "metadata": [1]}))
        self.assertIn(("metadata.__proto__", "forbidden_key"), rules({**GOOD, "metadata": {"__proto__": 1}}))
        self.assertIn(("metadata.n", "unsafe_integer"), rules({**GOOD, "metadata": {"n": 2**53}}))
        self.assertIn(("metadata.f", "type"), rules({**GOOD, "metadata": {"f": float("nan")}}))
        self.assertIn(("metadata.s", "unicode"), rules({**GOOD, "metadata": {"s": "\ud800"}}))
        self.assertIn(("metadata.o", "type"), rules({**GOOD, "metadata": {"o": object()}}))
        deep: dict = {}
        cur = deep
        for _ in range(20):
            cur["a"] = {}
            cur = cur["a"]
        self.assertTrue(any(r == "max_depth" for _, r in rules({**GOOD, "metadata": deep})))
        self.assertIn(("new_values", "max_bytes"), rules({**GOOD, "new_values": {"x": "y" * 70000}}))

    def test_record_refuses_before_spooling_and_fills_id_and_timestamp(self) -> None:
        c = EvidentClient("http://127.0.0.1:9", "evk_x", "default", temp_dir(self), start=False)
        self.addCleanup(c.close, 0)
        with self.assertRaises(ValidationError) as cm:
            c.record({**GOOD, "resource_id": None})
        self.assertEqual(cm.exception.issues[0]["field"], "resource_id")
        self.assertEqual(c.pending, 0)
        ev = c.record(GOOD)
        self.assertRegex(ev["id"], r"^[0-9a-f]{8}-[0-9a-f]{4}-7")
        self.assertRegex(ev["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(c.pending, 1)
        self.assertNotIn("id", GOOD)  # the caller's dict is not changed


if __name__ == "__main__":
    unittest.main()
