"""Where Form Coach keeps its files. Light on purpose: pose worker processes import it."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "FORM_COACH_HOME"


def data_home() -> Path:
    """Form Coach's data folder: $FORM_COACH_HOME, else ~/.form_coach (read at call time)."""
    env = os.environ.get(HOME_ENV, "").strip()
    return Path(env).expanduser() if env else Path("~/.form_coach").expanduser()
