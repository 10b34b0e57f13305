"""The node loop in process: handshake, handlers, errors, limits."""

import io

import pytest

from sluice_node import Output, RetriableError, codec, serve
from sluice_node import messages as m
from sluice_node.records import Record

HELLO = m.Hello(1, "s", 0, 1 << 20, {"mode": "loud"})


def rec(value, key=None, headers=None, offset=0):
    return Record("t", 0, offset, 0, key, value, headers or [])


def talk(*msgs, raw=b"", chunk=None, **node):
    """Serves the frames of msgs (then raw bytes); returns (exit code, messages, logs)."""
    data = b"".join(codec.encode(x) for x in msgs) + raw
    src = io.BytesIO(data)
    read = src.read if chunk is None else (lambda n: src.read(min(n, chunk)))
    out = io.BytesIO()
    writes = []
    logs = []

    def write(b):
        writes.append(len(b))
        out.write(b)

    node.setdefault("name", "test")
    code = serve(read, write, log=logs.append, **node)
    out.seek(0)
    return code, list(codec.FrameReader(out)), logs, writes


def test_handshake_ack_and_init():
    seen = []
    code, msgs, _, _ = talk(HELLO, m.Shutdown(), process=lambda r: None, name="fan",
                            version="1.2.3", init=seen.append)
    assert code == 0
    assert msgs == [m.HelloAck(1, "fan", "1.2.3", 0)]
    assert seen[0].settings == {"mode": "loud"} and seen[0].stage == "s"


def test_handler_results_in_order():
    def process(r):
        v = r.value
        if v == b"drop":
            return None
        if v == b"empty":
            return []
        if v == b"bad":
            raise Exception("bad value")
        if v == b"later":
            raise RetriableError("try later")
        if v == b"boom":
            return {}["missing"]
        if v == b"gen":
            return (Output(b"g%d" % i) for i in range(2))
        if v == b"str":
            return Output("héllo", key="k")
        if v == b"int":
            return Output(42)
        return [Output(v, r.key, headers=r.headers), Output(v.upper(), r.key, name="alerts")]

    b1 = m.Batch(1, [rec(b"a", b"k", [("h", b"1"), ("n", None)]), rec(b"drop"), rec(b"empty")])
    b2 = m.Batch(2, [rec(b"bad"), rec(b"later"), rec(b"boom"), rec(b"gen"), rec(b"str"), rec(b"int")])
    code, msgs, logs, _ = talk(HELLO, b1, b2, m.Shutdown(), process=process)
    assert code == 0
    r1, r2 = msgs[1], msgs[2]
    assert r1.id == 1 and r2.id == 2
    assert r1.results == [
        m.Result(m.OK, [Output(b"a", b"k", "", [("h", b"1"), ("n", None)]),
                        Output(b"A", b"k", "alerts", [])]),
        m.Result(m.OK, []),
        m.Result(m.OK, []),
    ]
    assert r2.results[0] == m.Result(m.ERROR, [], "bad value")
    assert r2.results[1] == m.Result(m.RETRIABLE, [], "try later")
    assert r2.results[2] == m.Result(m.ERROR, [], "KeyError: 'missing'")
    assert r2.results[3] == m.Result(m.OK, [Output(b"g0", None, "", []), Output(b"g1", None, "", [])])
    assert r2.results[4] == m.Result(m.OK, [Output("héllo".encode(), b"k", "", [])])
    assert r2.results[5].status == m.ERROR and "must be bytes, str or None, not int" in r2.results[5].error
    # The first unexpected exception is logged once with its traceback.
    assert len(logs) == 1 and "Traceback" in logs[0] and "KeyError" in logs[0]


def test_subclassed_retriable_and_empty_messages():
    class WebhookDown(RetriableError):
        pass

    def process(r):
        if r.value == b"w":
            raise WebhookDown("503")
        raise Exception()

    _, msgs, _, _ = talk(HELLO, m.Batch(1, [rec(b"w"), rec(b"x")]), process=process)
    assert msgs[1].results == [m.Result(m.RETRIABLE, [], "WebhookDown: 503"),
                               m.Result(m.ERROR, [], "Exception")]


def test_batch_handler():
    def batch(records):
        out = []
        for r in records:
            if r.value == b"bad":
                out.append(ValueError("not a number"))
            elif r.value == b"later":
                out.append(RetriableError("busy"))
            elif r.value == b"none":
                out.append(None)
            else:
                out.append([Output(r.value + b"!", r.key)])
        return out

    b1 = m.Batch(1, [rec(b"a", b"k"), rec(b"bad"), rec(b"later"), rec(b"none")])
    code, msgs, _, _ = talk(HELLO, b1, process_batch=batch, name="b")
    assert code == 0
    assert msgs[0].features & m.FEATURE_BATCH_HANDLER
    assert msgs[1].results == [
        m.Result(m.OK, [Output(b"a!", b"k", "", [])]),
        m.Result(m.ERROR, [], "ValueError: not a number"),
        m.Result(m.RETRIABLE, [], "busy"),
        m.Result(m.OK, []),
    ]


def test_batch_handler_failures_fail_every_record():
    def raises(records):
        raise RetriableError("model server down")

    _, msgs, _, _ = talk(HELLO, m.Batch(1, [rec(b"a"), rec(b"b")]), process_batch=raises)
    assert msgs[1].results == [m.Result(m.RETRIABLE, [], "batch handler: model server down")] * 2
    _, msgs, _, _ = talk(HELLO, m.Batch(1, [rec(b"a"), rec(b"b")]), process_batch=lambda rs: [None])
    assert msgs[1].results == [m.Result(m.ERROR, [], "batch handler returned 1 results for 2 records")] * 2


