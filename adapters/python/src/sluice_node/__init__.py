"""Sluice nodes in Python: write a handler, call ``run``.

    from sluice_node import Output, run

    def upper(record):
        return Output(record.value.upper(), key=record.key)

    run(upper, name="upper")

See README.md for the API and docs/protocol.md for the wire protocol.
"""

from .codec import FrameReader, FrameTooLarge, MalformedFrame, ProtocolError, decode, encode
from .messages import Hello
from .node import run, serve
from .records import Header, Output, Record, RetriableError

__version__ = "0.1.0"

__all__ = [
    "Record", "Output", "Header", "RetriableError", "Hello", "run", "serve",
    "encode", "decode", "FrameReader", "ProtocolError", "MalformedFrame", "FrameTooLarge",
]
