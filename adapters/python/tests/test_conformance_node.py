"""The conformance node as the runtime runs it: a subprocess behind pipes."""

import io
import os
import subprocess
import sys

from sluice_node import Output, codec
from sluice_node import messages as m
from sluice_node.records import Record

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE = os.path.join(HERE, "conformance_node.py")


def start():
    env = dict(os.environ, PYTHONPATH=os.path.join(HERE, "src"))
    return subprocess.Popen([sys.executable, NODE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)


def rec(value, key=b"k", headers=None):
    return Record("in", 1, 7, 1700000000000, key, value, headers or [])


def test_conformance_node_through_a_pipe():
    p = start()
    hdr = [("traceparent", b"00-abc-01"), ("null", None)]
    b1 = m.Batch(1, [rec(b"plain", headers=hdr), rec(None, None), rec(b""), rec(b"\x00\xff\x80"),
                     rec(b"multi:3"), rec(b"multi:0")])
    b2 = m.Batch(2, [rec(b"alert"), rec(b"fail:no good"), rec(b"retry:later"), rec(b"log:hello stderr")])
    data = b"".join(codec.encode(x) for x in (m.Hello(1, "conf", 0, 1 << 20, {}), b1, b2, m.Shutdown()))
    out, err = p.communicate(data, timeout=30)
    assert p.returncode == 0, err
    msgs = list(codec.FrameReader(io.BytesIO(out)))
    assert msgs[0] == m.HelloAck(1, "conformance", "0.1.0", 0)
    r1, r2 = msgs[1], msgs[2]
    assert (r1.id, r2.id) == (1, 2)

    def ok(*outs):
        return m.Result(m.OK, list(outs))

    assert r1.results == [
        ok(Output(b"plain", b"k", "", hdr)),
        ok(Output(None, None, "", [])),
        ok(Output(b"", b"k", "", [])),
        ok(Output(b"\x00\xff\x80", b"k", "", [])),
        ok(*[Output(b"multi:3#%d" % i, b"k", "", []) for i in range(3)]),
        ok(),
    ]
    assert r2.results == [
        ok(Output(b"alert", b"k", "", []), Output(b"ALERT", b"k", "alerts", [])),
        m.Result(m.ERROR, [], "no good"),
        m.Result(m.RETRIABLE, [], "later"),
        ok(Output(b"log:hello stderr", b"k", "", [])),
    ]
    assert b"hello stderr\n" in err


def test_conformance_node_refuses_another_version():
    p = start()
    out, _ = p.communicate(codec.encode(m.Hello(2, "conf", 0, 1024, {})), timeout=30)
    assert p.returncode != 0
    msgs = list(codec.FrameReader(io.BytesIO(out)))
    assert len(msgs) == 1 and "unsupported protocol version" in msgs[0].message


def test_conformance_node_crash_exits_3_without_answering():
    p = start()
    data = codec.encode(m.Hello(1, "conf", 0, 1 << 20, {})) + codec.encode(m.Batch(1, [rec(b"crash")]))
    out, _ = p.communicate(data, timeout=30)
    assert p.returncode == 3
    msgs = list(codec.FrameReader(io.BytesIO(out)))
    assert [x.type for x in msgs] == [m.HELLO_ACK]
