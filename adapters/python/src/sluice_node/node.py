"""The node side of the conversation: handshake, batches, results, shutdown.

Why it is shaped this way (it is the throughput of every Python stage):

* Input is read in large chunks with one ``os.read`` each, and frames are
  parsed out of that buffer by offset; a frame is never read with a
  system call of its own.
* All results of a batch are encoded into one ``bytearray``; finished
  frames wait in ``pending`` and are written with one ``os.write`` when no
  complete frame is left in the input buffer, i.e. just before the node
  would block on a read. Under load, several batches' results leave in
  one system call, which is what makes the runtime's pipelining pay.
* A frame's length is checked against ``max_frame`` before any byte of it
  is read, so a hostile prefix cannot make the node allocate.
"""

import os
import struct
import sys
import traceback
from typing import Callable, Optional

from . import codec
from . import messages as m
from .records import Output, RetriableError

# How much one read asks for. Pipes hand out at most what they hold (64 KiB
# by default, 1 MiB once enlarged below), so this bounds nothing in practice.
CHUNK = 1 << 20
# Write what is pending once it gets this big even if input keeps coming, so
# memory stays bounded when the runtime sends faster than it reads.
MAX_PENDING = 4 << 20
F_SETPIPE_SZ = 1031  # Linux fcntl; absent elsewhere, and then harmless

_OK_NONE = b"\x00\x00\x00\x00\x00"  # status OK, zero outputs
_OK_ONE_UNNAMED = b"\x00\x00\x00\x00\x01\x00\x00\x00\x00"  # status OK, one output, name ""
_NO_HEADERS = b"\x00\x00\x00\x00"
_NULL = b"\xff\xff\xff\xff"
_I32 = struct.Struct(">i")
_RESULTS_HEAD = struct.Struct(">IBQI")  # length, type, batch id, count
_PLAIN = (Exception, RetriableError)


def describe(e: BaseException):
    """The (status, message) a handler exception becomes.

    A plain ``Exception("reason")`` or ``RetriableError("reason")`` is the
    author's own message, sent as is; any other type (a bug, most likely:
    KeyError, ValueError...) is prefixed with its class name so the DLQ
    reason says what happened.
    """
    status = m.RETRIABLE if isinstance(e, RetriableError) else m.ERROR
    text = str(e)
    if type(e) not in _PLAIN:
        text = f"{type(e).__name__}: {text}" if text else type(e).__name__
    elif not text:
        text = type(e).__name__
    return status, text


