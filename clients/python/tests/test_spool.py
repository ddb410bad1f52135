"""The spool on its own: framing, torn-tail recovery, the lock, bounds, group commit, failures."""

import support  # noqa: F401  first: it puts clients/python on sys.path

import os
import resource
import shutil
import signal
import threading
import time
import unittest
from unittest import mock

from evident import SpoolFailed, SpoolFull
from evident import spool as spool_mod
from evident.spool import Spool, frame

from support import temp_dir


def payloads(sp: Spool) -> list[bytes]:
    out, _, _ = sp.read_batch(1_000_000, 1 << 40)
    return out


def segment(d: str) -> str:
    return os.path.join(d, sorted(n for n in os.listdir(d) if n.startswith("seg-"))[-1])


class SpoolTest(unittest.TestCase):
    def test_events_survive_reopening_in_order(self) -> None:
        d = temp_dir(self)
        sp = Spool(d)
        for i in range(10):
            sp.append(b'{"n":%d}' % i)
        sp.close()
        sp = Spool(d)
        self.addCleanup(sp.close)
        self.assertEqual(sp.pending, 10)
        self.assertEqual(payloads(sp), [b'{"n":%d}' % i for i in range(10)])

    def test_a_torn_tail_is_cut_on_open(self) -> None:
        for damage in ("half_header", "half_body", "zeros", "bad_crc"):
            with self.subTest(damage=damage):
                d = temp_dir(self)
                sp = Spool(d)
                for i in range(3):
                    sp.append(b'{"n":%d}' % i)
                sp.close()
                path = segment(d)
                whole = os.path.getsize(path)
                torn = frame(b'{"n":3,"pad":"' + b"x" * 100 + b'"}')
                with open(path, "r+b") as f:
                    f.seek(whole)
                    if damage == "half_header":
                        f.write(torn[:5])
                    elif damage == "half_body":
                        f.write(torn[: len(torn) - 10])
                    elif damage == "zeros":
                        f.write(b"\0" * 4096)  # what a file system can show after a power cut
                    else:
                        bad = bytearray(torn)
                        bad[-1] ^= 0x01
                        f.write(bytes(bad))
                sp = Spool(d)
                self.assertEqual(sp.pending, 3)
                self.assertGreater(sp.cut_bytes, 0)
                self.assertEqual(os.path.getsize(path), whole)
                self.assertEqual(payloads(sp), [b'{"n":%d}' % i for i in range(3)])
                sp.append(b'{"n":"after"}')  # appends continue on the clean frame boundary
                sp.close()
                sp = Spool(d)
                self.assertEqual(payloads(sp)[-1], b'{"n":"after"}')
                self.assertEqual(sp.cut_bytes, 0)
                sp.close()

    def test_one_process_per_directory(self) -> None:
        d = temp_dir(self)
        sp = Spool(d)
        with self.assertRaises(SpoolFailed) as cm:
            Spool(d)
        self.assertEqual(cm.exception.code, "SPOOL_FAILED")
        sp.close()
        Spool(d).close()  # released on close (and by the kernel when a process dies)

    def test_ack_removes_delivered_events_and_segments(self) -> None:
        d = temp_dir(self)
        sp = Spool(d, segment_bytes=200)
        for i in range(20):
            sp.append(b'{"n":%02d,"pad":"........................"}' % i)
        self.assertGreater(len([n for n in os.listdir(d) if n.startswith("seg-")]), 3)
        got, end, nbytes = sp.read_batch(7, 1 << 20)
        self.assertEqual(len(got), 7)
        sp.ack(end, len(got), nbytes)
        self.assertEqual(sp.pending, 13)
        sp.close()
        sp = Spool(d, segment_bytes=200)
        rest = payloads(sp)
        self.assertEqual(rest[0], b'{"n":07,"pad":"........................"}')
        self.assertEqual(len(rest), 13)
        _, end, nbytes = sp.read_batch(100, 1 << 20)
        sp.ack(end, 13, nbytes)
        self.assertEqual(sp.pending, 0)
        self.assertEqual(len([n for n in os.listdir(d) if n.startswith("seg-")]), 1)
        sp.close()

    def test_bounded_reject_and_block(self) -> None:
        d = temp_dir(self)
        sp = Spool(d, max_events=3)
        self.addCleanup(sp.close)
        for i in range(3):
            sp.append(b"{}")
        with self.assertRaises(SpoolFull) as cm:
            sp.append(b"{}")
        self.assertEqual(cm.exception.code, "SPOOL_FULL")
        t0 = time.monotonic()
        with self.assertRaises(SpoolFull):
            sp.append(b"{}", block=0.2)
        self.assertGreaterEqual(time.monotonic() - t0, 0.19)
        # A blocked append goes through once delivery frees room.
        got, end, nbytes = sp.read_batch(1, 1 << 20)
        threading.Timer(0.1, sp.ack, (end, 1, nbytes)).start()
        sp.append(b'{"late":1}', block=5)
        self.assertEqual(sp.pending, 3)

    def test_concurrent_appends_share_fsyncs(self) -> None:
        d = temp_dir(self)
        sp = Spool(d)
        self.addCleanup(sp.close)
        calls = []
        real = os.fsync

        def counting(fd: int) -> None:
            calls.append(fd)
            time.sleep(0.002)  # a disk's fsync takes time; writers queue behind it
            real(fd)

        threads = [threading.Thread(target=lambda i=i: [sp.append(b'{"t":%d}' % i) for _ in range(25)]) for i in range(16)]
        with mock.patch.object(spool_mod.os, "fsync", counting):
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        self.assertEqual(sp.pending, 400)
        self.assertEqual(len(payloads(sp)), 400)
        self.assertLess(len(calls), 400 // 2, f"{len(calls)} fsyncs for 400 appends")

    def test_a_removed_directory_is_a_failure_not_a_silent_loss(self) -> None:
        d = temp_dir(self)
        sp = Spool(d)
        self.addCleanup(sp.close)
        sp.append(b"{}")
        shutil.rmtree(d)
        with self.assertRaises(SpoolFailed):
            sp.append(b"{}")

    def test_a_failed_write_leaves_no_partial_frame(self) -> None:
        d = temp_dir(self)
        sp = Spool(d)
        self.addCleanup(sp.close)
        sp.append(b'{"n":0}')
        size = os.path.getsize(segment(d))
        # The kernel refuses writes past this file size (EFBIG): a disk that is full.
        old = resource.getrlimit(resource.RLIMIT_FSIZE)
        old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 10, old[1]))
        try:
            with self.assertRaises(SpoolFailed):
                sp.append(b'{"n":1,"pad":"' + b"x" * 100 + b'"}')
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, old)
            signal.signal(signal.SIGXFSZ, old_handler)
        self.assertEqual(os.path.getsize(segment(d)), size)
        sp.append(b'{"n":2}')
        self.assertEqual(payloads(sp), [b'{"n":0}', b'{"n":2}'])
        self.assertEqual(sp.pending, 2)


if __name__ == "__main__":
    unittest.main()
