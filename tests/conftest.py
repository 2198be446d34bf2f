"""Shared fixtures. Real material lives in ../shared/data beside the checkout (CI has it;
a user's clone usually does not, and those tests skip with the reason)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

# In-process app tests start no warm pose workers (tests/test_pose_pool.py covers them, and the
# browser tests' server, a real `streamlit run`, turns them back on).
os.environ.setdefault("FORM_COACH_POSE_POOL", "0")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
SKIP_REASON = f"real test material not found at {SHARED_DATA} (clone ../shared beside the repo to run)"


def shared_path(rel: str) -> Path:
    """A file under ../shared/data, or skip the test with a clear reason."""
    p = SHARED_DATA / rel
    if not p.exists():
        pytest.skip(f"{SKIP_REASON}; missing {rel}")
    return p


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(SKIP_REASON)
    return SHARED_DATA


@pytest.fixture(scope="session")
def manifest_rows(shared_data: Path) -> list[dict[str, str]]:
    with open(shared_data / "manifest.csv", newline="") as fh:
        return list(csv.DictReader(fh))