class _Server:
    def __init__(self, read, write, process, process_batch, name, version, init, log):
        if (process is None) == (process_batch is None):
            raise TypeError("pass exactly one of process and process_batch")
        self.read = read
        self.write = write
        self.process = process
        self.process_batch = process_batch
        self.name = name
        self.version = version or "0.0.0"
        self.init = init
        self.log = log
        self.max_frame = m.DEFAULT_MAX_FRAME
        self.pending = []
        self.pending_size = 0
        self.traced = False

    # -------------------------------------------------------------- output

    def flush(self) -> None:
        if self.pending:
            data = self.pending[0] if len(self.pending) == 1 else b"".join(self.pending)
            self.pending.clear()
            self.pending_size = 0
            self.write(data)

    def fatal(self, message: str) -> int:
        """Tells the runtime why the node stops (after what is pending), exits 1."""
        self.log(f"sluice node {self.name}: {message}")
        self.pending.append(codec.encode(m.Fatal(message)))
        try:
            self.flush()
        except OSError:
            pass
        return 1

    # ------------------------------------------------------------ the loop

    def serve(self) -> int:
        read = self.read
        buf = b""
        pos = 0
        hello = None
        while True:
            avail = len(buf) - pos
            if avail >= 4:
                try:
                    n = codec.frame_length(buf, pos, self.max_frame)
                except codec.ProtocolError as e:
                    return self.fatal(str(e))
                end = pos + 4 + n
                if end <= len(buf):
                    payload = buf[pos + 4:end]
                    pos = end
                    if hello is None:
                        hello, code = self.handshake(payload)
                        if code is not None:
                            return code
                        continue
                    t = payload[0]
                    if t == m.BATCH:
                        try:
                            batch = codec.decode_batch(payload)
                        except codec.ProtocolError as e:
                            return self.fatal(str(e))
                        frame = self.answer(batch)
                        self.pending.append(frame)
                        self.pending_size += len(frame)
                        if self.pending_size >= MAX_PENDING:
                            self.flush()
                    elif t == m.SHUTDOWN and n == 1:
                        self.flush()
                        return 0
                    else:
                        return self.unexpected(payload)
                    continue
                need = end - len(buf)
            else:
                need = 4 - avail
            # No complete frame is buffered: the node would block on the
            # read, so this is the moment to hand over what is pending.
            self.flush()
            parts = [buf[pos:]] if avail else []
            while need > 0:
                data = read(max(CHUNK, min(need, 4 * CHUNK)))
                if not data:
                    if avail or parts:
                        return self.fatal("unexpected end of input inside a frame")
                    return 0  # a clean end of input means shutdown
                parts.append(data)
                need -= len(data)
            buf = parts[0] if len(parts) == 1 else b"".join(parts)
            pos = 0

    def handshake(self, payload: bytes):
        """Returns (hello, None) to go on, or (None, exit code) to stop."""
        try:
            hello = codec.decode(payload)
        except codec.ProtocolError as e:
            return None, self.fatal(f"reading the handshake: {e}")
        if not isinstance(hello, m.Hello):
            return None, self.fatal(f"expected a hello frame first, got {m.TYPE_NAMES[hello.type]}")
        if hello.version != m.VERSION:
            return None, self.fatal(
                f"unsupported protocol version {hello.version}; this node speaks {m.VERSION}")
        if hello.max_frame > 0:
            self.max_frame = hello.max_frame
        if self.init is not None:
            try:
                self.init(hello)
            except Exception as e:
                return None, self.fatal(f"init: {describe(e)[1]}")
        features = m.FEATURE_BATCH_HANDLER if self.process_batch is not None else 0
        self.write(codec.encode(m.HelloAck(m.VERSION, self.name, self.version, features)))
        return hello, None

    def unexpected(self, payload: bytes) -> int:
        try:
            msg = codec.decode(payload)
        except codec.ProtocolError as e:
            return self.fatal(str(e))
        return self.fatal(f"unexpected {m.TYPE_NAMES[msg.type]} frame after the handshake")

    # ------------------------------------------------------------- answers

    def answer(self, batch: m.Batch) -> bytearray:
        recs = batch.records
        out = bytearray(_RESULTS_HEAD.size)
        if self.process is not None:
            self.each(recs, out)
        else:
            self.whole(recs, out)
        _RESULTS_HEAD.pack_into(out, 0, len(out) - 4, m.RESULTS, batch.id, len(recs))
        if len(out) - 4 > self.max_frame:
            out = self.shrink(out)
        return out

    def error(self, out: bytearray, e: Exception) -> None:
        if not self.traced and type(e) not in _PLAIN:
            # A bug in a handler would otherwise only show in the DLQ.
            self.traced = True
            self.log("sluice node %s: a handler raised; this and later errors go to the DLQ:\n%s"
                     % (self.name, "".join(traceback.format_exception(type(e), e, e.__traceback__))))
        codec.put_error(out, *describe(e))

    def each(self, recs, out: bytearray) -> None:
        process = self.process
        put = codec.put_outputs
        pack_i = _I32.pack
        for r in recs:
            mark = len(out)
            try:
                res = process(r)
                if type(res) is Output:
                    value, key, name, headers = res
                    # Inline the most common answer (one unnamed output of
                    # bytes, no headers): it saves a third of encoding.
                    if (not name and not headers and type(value) is bytes
                            and (key is None or type(key) is bytes)):
                        out += _OK_ONE_UNNAMED
                        if key is None:
                            out += _NULL
                        else:
                            out += pack_i(len(key))
                            out += key
                        out += pack_i(len(value))
                        out += value
                        out += _NO_HEADERS
                    else:
                        put(out, (res,))
                elif res is None:
                    out += _OK_NONE
                elif type(res) is list:
                    put(out, res)
                else:
                    put(out, _outputs(res))
            except Exception as e:
                del out[mark:]
                self.error(out, e)

    def whole(self, recs, out: bytearray) -> None:
        try:
            results = self.process_batch(recs)
            results = list(results)
        except Exception as e:
            status, text = describe(e)
            for _ in recs:
                codec.put_error(out, status, "batch handler: " + text)
            return
        if len(results) != len(recs):
            text = f"batch handler returned {len(results)} results for {len(recs)} records"
            for _ in recs:
                codec.put_error(out, m.ERROR, text)
            return
        put = codec.put_outputs
        for res in results:
            mark = len(out)
            try:
                if isinstance(res, BaseException):
                    codec.put_error(out, *describe(res))
                elif type(res) is list:
                    put(out, res)
                elif res is None:
                    out += _OK_NONE
                else:
                    put(out, _outputs(res))
            except Exception as e:
                del out[mark:]
                self.error(out, e)

    def shrink(self, out: bytearray) -> bytearray:
        """Turns the largest results into errors until the frame fits.

        Rare, so it decodes its own frame back rather than costing the
        common path any bookkeeping. One huge output fails its own record,
        not the node.
        """
        rs = codec.decode(bytes(out[4:]))
        results = rs.results
        sizes = []
        for res in results:
            b = bytearray()
            codec.put_result(b, res)
            sizes.append(len(b))
        total = _RESULTS_HEAD.size + sum(sizes)
        for i in sorted(range(len(results)), key=lambda i: -sizes[i]):
            if total <= self.max_frame:
                break
            text = f"outputs of this record take {sizes[i]} bytes, over the {self.max_frame}-byte frame limit"
            results[i] = m.Result(m.ERROR, [], text)
            b = bytearray()
            codec.put_result(b, results[i])
            total += len(b) - sizes[i]
        new = bytearray(_RESULTS_HEAD.size)
        for res in results:
            codec.put_result(new, res)
        _RESULTS_HEAD.pack_into(new, 0, len(new) - 4, m.RESULTS, rs.id, len(results))
        return new


