from __future__ import annotations

import sys
from pathlib import Path

# tests/loki/golden_replay.py and tests/golden/compare.py are plain modules next to the tests.
for folder in (Path(__file__).parent, Path(__file__).parent.parent / "golden"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
