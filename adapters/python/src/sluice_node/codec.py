"""Encoding and decoding of protocol v1 frames (docs/protocol.md).

Two speeds on purpose: ``decode_batch`` and ``put_outputs`` are the hot path
of every node (hundreds of thousands of records a second), written with
precompiled ``struct`` unpackers, offsets into one payload and no helper call
per field; everything else (handshake, tests, the results decoder a client
needs) goes through the small, readable ``_Reader``.

Strings (topic, header keys, names) are decoded as UTF-8 with
``surrogateescape`` so that any bytes survive a decode/encode round trip, as
they do in the Go implementation.
"""

import struct
from typing import BinaryIO, Iterable, List, Optional

from . import messages as m
from .records import Output, Record

__all__ = [
    "ProtocolError", "MalformedFrame", "FrameTooLarge", "decode", "decode_batch",
    "encode", "put_outputs", "put_error", "FrameReader", "frame_length",
]


class ProtocolError(Exception):
    """The peer broke the protocol; the connection cannot be trusted after it."""


class MalformedFrame(ProtocolError):
    """Bytes that are not a valid v1 message. The text starts "malformed frame: "."""

    def __init__(self, reason: str):
        super().__init__("malformed frame: " + reason)


class FrameTooLarge(ProtocolError):
    """A length prefix over the limit: refused before anything is allocated."""

    def __init__(self, n: int, limit: int):
        super().__init__(f"frame too large: {n} bytes announced, limit is {limit}")


_U8 = struct.Struct(">B")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")
_U64 = struct.Struct(">Q")
_ID_COUNT = struct.Struct(">QI")
_STATUS_COUNT = struct.Struct(">BI")
# partition:i32 offset:i64 timestamp:i64 key-length:i32, read in one call.
_RECORD_META = struct.Struct(">iqqi")

# Smallest encodings, to refuse counts that cannot fit in the bytes left
# before allocating anything for them.
MIN_RECORD = 4 + 4 + 8 + 8 + 4 + 4 + 4
MIN_OUTPUT = 4 + 4 + 4 + 4
MIN_RESULT = 5
MIN_HEADER = 8

_NULL = b"\xff\xff\xff\xff"
_ZERO = b"\x00\x00\x00\x00"


