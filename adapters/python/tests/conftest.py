"""Makes the package importable from src/ when it is not installed."""

import os
import sys

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
try:
    import sluice_node  # noqa: F401
except ImportError:
    sys.path.insert(0, SRC)
