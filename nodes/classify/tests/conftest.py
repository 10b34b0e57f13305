"""Shared fixtures: one model trained into a temporary directory per session."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
try:
    import sluice_node  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(ROOT, "adapters", "python", "src"))


@pytest.fixture(scope="session")
def model_path(tmp_path_factory):
    import train

    path = str(tmp_path_factory.mktemp("model") / "classify.joblib")
    accuracy = train.train(path, verbose=False)
    assert accuracy > 0.95, f"held-out accuracy {accuracy}"
    return path
