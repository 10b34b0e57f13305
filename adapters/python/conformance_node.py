"""The conformance node of the Python adapter (docs/conformance.md).

Run from the repository root as
``.cache/venv/bin/python adapters/python/conformance_node.py``; it also runs
with a plain ``python`` when the package is not installed, by putting
``src/`` on the path.

With ``--batch`` the same answers come from a batch handler
(``process_batch``): each record is answered as ``process`` would, a failed
record by returning its exception. ``sluice bench`` runs it this way for
its Python batch-handler row, so both Python rows do the same work per
record and differ only in the handler API.
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


def process_batch(records):
    results = []
    for r in records:
        try:
            results.append(process(r))
        except Exception as e:  # this record fails, not the batch
            results.append(e)
    return results


if __name__ == "__main__":
    if sys.argv[1:] == ["--batch"]:
        run(process_batch=process_batch, name="conformance", version="0.1.0")
    elif sys.argv[1:]:
        sys.exit("usage: conformance_node.py [--batch]")
    else:
        run(process, name="conformance", version="0.1.0")