def _str(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _enc(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def frame_length(prefix: bytes, offset: int, max_frame: int) -> int:
    """Reads a length prefix and checks it, before the payload is read."""
    (n,) = _U32.unpack_from(prefix, offset)
    if n > max_frame:
        raise FrameTooLarge(n, max_frame)
    if n == 0:
        raise MalformedFrame("zero-length frame")
    return n


# ---------------------------------------------------------------- decoding


class _Reader:
    """A cursor over one payload; every length is checked before it is used."""

    __slots__ = ("b", "off")

    def __init__(self, b: bytes, off: int = 1):
        self.b = b
        self.off = off

    def _need(self, n: int, what: str) -> None:
        if len(self.b) - self.off < n:
            raise MalformedFrame(f"truncated {what} at byte {self.off} of {len(self.b)}")

    def unpack(self, st: struct.Struct, what: str):
        self._need(st.size, what)
        v = st.unpack_from(self.b, self.off)
        self.off += st.size
        return v[0] if len(v) == 1 else v

    def raw(self, n: int, what: str) -> bytes:
        self._need(n, what)
        v = self.b[self.off:self.off + n]
        self.off += n
        return v

    def string(self, what: str) -> str:
        return _str(self.raw(self.unpack(_U32, what), what))

    def nbytes(self, what: str) -> Optional[bytes]:
        n = self.unpack(_U32, what)
        return None if n == 0xFFFFFFFF else self.raw(n, what)

    def count(self, what: str, min_elem: int) -> int:
        n = self.unpack(_U32, what)
        left = len(self.b) - self.off
        if n * min_elem > left:
            raise MalformedFrame(f"{what} count {n} exceeds the {left} bytes left")
        return n

    def headers(self) -> list:
        return [(self.string("header key"), self.nbytes("header value"))
                for _ in range(self.count("header", MIN_HEADER))]


def decode(payload: bytes):
    """Decodes one frame payload (the bytes after the length prefix)."""
    if not payload:
        raise MalformedFrame("empty frame")
    t = payload[0]
    if t == m.BATCH:
        return decode_batch(payload)
    r = _Reader(payload)
    if t == m.HELLO:
        msg = m.Hello(version=r.unpack(_U16, "version"), stage=r.string("stage"),
                      worker=r.unpack(_U32, "worker"), max_frame=r.unpack(_U32, "max frame"))
        for _ in range(r.count("settings", 8)):
            k = r.string("setting key")
            msg.settings[k] = r.string("setting value")
    elif t == m.HELLO_ACK:
        msg = m.HelloAck(version=r.unpack(_U16, "version"), name=r.string("name"),
                         node_version=r.string("node version"), features=r.unpack(_U32, "features"))
    elif t == m.RESULTS:
        msg = _decode_results(r)
    elif t == m.SHUTDOWN:
        msg = m.Shutdown()
    elif t == m.FATAL:
        msg = m.Fatal(message=r.string("message"))
    elif t == m.FILE_BATCH:
        msg = m.FileBatch(id=r.unpack(_U64, "batch id"), count=r.unpack(_U32, "record count"),
                          path=r.string("path"))
    elif t == m.FILE_ACK:
        msg = m.FileAck(id=r.unpack(_U64, "batch id"), path=r.string("path"))
    else:
        raise MalformedFrame(f"unknown message type 0x{t:02x}")
    if r.off != len(payload):
        raise MalformedFrame(f"{len(payload) - r.off} trailing bytes after {m.TYPE_NAMES[t]}")
    return msg


def _decode_results(r: _Reader) -> m.Results:
    rs = m.Results(id=r.unpack(_U64, "batch id"))
    for i in range(r.count("result", MIN_RESULT)):
        status = r.unpack(_U8, "status")
        if status == m.OK:
            outs = []
            for _ in range(r.count("output", MIN_OUTPUT)):
                name = r.string("output name")
                key = r.nbytes("output key")
                value = r.nbytes("output value")
                outs.append(Output(value, key, name, r.headers()))
            rs.results.append(m.Result(m.OK, outs))
        elif status in (m.ERROR, m.RETRIABLE):
            rs.results.append(m.Result(status, [], r.string("error message")))
        else:
            raise MalformedFrame(f"result {i} has unknown status {status}")
    return rs


def decode_batch(p: bytes) -> m.Batch:
    """Decodes a batch payload: the hot path of every node.

    Offsets are checked lazily: a length that runs past the end makes the
    next ``unpack_from`` fail (caught below), and the final offset must land
    exactly on the end, which catches the rest.
    """
    end = len(p)
    try:
        bid, count = _ID_COUNT.unpack_from(p, 1)
        off = 13
        if count * MIN_RECORD > end - off:
            raise MalformedFrame(f"record count {count} exceeds the {end - off} bytes left")
        recs = [None] * count
        u32 = _U32.unpack_from
        i32 = _I32.unpack_from
        meta = _RECORD_META.unpack_from
        new = tuple.__new__
        last_raw = b""
        topic = ""
        for i in range(count):
            (tl,) = u32(p, off)
            off += 4
            # Records of a batch mostly share one topic: decode it once.
            if tl != len(last_raw) or not p.startswith(last_raw, off):
                last_raw = p[off:off + tl]
                topic = last_raw.decode("utf-8", "surrogateescape")
            off += tl
            part, offset, ts, n = meta(p, off)
            off += 24
            if n >= 0:
                key = p[off:off + n]
                off += n
            elif n == -1:
                key = None
            else:
                raise MalformedFrame(f"key length {n} at byte {off - 4}")
            (n,) = i32(p, off)
            off += 4
            if n >= 0:
                value = p[off:off + n]
                off += n
            elif n == -1:
                value = None
            else:
                raise MalformedFrame(f"value length {n} at byte {off - 4}")
            (n,) = u32(p, off)
            off += 4
            if n:
                headers, off = _batch_headers(p, off, n)
            else:
                headers = []
            recs[i] = new(Record, (topic, part, offset, ts, key, value, headers))
    except struct.error:
        raise MalformedFrame(f"truncated batch of {end} bytes") from None
    if off != end:
        if off > end:
            raise MalformedFrame(f"truncated batch of {end} bytes")
        raise MalformedFrame(f"{end - off} trailing bytes after batch")
    return m.Batch(bid, recs)


def _batch_headers(p: bytes, off: int, n: int):
    if n * MIN_HEADER > len(p) - off:
        raise MalformedFrame(f"header count {n} exceeds the {len(p) - off} bytes left")
    hs = []
    for _ in range(n):
        (kl,) = _U32.unpack_from(p, off)
        off += 4
        k = p[off:off + kl].decode("utf-8", "surrogateescape")
        off += kl
        (vl,) = _I32.unpack_from(p, off)
        off += 4
        if vl >= 0:
            v = p[off:off + vl]
            off += vl
        elif vl == -1:
            v = None
        else:
            raise MalformedFrame(f"header value length {vl} at byte {off - 4}")
        hs.append((k, v))
    return hs, off


# ---------------------------------------------------------------- encoding


def _as_bytes(x, what: str) -> Optional[bytes]:
    if x is None or type(x) is bytes:
        return x
    if isinstance(x, str):
        return x.encode("utf-8")
    if isinstance(x, (bytes, bytearray, memoryview)):
        return bytes(x)
    raise TypeError(f"output {what} must be bytes, str or None, not {type(x).__name__}")


def _as_output(o) -> Output:
    if isinstance(o, Output):
        return o
    if isinstance(o, (bytes, str, bytearray, memoryview)):
        return Output(o)
    raise TypeError(f"a handler must return Output objects, not {type(o).__name__}")


def put_headers(out: bytearray, headers) -> None:
    hs = list(headers)
    out += _U32.pack(len(hs))
    for k, v in hs:
        kb = _enc(k)
        out += _U32.pack(len(kb))
        out += kb
        if v is None:
            out += _NULL
        else:
            if type(v) is not bytes:
                v = _as_bytes(v, "header value")
            out += _I32.pack(len(v))
            out += v


def put_outputs(out: bytearray, outputs: List[Output]) -> None:
    """Appends an OK result with these outputs to ``out``.

    May raise (TypeError for a value that is not bytes/str/None) after
    appending part of the result: the caller truncates ``out`` back.
    """
    out += _STATUS_COUNT.pack(0, len(outputs))
    pack_i = _I32.pack
    for o in outputs:
        if type(o) is not Output:
            o = _as_output(o)
        value, key, name, headers = o
        if name:
            if type(name) is not str:
                raise TypeError(f"output name must be str, not {type(name).__name__}")
            nb = _enc(name)
            out += _U32.pack(len(nb))
            out += nb
        else:
            out += _ZERO
        if key is None:
            out += _NULL
        else:
            if type(key) is not bytes:
                key = _as_bytes(key, "key")
            out += pack_i(len(key))
            out += key
        if value is None:
            out += _NULL
        else:
            if type(value) is not bytes:
                value = _as_bytes(value, "value")
            out += pack_i(len(value))
            out += value
        if headers:
            put_headers(out, headers)
        else:
            out += _ZERO


def put_error(out: bytearray, status: int, message: str) -> None:
    b = _enc(message)
    out += _STATUS_COUNT.pack(status, len(b))
    out += b


def _put_string(out: bytearray, s: str) -> None:
    b = _enc(s)
    out += _U32.pack(len(b))
    out += b


def begin_frame(t: int) -> bytearray:
    """A buffer holding a frame header; finish it with ``end_frame``."""
    out = bytearray(4)
    out.append(t)
    return out


def end_frame(out: bytearray) -> bytearray:
    struct.pack_into(">I", out, 0, len(out) - 4)
    return out


def encode(msg) -> bytes:
    """The whole frame of ``msg``, length prefix included."""
    t = msg.type
    out = begin_frame(t)
    if t == m.HELLO:
        out += _U16.pack(msg.version)
        _put_string(out, msg.stage)
        out += struct.pack(">II", msg.worker, msg.max_frame)
        # Sorted by the keys' bytes, so the encoding is canonical.
        items = sorted((_enc(k), v) for k, v in msg.settings.items())
        out += _U32.pack(len(items))
        for k, v in items:
            out += _U32.pack(len(k))
            out += k
            _put_string(out, v)
    elif t == m.HELLO_ACK:
        out += _U16.pack(msg.version)
        _put_string(out, msg.name)
        _put_string(out, msg.node_version)
        out += _U32.pack(msg.features)
    elif t == m.BATCH:
        out += _ID_COUNT.pack(msg.id, len(msg.records))
        for r in msg.records:
            _put_string(out, r.topic)
            out += struct.pack(">iqq", r.partition, r.offset, r.timestamp)
            for b in (r.key, r.value):
                if b is None:
                    out += _NULL
                else:
                    out += _I32.pack(len(b))
                    out += b
            put_headers(out, r.headers)
    elif t == m.RESULTS:
        out += _ID_COUNT.pack(msg.id, len(msg.results))
        for res in msg.results:
            put_result(out, res)
    elif t == m.SHUTDOWN:
        pass
    elif t == m.FATAL:
        _put_string(out, msg.message)
    elif t == m.FILE_BATCH:
        out += _ID_COUNT.pack(msg.id, msg.count)
        _put_string(out, msg.path)
    elif t == m.FILE_ACK:
        out += _U64.pack(msg.id)
        _put_string(out, msg.path)
    else:
        raise TypeError(f"cannot encode {msg!r}")
    return bytes(end_frame(out))


def put_result(out: bytearray, res: m.Result) -> None:
    if res.status == m.OK:
        put_outputs(out, list(res.outputs))
    else:
        put_error(out, res.status, res.error)


# ------------------------------------------------------------ frame reading


class FrameReader:
    """Reads frames from a blocking binary stream (tests, clients, tools).

    The node itself does not use this: it parses frames out of large reads
    (see ``node.py``).
    """

    def __init__(self, stream: BinaryIO, max_frame: int = m.DEFAULT_MAX_FRAME):
        self.stream = stream
        self.max_frame = max_frame

    def _exactly(self, n: int) -> bytes:
        parts = []
        while n:
            b = self.stream.read(n)
            if not b:
                break
            parts.append(b)
            n -= len(b)
        return b"".join(parts)

    def read_frame(self) -> Optional[bytes]:
        """The next payload, or None at a clean end of stream."""
        prefix = self._exactly(4)
        if not prefix:
            return None
        if len(prefix) < 4:
            raise MalformedFrame("end of stream inside a length prefix")
        n = frame_length(prefix, 0, self.max_frame)
        payload = self._exactly(n)
        if len(payload) < n:
            raise MalformedFrame(f"end of stream after {len(payload)} of {n} payload bytes")
        return payload

    def read_message(self):
        p = self.read_frame()
        return None if p is None else decode(p)

    def __iter__(self) -> Iterable:
        while True:
            msg = self.read_message()
            if msg is None:
                return
            yield msg
