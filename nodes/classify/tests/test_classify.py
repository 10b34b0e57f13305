"""Scoring in process: normal readings pass, anomalies are flagged, bad values fail."""

import json

import pytest

import classify
import train
from sluice_node import Output
from sluice_node.records import Record


@pytest.fixture(scope="module")
def classifier(model_path):
    return classify.Classifier.load(model_path)


def event(metric, value, **extra):
    unit = {"temperature": "C", "humidity": "%", "pressure": "hPa"}[metric]
    e = {"sensor_id": "alpha", "metric": metric, "value": value, "unit": unit,
         "ts": "2024-05-01T12:00:00.000Z"}
    e.update(extra)
    return e


def rec(value, key=b"alpha", headers=None):
    if isinstance(value, dict):
        value = json.dumps(value).encode()
    return Record("events.clean", 0, 1, 1714564800000, key, value, headers or [])


def scored(classifier, *events):
    results = classify.classify(classifier, [rec(e) for e in events])
    return [json.loads(r[0].value) for r in results]


NORMAL = [("temperature", 24.5), ("temperature", 16.0), ("humidity", 45.0), ("humidity", 31.5),
          ("pressure", 1012.0), ("pressure", 995.3)]
ANOMALOUS = [("temperature", 95.0), ("temperature", -20.0), ("humidity", 99.9), ("humidity", 2.0),
             ("pressure", 1200.0), ("pressure", 900.0)]


def test_normal_readings_are_normal(classifier):
    for out in scored(classifier, *[event(m, v) for m, v in NORMAL]):
        assert out["prediction"] == "normal", out
        assert 0.0 <= out["score"] < 0.5, out


def test_obvious_anomalies_are_flagged(classifier):
    for out in scored(classifier, *[event(m, v) for m, v in ANOMALOUS]):
        assert out["prediction"] in ("warning", "critical"), out
        assert out["score"] > 0.5, out
    extreme = scored(classifier, event("temperature", 95.0), event("pressure", 1200.0))
    assert [o["prediction"] for o in extreme] == ["critical", "critical"]


def test_mildly_outside_is_a_warning(classifier):
    (out,) = scored(classifier, event("temperature", 34.0))  # 4 C over a 15 C wide range
    assert out["prediction"] == "warning", out


def test_output_keeps_the_event_key_and_headers(classifier):
    e = event("humidity", 44.0, site="lab-2", note="café")
    r = rec(e, key=b"alpha", headers=[("traceparent", b"00-ab-01")])
    (res,) = classify.classify(classifier, [r])
    (out,) = res
    assert isinstance(out, Output) and out.key == b"alpha" and out.headers == r.headers
    got = json.loads(out.value)
    assert list(got)[:7] == ["sensor_id", "metric", "value", "unit", "ts", "site", "note"]
    assert got["note"] == "café" and "café".encode() in out.value
    assert {k: got[k] for k in e} == e
    assert got["score"] == round(got["score"], 4)


@pytest.mark.parametrize("value, reason", [
    (b"not json", "value is not JSON"),
    (None, "no value"),
    (b"[1, 2]", "not an object: list"),
    (b'{"metric": "temperature"}', 'no numeric "value"'),
    (b'{"metric": "temperature", "value": "hot"}', '"value" must be a number, got "hot"'),
    (b'{"metric": "temperature", "value": true}', '"value" must be a number, got true'),
    (b'{"metric": "temperature", "value": NaN}', "must be finite"),
    (b'{"value": 3}', 'no "metric"'),
    (b'{"metric": ["x"], "value": 3}', "unknown metric"),
    (b'{"metric": "co2", "value": 400}', 'unknown metric "co2"'),
])
def test_bad_values_fail_their_record_only(classifier, value, reason):
    results = classify.classify(classifier, [rec(event("temperature", 22.0)), rec(value)])
    assert isinstance(results[0], list)
    assert type(results[1]) is Exception and reason in str(results[1])


def test_a_batch_of_only_bad_values(classifier):
    assert all(isinstance(r, Exception) for r in classify.classify(classifier, [rec(b"x"), rec(b"y")]))


def test_missing_model_says_how_to_build_it(tmp_path):
    with pytest.raises(Exception, match="run `make build`"):
        classify.Classifier.load(str(tmp_path / "nope.joblib"))


def test_training_is_deterministic():
    a = train.synthesize(n=500, seed=3)
    b = train.synthesize(n=500, seed=3)
    assert all((x == y).all() for x, y in zip(a, b))
    assert set(a[2]) == {"normal", "warning", "critical"}
