"""The conformance node with --batch: the same answers from a batch handler.

``sluice bench`` runs it for its Python batch-handler row; the answers must
be those of the record handler, record for record.
"""

import io
import os
import subprocess
import sys

from sluice_node import Output, codec
from sluice_node import messages as m
from sluice_node.records import Record

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE = os.path.join(HERE, "conformance_node.py")


def start(*args):
    env = dict(os.environ, PYTHONPATH=os.path.join(HERE, "src"))
    return subprocess.Popen([sys.executable, NODE, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)


def rec(value, key=b"k", headers=None):
    return Record("in", 1, 7, 1700000000000, key, value, headers or [])


def conversation(*args):
    hdr = [("traceparent", b"00-abc-01"), ("null", None)]
    b1 = m.Batch(1, [rec(b"plain", headers=hdr), rec(None, None), rec(b""), rec(b"\x00\xff\x80"),
                     rec(b"multi:3"), rec(b"multi:0")])
    b2 = m.Batch(2, [rec(b"alert"), rec(b"fail:no good"), rec(b"retry:later"), rec(b"log:hello stderr")])
    data = b"".join(codec.encode(x) for x in (m.Hello(1, "conf", 0, 1 << 20, {}), b1, b2, m.Shutdown()))
    p = start(*args)
    out, err = p.communicate(data, timeout=30)
    assert p.returncode == 0, err
    return list(codec.FrameReader(io.BytesIO(out))), err


def test_batch_handler_answers_like_the_record_handler():
    batch, err = conversation("--batch")
    record, _ = conversation()
    assert batch[0] == m.HelloAck(1, "conformance", "0.1.0", m.FEATURE_BATCH_HANDLER)
    assert record[0] == m.HelloAck(1, "conformance", "0.1.0", 0)
    assert [x.results for x in batch[1:]] == [x.results for x in record[1:]]
    hdr = [("traceparent", b"00-abc-01"), ("null", None)]
    assert batch[1].results[0] == m.Result(m.OK, [Output(b"plain", b"k", "", hdr)])
    assert batch[2].results[1:3] == [m.Result(m.ERROR, [], "no good"), m.Result(m.RETRIABLE, [], "later")]
    assert b"hello stderr\n" in err


def test_batch_handler_crash_exits_3_without_answering():
    p = start("--batch")
    data = codec.encode(m.Hello(1, "conf", 0, 1 << 20, {})) + codec.encode(m.Batch(1, [rec(b"crash")]))
    out, _ = p.communicate(data, timeout=30)
    assert p.returncode == 3
    assert [x.type for x in codec.FrameReader(io.BytesIO(out))] == [m.HELLO_ACK]


def test_unknown_argument_is_refused():
    p = start("--bogus")
    _, err = p.communicate(b"", timeout=30)
    assert p.returncode == 1
    assert b"usage: conformance_node.py [--batch]" in err
