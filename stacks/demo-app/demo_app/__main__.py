"""``python -m demo_app``: read settings from the environment and serve until stopped."""

from __future__ import annotations

from demo_app.server import main

if __name__ == "__main__":
    main()
