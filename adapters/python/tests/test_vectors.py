"""Every frame of testdata/protocol/vectors.json, byte for byte."""

import base64
import io
import json
import os
import tracemalloc

import pytest

from sluice_node import codec
from sluice_node import messages as m
from sluice_node.records import Output, Record

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
with open(os.path.join(ROOT, "testdata", "protocol", "vectors.json")) as f:
    VECTORS = json.load(f)

STATUS = {"ok": m.OK, "error": m.ERROR, "retriable": m.RETRIABLE}


def b(v):
    return None if v is None else base64.b64decode(v)


def headers(hs):
    return [(h["key"], b(h["value"])) for h in hs or []]


def from_json(j):
    """The message a vector describes (missing fields are zero, as in Go)."""
    t = j["type"]
    if t == "hello":
        return m.Hello(j.get("version", 0), j.get("stage", ""), j.get("worker", 0),
                       j.get("max_frame", 0), dict(j.get("settings", {})))
    if t == "hello_ack":
        return m.HelloAck(j.get("version", 0), j.get("name", ""), j.get("node_version", ""),
                          j.get("features", 0))
    if t == "batch":
        return m.Batch(j.get("id", 0), [
            Record(r["topic"], r["partition"], r["offset"], r["timestamp"], b(r["key"]),
                   b(r["value"]), headers(r["headers"]))
            for r in j.get("records", [])])
    if t == "results":
        return m.Results(j.get("id", 0), [
            m.Result(STATUS[r["status"]],
                     [Output(b(o["value"]), b(o["key"]), o["name"], headers(o["headers"]))
                      for o in r.get("outputs", [])],
                     r.get("error", ""))
            for r in j.get("results", [])])
    if t == "shutdown":
        return m.Shutdown()
    if t == "fatal":
        return m.Fatal(j["message"])
    if t == "file_batch":
        return m.FileBatch(j.get("id", 0), j.get("count", 0), j["path"])
    if t == "file_ack":
        return m.FileAck(j.get("id", 0), j["path"])
    raise AssertionError(f"unknown type {t}")


def test_vectors_file_is_complete():
    assert len(VECTORS["valid"]) >= 10 and len(VECTORS["invalid"]) >= 5


@pytest.mark.parametrize("v", VECTORS["valid"], ids=lambda v: v["name"])
def test_valid_vector(v):
    frame = bytes.fromhex(v["frame"])
    want = from_json(v["message"])
    assert codec.encode(want) == frame
    got = codec.FrameReader(io.BytesIO(frame)).read_message()
    assert got == want
    assert codec.decode(frame[4:]) == want


@pytest.mark.parametrize("v", VECTORS["invalid"], ids=lambda v: v["name"])
def test_invalid_vector(v):
    frame = bytes.fromhex(v["frame"])
    want = {"malformed": codec.MalformedFrame, "too_large": codec.FrameTooLarge}[v["error"]]
    tracemalloc.start()
    try:
        with pytest.raises(want):
            codec.FrameReader(io.BytesIO(frame), v["max_frame"]).read_message()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"refusing {v['name']} allocated {peak} bytes"


def test_batch_with_truncations_never_decodes():
    """Every strict prefix of a valid batch body is refused, never misread."""
    for v in VECTORS["valid"]:
        if v["message"]["type"] not in ("batch", "results", "hello"):
            continue
        payload = bytes.fromhex(v["frame"])[4:]
        for cut in range(1, len(payload)):
            with pytest.raises(codec.MalformedFrame):
                codec.decode(payload[:cut])
        with pytest.raises(codec.MalformedFrame):
            codec.decode(payload + b"\x00")


def test_negative_lengths_other_than_null_are_refused():
    rec = Record("t", 0, 0, 0, b"k", b"v", [])
    payload = bytearray(codec.encode(m.Batch(1, [rec]))[4:])
    key_len_at = 1 + 8 + 4 + 4 + 1 + 4 + 8 + 8
    assert payload[key_len_at:key_len_at + 4] == b"\x00\x00\x00\x01"
    payload[key_len_at:key_len_at + 4] = b"\xff\xff\xff\xfe"
    with pytest.raises(codec.MalformedFrame):
        codec.decode(bytes(payload))


def test_non_utf8_strings_round_trip():
    rec = Record("t\xff".encode("latin-1").decode("utf-8", "surrogateescape"), 1, 2, 3, None, b"",
                 [(b"\xfe".decode("utf-8", "surrogateescape"), b"x")])
    frame = codec.encode(m.Batch(9, [rec]))
    assert codec.decode(frame[4:]) == m.Batch(9, [rec])
    assert codec.encode(codec.decode(frame[4:])) == frame
