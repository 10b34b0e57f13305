"""The classify node: scores clean sensor events with the trained model.

    python nodes/classify/classify.py        (run by the stage; speaks protocol v1)

Input: a clean event, e.g. {"sensor_id":"alpha","metric":"temperature",
"value":24.5,"unit":"C","ts":"..."}. Output: the same event (extra fields
kept, key and headers unchanged) plus "prediction" (normal | warning |
critical) and "score" (the probability of not normal, 4 decimals). A value
that is not a JSON object with a known "metric" and a numeric "value" fails
its record (the stage's DLQ) with the reason.

The model is loaded once per co-process, in the handshake, from the stage
setting `model`, else $CLASSIFY_MODEL, else .cache/models/classify.joblib;
and the whole batch is scored with one predict_proba call.
"""

import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
try:
    import sluice_node  # noqa: F401
except ImportError:  # run from a checkout without the adapter installed
    sys.path.insert(0, os.path.join(ROOT, "adapters", "python", "src"))

import numpy as np  # noqa: E402

import features  # noqa: E402
from sluice_node import Output, run  # noqa: E402

DEFAULT_MODEL = os.path.join(".cache", "models", "classify.joblib")
VERSION = "0.1.0"


class Classifier:
    """A loaded model and how to score events with it."""

    def __init__(self, bundle: dict):
        self.model = bundle["model"]
        if bundle.get("features") != features.FEATURES:
            raise Exception("the model was trained on other features than this node computes: "
                            "retrain it with `make build`")
        self.model.n_jobs = 1  # the stage scales by workers, not threads
        self.classes = [str(c) for c in self.model.classes_]
        self.normal = self.classes.index("normal")

    @classmethod
    def load(cls, path: str) -> "Classifier":
        if not os.path.exists(path):
            raise Exception(f"model file {path} not found: run `make build` to train it "
                            f"(or: python nodes/classify/train.py {path})")
        import joblib  # only here: the import is slow, and tests may not need it

        return cls(joblib.load(path))

    def score(self, metric: np.ndarray, value: np.ndarray):
        """(predictions, scores) for many readings at once."""
        proba = self.model.predict_proba(features.matrix(metric, value))
        labels = [self.classes[i] for i in proba.argmax(axis=1)]
        scores = np.round(1.0 - proba[:, self.normal], 4)
        return labels, [max(0.0, float(s)) for s in scores]


def parse(value):
    """(event, metric index, reading) of a record value, or ValueError saying why not."""
    if value is None:
        raise ValueError("the record has no value (null)")
    try:
        event = json.loads(value)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"value is not JSON: {e}") from None
    if not isinstance(event, dict):
        raise ValueError(f"value is JSON but not an object: {type(event).__name__}")
    metric = event.get("metric")
    if not isinstance(metric, str) or metric not in features.INDEX:
        if metric is None:
            raise ValueError('event has no "metric" field')
        raise ValueError(f"unknown metric {json.dumps(metric)}; the model knows {', '.join(features.NAMES)}")
    reading = event.get("value")
    if isinstance(reading, bool) or not isinstance(reading, (int, float)):
        if reading is None:
            raise ValueError('event has no numeric "value" field')
        raise ValueError(f'"value" must be a number, got {json.dumps(reading)}')
    if not math.isfinite(reading):
        raise ValueError(f'"value" must be finite, got {reading}')
    return event, features.INDEX[metric], float(reading)


def classify(classifier: Classifier, records):
    """One result per record: [Output] with the scored event, or an Exception."""
    results = [None] * len(records)
    events, rows, metric, reading = [], [], [], []
    for i, r in enumerate(records):
        try:
            event, m, v = parse(r.value)
        except ValueError as e:
            results[i] = Exception(str(e))  # a plain Exception: the DLQ reason as is
            continue
        events.append(event)
        rows.append(i)
        metric.append(m)
        reading.append(v)
    if rows:
        labels, scores = classifier.score(np.array(metric, dtype=np.intp), np.array(reading))
        for event, i, label, score in zip(events, rows, labels, scores):
            event["prediction"] = label
            event["score"] = score
            r = records[i]
            value = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
            results[i] = [Output(value, r.key, headers=r.headers)]
    return results


def model_path(settings) -> str:
    path = settings.get("model") or os.environ.get("CLASSIFY_MODEL") or DEFAULT_MODEL
    if path == DEFAULT_MODEL and not os.path.exists(path):
        path = os.path.join(ROOT, DEFAULT_MODEL)  # started from another directory
    return path


def main():
    state = {}

    def init(hello):
        path = model_path(hello.settings)
        state["classifier"] = Classifier.load(path)
        sys.stderr.write(f"classify: model {path} loaded (worker {hello.worker})\n")

    run(process_batch=lambda records: classify(state["classifier"], records), name="classify",
        version=VERSION, init=init)


if __name__ == "__main__":
    main()
