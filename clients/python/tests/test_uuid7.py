
import support  # noqa: F401  first: it puts clients/python on sys.path
import re
import time
import unittest

from evident import uuid7


class Uuid7Test(unittest.TestCase):
    def test_layout_per_rfc_9562(self) -> None:
        before = time.time_ns() // 1_000_000
        u = uuid7()
        after = time.time_ns() // 1_000_000
        self.assertRegex(u, r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        ms = int(u.replace("-", "")[:12], 16)
        self.assertTrue(before <= ms <= after + 1)

    def test_ids_of_one_process_sort_in_creation_order(self) -> None:
        ids = [uuid7() for _ in range(5000)]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), len(ids))

    def test_given_clock(self) -> None:
        u = uuid7(0x0123456789AB + 10**6)
        self.assertTrue(re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-7", u))


if __name__ == "__main__":
    unittest.main()
