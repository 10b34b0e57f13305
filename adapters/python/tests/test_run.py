"""run() in a real process: stdout belongs to the protocol, not to print()."""

import io
import os
import subprocess
import sys
import textwrap

from sluice_node import Output, codec
from sluice_node import messages as m
from sluice_node.records import Record

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")

NODE = textwrap.dedent("""
    import os, sys
    from sluice_node import Output, run

    def process(r):
        print("print from the handler")           # must not corrupt the frames
        os.system("echo from a child process")    # nor may a child's stdout
        assert sys.stdin.read() == ""             # stdin is not the protocol's either
        return Output(r.value)

    run(process, name="printer")
""")


def test_print_and_children_go_to_stderr():
    env = dict(os.environ, PYTHONPATH=SRC)
    data = b"".join(codec.encode(x) for x in (
        m.Hello(1, "s", 0, 1 << 20, {}),
        m.Batch(1, [Record("t", 0, 0, 0, None, b"v", [])]),
        m.Shutdown()))
    p = subprocess.run([sys.executable, "-c", NODE], input=data, capture_output=True, env=env, timeout=30)
    assert p.returncode == 0, p.stderr.decode()
    ack, results = list(codec.FrameReader(io.BytesIO(p.stdout)))
    assert ack.name == "printer"
    assert results.results == [m.Result(m.OK, [Output(b"v", None, "", [])])]
    assert b"print from the handler" in p.stderr and b"from a child process" in p.stderr
