"""The conformance node of the Python adapter (docs/conformance.md).

Run from the repository root as
``.cache/venv/bin/python adapters/python/conformance_node.py``; it also runs
with a plain ``python`` when the package is not installed, by putting
``src/`` on the path.
"""

import os
import sys

try:
    import sluice_node  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "src"))

from sluice_node import Output, RetriableError, run  # noqa: E402


def process(r):
    v = r.value
    passthrough = Output(v, r.key, headers=r.headers)
    if not v:
        return passthrough
    if v.startswith(b"multi:"):
        digits = v[6:]
        if digits.isdigit():
            return [Output(b"%s#%d" % (v, i), r.key) for i in range(int(digits))]
    elif v == b"alert":
        return [passthrough, Output(b"ALERT", r.key, name="alerts")]
    elif v.startswith(b"fail:"):
        raise Exception(v[5:].decode("utf-8", "replace"))
    elif v.startswith(b"retry:"):
        raise RetriableError(v[6:].decode("utf-8", "replace"))
    elif v == b"crash":
        os._exit(3)  # at once: no flush, no answer
    elif v.startswith(b"log:"):
        sys.stderr.write(v[4:].decode("utf-8", "replace") + "\n")
        sys.stderr.flush()
    return passthrough


if __name__ == "__main__":
    run(process, name="conformance", version="0.1.0")
