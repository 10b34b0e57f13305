"""The messages of node protocol v1 (docs/protocol.md), as plain data.

Only the codec and tests build most of these; a node author meets ``Hello``
(in ``init``) and, through the batch, ``Record``.
"""

from dataclasses import dataclass, field
from typing import Dict, List

from .records import Output, Record

VERSION = 1

# Message types: the first byte of every frame payload.
HELLO = 0x01
HELLO_ACK = 0x02
BATCH = 0x03
RESULTS = 0x04
SHUTDOWN = 0x05
FATAL = 0x06
FILE_BATCH = 0x07
FILE_ACK = 0x08

TYPE_NAMES = {
    HELLO: "hello",
    HELLO_ACK: "hello_ack",
    BATCH: "batch",
    RESULTS: "results",
    SHUTDOWN: "shutdown",
    FATAL: "fatal",
    FILE_BATCH: "file_batch",
    FILE_ACK: "file_ack",
}

# Result statuses.
OK = 0
ERROR = 1
RETRIABLE = 2

# hello_ack feature bits.
FEATURE_BATCH_HANDLER = 1
FEATURE_FILES = 2

DEFAULT_MAX_FRAME = 16 << 20


@dataclass
class Hello:
    """The runtime's first frame: who this co-process is, and its settings."""

    version: int = VERSION
    stage: str = ""
    worker: int = 0
    max_frame: int = DEFAULT_MAX_FRAME
    settings: Dict[str, str] = field(default_factory=dict)
    type = HELLO


@dataclass
class HelloAck:
    version: int = VERSION
    name: str = ""
    node_version: str = ""
    features: int = 0
    type = HELLO_ACK


@dataclass
class Batch:
    id: int = 0
    records: List[Record] = field(default_factory=list)
    type = BATCH


@dataclass
class Result:
    """The answer for one record: outputs (status OK) or an error message."""

    status: int = OK
    outputs: List[Output] = field(default_factory=list)
    error: str = ""


@dataclass
class Results:
    id: int = 0
    results: List[Result] = field(default_factory=list)
    type = RESULTS


@dataclass
class Shutdown:
    type = SHUTDOWN


@dataclass
class Fatal:
    message: str = ""
    type = FATAL


@dataclass
class FileBatch:
    id: int = 0
    count: int = 0
    path: str = ""
    type = FILE_BATCH


@dataclass
class FileAck:
    id: int = 0
    path: str = ""
    type = FILE_ACK
