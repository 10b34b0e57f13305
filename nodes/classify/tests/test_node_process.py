"""classify.py as the stage runs it: a subprocess speaking protocol v1."""

import io
import json
import os
import subprocess
import sys

from sluice_node import codec
from sluice_node import messages as m
from sluice_node.records import Record

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(HERE))
NODE = os.path.join(HERE, "classify.py")


def node(settings, env=None):
    env = dict(os.environ, **(env or {}))
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(ROOT, "adapters", "python", "src"),
                                          env.get("PYTHONPATH", "")])
    return subprocess.Popen([sys.executable, NODE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)


def rec(i, value):
    return Record("events.clean", 0, i, 1714564800000 + i, b"s%d" % i, value, [("traceparent", b"t%d" % i)])


def test_classify_node_through_the_protocol(model_path):
    events = [
        {"sensor_id": "s0", "metric": "temperature", "value": 22.0, "unit": "C"},
        {"sensor_id": "s1", "metric": "temperature", "value": 95.0, "unit": "C"},
        {"sensor_id": "s2", "metric": "humidity", "value": 99.9, "unit": "%"},
        {"sensor_id": "s3", "metric": "pressure", "value": 1200, "unit": "hPa"},
    ]
    recs = [rec(i, json.dumps(e).encode()) for i, e in enumerate(events)] + [rec(4, b"{broken")]
    frames = [m.Hello(1, "classify", 0, 1 << 20, {"model": model_path}), m.Batch(1, recs),
              m.Batch(2, recs[:1]), m.Shutdown()]
    p = node({})
    out, err = p.communicate(b"".join(codec.encode(f) for f in frames), timeout=60)
    assert p.returncode == 0, err.decode()
    ack, r1, r2 = list(codec.FrameReader(io.BytesIO(out)))
    assert ack == m.HelloAck(1, "classify", "0.1.0", m.FEATURE_BATCH_HANDLER)
    assert r1.id == 1 and len(r1.results) == 5 and r2.id == 2
    preds = []
    for i, res in enumerate(r1.results[:4]):
        assert res.status == m.OK
        (o,) = res.outputs
        assert o.key == b"s%d" % i and o.headers == [("traceparent", b"t%d" % i)]
        preds.append(json.loads(o.value)["prediction"])
    assert preds[0] == "normal" and all(p in ("warning", "critical") for p in preds[1:])
    assert r1.results[4].status == m.ERROR and "value is not JSON" in r1.results[4].error


def test_missing_model_is_a_fatal_with_the_fix(tmp_path):
    missing = str(tmp_path / "missing.joblib")
    p = node({})
    hello = codec.encode(m.Hello(1, "classify", 0, 1 << 20, {"model": missing}))
    out, err = p.communicate(hello, timeout=60)
    assert p.returncode != 0
    (fatal,) = list(codec.FrameReader(io.BytesIO(out)))
    assert isinstance(fatal, m.Fatal) and "run `make build`" in fatal.message
    assert b"run `make build`" in err


def test_model_path_from_the_environment(model_path):
    p = node({}, env={"CLASSIFY_MODEL": model_path})
    out, err = p.communicate(codec.encode(m.Hello(1, "classify", 0, 1 << 20, {})), timeout=60)
    assert p.returncode == 0, err.decode()
    assert list(codec.FrameReader(io.BytesIO(out)))[0].type == m.HELLO_ACK