def test_oversized_results_fail_their_own_records():
    small = m.Hello(1, "s", 0, 4096, {})

    def batch(records):
        return [[Output(b"x" * 10000 if r.value == b"2" else r.value)] for r in records]

    _, msgs, _, _ = talk(small, m.Batch(1, [rec(b"1"), rec(b"2"), rec(b"3")]), process_batch=batch)
    rs = msgs[1].results
    assert rs[0] == m.Result(m.OK, [Output(b"1", None, "", [])])
    assert rs[2] == m.Result(m.OK, [Output(b"3", None, "", [])])
    assert rs[1].status == m.ERROR
    assert rs[1].error == "outputs of this record take 10021 bytes, over the 4096-byte frame limit"


def test_other_version_is_refused_with_fatal():
    code, msgs, logs, _ = talk(m.Hello(2, "s", 0, 1024, {}), process=lambda r: None)
    want = "unsupported protocol version 2; this node speaks 1"
    assert code == 1
    assert msgs == [m.Fatal(want)]
    assert want in logs[0]


def test_init_failure_is_fatal():
    def init(hello):
        raise Exception("model not found: run make build")

    code, msgs, _, _ = talk(HELLO, process=lambda r: None, init=init)
    assert code == 1 and msgs == [m.Fatal("init: model not found: run make build")]


@pytest.mark.parametrize("raw, reason", [
    (b"\x00\x00\x00\x01\x42", "malformed frame: unknown message type 0x42"),
    (b"\x00\x00\x00\x00", "malformed frame: zero-length frame"),
    (b"\x7f\xff\xff\xff\x03", "frame too large: 2147483647 bytes announced, limit is 1048576"),
    (b"\x00\x00\x00\x0d\x03\x00\x00\x00\x00\x00\x00\x00\x01\xff\xff\xff\xff",
     "malformed frame: record count 4294967295 exceeds the 0 bytes left"),
    (b"\x00\x00\x00\x10\x03", "unexpected end of input inside a frame"),
    (codec.encode(m.Results(1, [])), "unexpected results frame after the handshake"),
])
def test_malformed_input_is_fatal(raw, reason):
    # A batch before the bad frame is still answered first.
    code, msgs, _, _ = talk(HELLO, m.Batch(1, [rec(b"a")]), raw=raw, process=lambda r: Output(r.value))
    assert code == 1
    assert msgs[1].id == 1
    assert msgs[-1] == m.Fatal(reason)


def test_end_of_input_is_a_shutdown():
    code, msgs, _, _ = talk(HELLO, m.Batch(1, [rec(b"a")]), process=lambda r: Output(r.value))
    assert code == 0 and len(msgs) == 2
    assert talk(process=lambda r: None)[:2] == (0, [])


def test_writes_are_batched_and_frames_split_anywhere():
    batches = [m.Batch(i, [rec(b"v%d" % j, offset=j) for j in range(50)]) for i in range(1, 21)]
    # All input at once: the 20 results leave in one write after the ack.
    code, msgs, _, writes = talk(HELLO, *batches, m.Shutdown(), process=lambda r: Output(r.value))
    assert code == 0 and [x.id for x in msgs[1:]] == list(range(1, 21))
    assert len(writes) == 2
    # Input trickling in 7 bytes at a time: same answers, frame by frame.
    code, msgs2, _, _ = talk(HELLO, *batches, m.Shutdown(), chunk=7, process=lambda r: Output(r.value))
    assert code == 0 and msgs2 == msgs


def test_large_frame_is_read_whole():
    big = b"z" * (3 << 20)
    code, msgs, _, _ = talk(m.Hello(1, "s", 0, 16 << 20, {}), m.Batch(1, [rec(big)]),
                            process=lambda r: Output(r.value))
    assert code == 0 and msgs[1].results[0].outputs[0].value == big


def test_exactly_one_handler_is_required():
    with pytest.raises(TypeError):
        serve(lambda n: b"", lambda b: None)
    with pytest.raises(TypeError):
        serve(lambda n: b"", lambda b: None, process=print, process_batch=print)


def test_fast_path_encodes_exactly_as_the_codec():
    outs = [Output(b"v"), Output(b"v", b"k"), Output(b"", b""), Output(None), Output(None, b"k"),
            Output(b"v", None, "alerts"), Output(b"v", headers=[("h", None), ("i", b"")]),
            Output("text", "key"), [Output(b"a"), Output(b"b", b"k", "n")], None, []]
    by_value = {b"%d" % i: o for i, o in enumerate(outs)}
    batch = m.Batch(5, [rec(v) for v in by_value])
    _, msgs, _, _ = talk(HELLO, batch, process=lambda r: by_value[r.value])

    def as_list(o):
        return [] if o is None else (o if isinstance(o, list) else [o])

    want = m.Results(5, [m.Result(m.OK, [Output(codec._as_bytes(x.value, ""), codec._as_bytes(x.key, ""),
                                                x.name, list(x.headers)) for x in as_list(o)])
                         for o in outs])
    assert msgs[1] == want
    assert codec.encode(msgs[1]) == codec.encode(want)