def _outputs(res):
    """Normalizes what a handler returned to a list of outputs."""
    if isinstance(res, Output):
        return [res]
    if isinstance(res, (bytes, str, bytearray)):
        raise TypeError(f"a handler must return Output objects, a list of them or None, "
                        f"not {type(res).__name__}")
    return list(res)


def _log(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def serve(read: Callable[[int], bytes], write: Callable[[bytes], object], *,
          process=None, process_batch=None, name: str = "node", version: str = "0.0.0",
          init=None, log: Callable[[str], None] = _log) -> int:
    """Speaks the protocol through ``read(n)``/``write(data)`` until shutdown.

    Returns the exit status ``run`` would use: 0 after a shutdown or the end
    of input, 1 after a protocol error (reported to the runtime as a fatal
    frame first). ``run`` without the process plumbing, for tests and
    embedding.
    """
    return _Server(read, write, process, process_batch, name, version, init, log).serve()


def _claim_stdio():
    """Takes fds 0 and 1 for the protocol and points the originals elsewhere.

    A stray ``print()`` or a child process writing to stdout would corrupt
    the frame stream; after this they land on stderr (the node's log), and a
    stray read of stdin sees end of file instead of stealing frames.
    """
    sys.stdout.flush()
    in_fd = os.dup(0)
    out_fd = os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for fd in (in_fd, out_fd):
        try:
            import fcntl
            fcntl.fcntl(fd, F_SETPIPE_SZ, 1 << 20)  # fewer, larger reads and writes
        except (ImportError, OSError):
            pass  # not a pipe, not Linux, or over the system's limit
    return in_fd, out_fd


def run(process=None, process_batch=None, name: str = "node", version: str = "0.0.0",
        init: Optional[Callable[[m.Hello], None]] = None) -> None:
    """Serves a node on stdin/stdout, then exits the process.

    ``process(record)`` returns an ``Output``, a list of them, or None (no
    output); raising fails that record. ``process_batch(records)`` returns
    one entry per record: a list of outputs (or an Output, or None), or an
    Exception instance. ``init(hello)`` runs once after the handshake is
    read, before it is answered; raising stops the node with that message.
    """
    if (process is None) == (process_batch is None):
        raise TypeError("pass exactly one of process and process_batch")
    in_fd, out_fd = _claim_stdio()

    def write(data) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(out_fd, view):]

    try:
        code = serve(lambda n: os.read(in_fd, n), write, process=process,
                     process_batch=process_batch, name=name, version=version, init=init)
    except BrokenPipeError:
        _log(f"sluice node {name}: the runtime closed the pipe")
        code = 1
    except KeyboardInterrupt:  # a Ctrl-C that reached the node: no traceback
        code = 130
    sys.exit(code)
