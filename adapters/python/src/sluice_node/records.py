"""What a node author handles: input records, outputs, retriable errors."""

from typing import List, NamedTuple, Optional, Sequence, Tuple

# A Kafka record header: (key, value); a None value is a null header value.
Header = Tuple[str, Optional[bytes]]


class Record(NamedTuple):
    """One input record with its Kafka metadata.

    A tuple rather than a class with __init__: the adapter builds hundreds of
    thousands of these per second, and tuple construction is the cheapest
    object Python has. ``key``/``value`` are ``None`` when null and ``b""``
    when empty.
    """

    topic: str
    partition: int
    offset: int
    timestamp: int  # milliseconds since the Unix epoch
    key: Optional[bytes]
    value: Optional[bytes]
    headers: List[Header]


class Output(NamedTuple):
    """One record a node emits for an input record.

    ``name`` selects a named output of the stage ("" is ``default``).
    ``key``/``value`` may be bytes, str (sent as UTF-8) or None (null).
    """

    value: Optional[bytes]
    key: Optional[bytes] = None
    name: str = ""
    headers: Sequence[Header] = ()


class RetriableError(Exception):
    """Raise (or return, from a batch handler) to say a retry may succeed.

    The record goes to the DLQ marked ``node-retriable`` instead of
    ``node-error``.
    """
