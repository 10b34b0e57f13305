"""Passthrough throughput of the Python adapter, through real pipes.

    python adapters/python/bench.py [--records 200000] [--size 200] [--batch 500]

Starts this file again as a passthrough node (``--node``), pipes N records
of SIZE bytes in batches of BATCH through it as the runtime would (batches
written ahead, results read back concurrently), and prints records/s. The
parent only patches batch ids into one pre-encoded frame and reads results
frames' headers, so nearly all the time measured is the node's.
"""

import argparse
import os
import struct
import subprocess
import sys
import threading
import time

try:
    import sluice_node  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "src"))

from sluice_node import Output, codec, run  # noqa: E402
from sluice_node import messages as m  # noqa: E402
from sluice_node.records import Record  # noqa: E402


def passthrough(r):
    return Output(r.value, r.key, headers=r.headers)


def write_all(f, data):
    view = memoryview(data)
    while view:
        view = view[f.write(view):]


def read_exactly(f, n):
    parts = []
    left = n
    while left:
        b = f.read(left)
        if not b:
            raise SystemExit(f"node closed its output early ({n - left} of {n} bytes)")
        parts.append(b)
        left -= len(b)
    return b"".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--size", type=int, default=200)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--window", type=int, default=4, help="batches in flight, as the runtime's window.batches")
    ap.add_argument("--node", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.node:
        run(passthrough, name="bench-passthrough")

    recs = [Record("events.parsed", i % 3, i, 1700000000000, b"sensor-alpha", b"x" * a.size, [])
            for i in range(a.batch)]
    frame = bytearray(codec.encode(m.Batch(0, recs)))
    nbatches = (a.records + a.batch - 1) // a.batch
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(os.path.abspath(__file__)), "src"))
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--node"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, env=env, bufsize=0)
    p.stdin.write(codec.encode(m.Hello(1, "bench", 0, 16 << 20, {})))
    reader = codec.FrameReader(p.stdout)
    ack = reader.read_message()
    assert isinstance(ack, m.HelloAck), ack

    window = threading.Semaphore(a.window)

    def feed():
        for i in range(1, nbatches + 1):
            window.acquire()
            struct.pack_into(">Q", frame, 5, i)
            write_all(p.stdin, frame)
        write_all(p.stdin, codec.encode(m.Shutdown()))
        p.stdin.close()

    start = time.perf_counter()
    t = threading.Thread(target=feed, daemon=True)
    t.start()
    done = 0
    try:
        done = collect(p, nbatches, a.batch, window)
    finally:
        if done != a.batch * nbatches:
            p.kill()
    elapsed = time.perf_counter() - start
    t.join()
    p.wait()
    rate = done / elapsed
    print(f"python adapter passthrough: {done} records of {a.size} B in batches of {a.batch}: "
          f"{elapsed:.2f} s, {rate:,.0f} records/s, {rate * a.size / 1e6:.1f} MB/s")


def collect(p, nbatches, batch, window):
    """Reads the results frames, checking their ids and counts."""
    done = 0
    for i in range(1, nbatches + 1):
        (n,) = struct.unpack(">I", read_exactly(p.stdout, 4))
        payload = read_exactly(p.stdout, n)
        t_, bid, count = struct.unpack_from(">BQI", payload)
        if t_ != m.RESULTS or bid != i or count != batch:
            raise SystemExit(f"unexpected answer: type {t_} id {bid} count {count}")
        done += count
        window.release()
    return done


if __name__ == "__main__":
    main()
