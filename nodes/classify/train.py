"""Trains the classify model on synthetic sensor readings and saves it.

    python nodes/classify/train.py [PATH]     (default .cache/models/classify.joblib)

The data is generated here, seeded, so the same model comes out every time:
normal readings inside each metric's normal range (with sensor noise that
may stray a little outside it), warnings mildly outside the range (up to
half a range width), and critical readings far outside it (spikes up to
five range widths, clipped to what the sensor can report). A random forest
learns normal / warning / critical from the features in features.py; the
accuracy on a held-out quarter is printed.
"""

import os
import sys
import time

import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import classification_report
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import features  # noqa: E402

DEFAULT_PATH = os.path.join(".cache", "models", "classify.joblib")
# What a sensor can report at all: humidity is a percentage.
LIMITS = {"temperature": (-80.0, 200.0), "humidity": (0.0, 100.0), "pressure": (600.0, 1400.0)}
SHARES = {"normal": 0.80, "warning": 0.12, "critical": 0.08}


def synthesize(n: int = 30000, seed: int = 7):
    """(metric indices, values, labels) of n readings, deterministic for a seed."""
    rng = np.random.default_rng(seed)
    metric = rng.integers(0, len(features.NAMES), n)
    lo = np.array([features.METRICS[m][0] for m in features.NAMES])[metric]
    hi = np.array([features.METRICS[m][1] for m in features.NAMES])[metric]
    width = hi - lo
    kind = rng.choice(list(SHARES), size=n, p=list(SHARES.values()))
    value = rng.uniform(lo, hi) + rng.normal(0, 0.03, n) * width  # normal, with noise
    # Out-of-range readings: a distance beyond the range, in widths, up or down.
    beyond = np.where(kind == "warning", rng.uniform(0.02, 0.5, n), rng.uniform(0.5, 5.0, n))
    up = rng.random(n) < 0.5
    off_range = np.where(up, hi + beyond * width, lo - beyond * width)
    value = np.where(kind == "normal", value, off_range)
    limit_lo = np.array([LIMITS[m][0] for m in features.NAMES])[metric]
    limit_hi = np.array([LIMITS[m][1] for m in features.NAMES])[metric]
    value = np.clip(value, limit_lo, limit_hi)
    # Clipping can pull a "critical" reading back near the range (humidity
    # cannot go past 100): label by where the value ended up.
    outside = np.maximum(np.maximum(lo - value, value - hi), 0.0) / width
    label = np.where(kind == "normal", "normal", np.where(outside > 0.5, "critical", "warning"))
    return metric, value, label


def train(path: str, seed: int = 7, verbose: bool = True) -> float:
    """Trains, saves the model to path, returns the held-out accuracy."""
    metric, value, label = synthesize(seed=seed)
    X = features.matrix(metric, value)
    X_train, X_test, y_train, y_test = train_test_split(X, label, test_size=0.25, random_state=seed,
                                                        stratify=label)
    # Shallow, few trees: small on disk and a fast predict_proba per batch.
    model = RandomForestClassifier(n_estimators=40, max_depth=10, min_samples_leaf=3,
                                   random_state=seed, n_jobs=1)
    model.fit(X_train, y_train)
    accuracy = model.score(X_test, y_test)
    if verbose:
        print(classification_report(y_test, model.predict(X_test), digits=3))
        print(f"held-out accuracy: {accuracy:.4f}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    bundle = {"model": model, "metrics": features.METRICS, "features": features.FEATURES, "format": 1}
    joblib.dump(bundle, path, compress=3)
    return accuracy


def main(argv):
    path = argv[1] if len(argv) > 1 else DEFAULT_PATH
    start = time.perf_counter()
    train(path)
    print(f"saved {path} ({os.path.getsize(path) / 1024:.0f} KiB) in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main(sys.argv)
