"""What the classify model sees: the metrics it knows and the features of a reading.

Shared by train.py and classify.py so that training and inference can never
disagree on a feature. Features are computed for a whole batch at once.
"""

import numpy as np

# The sensor metrics of the reference pipeline and their normal ranges
# (the event generator's ranges: see the README at the repository root).
METRICS = {
    "temperature": (15.0, 30.0),  # C
    "humidity": (30.0, 60.0),  # %
    "pressure": (990.0, 1030.0),  # hPa
}
NAMES = tuple(METRICS)
INDEX = {name: i for i, name in enumerate(NAMES)}
_LO = np.array([lo for lo, _ in METRICS.values()])
_HI = np.array([hi for _, hi in METRICS.values()])

FEATURES = [f"is_{n}" for n in NAMES] + ["value", "z", "outside"]


def matrix(metric: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Feature rows for readings: metric index (ints) and value (floats).

    [one-hot metric..., value, z, outside] where z places the value on its
    metric's normal range (-1 at the low end, +1 at the high end) and
    outside is how far beyond the range it lies, in range widths (0 inside).
    The last two make the metrics comparable, so what the model learns
    about "far out" for one metric holds for the others.
    """
    lo, hi = _LO[metric], _HI[metric]
    width = hi - lo
    z = (value - (lo + hi) / 2) / (width / 2)
    outside = np.maximum(np.maximum(lo - value, value - hi), 0.0) / width
    onehot = np.eye(len(NAMES))[metric]
    return np.column_stack([onehot, value, z, outside])
