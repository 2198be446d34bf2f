"""The command line on bad input: a one-line reason, a non-zero exit, nothing written half-way,
nothing already saved lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from coach.errors import InputTooLargeError
from coach.video import H264Writer
from tests.conftest import ROOT, shared_path


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {"FORM_COACH_HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "coach", "-q", *args], check=False, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300
    )


def _error_line(proc: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


@pytest.fixture
def previous_output(tmp_path: Path) -> Path:
    """An output file from an earlier run that a failing run must leave alone."""
    out = tmp_path / "result.json"
    out.write_text('{"earlier": true}')
    return out


def _black_video(path: Path, n: int = 20) -> Path:
    with H264Writer(path, 25.0) as w:
        for _ in range(n):
            w.write(np.zeros((240, 320, 3), dtype=np.uint8))
    return path


@pytest.mark.parametrize(
    "name,content,expected",
    [
        ("notes.mp4", b"this is not a video at all\n" * 40, "expected a readable video"),  # text renamed .mp4
        ("empty.mp4", b"", "empty"),  # zero bytes
    ],
    ids=["text-as-mp4", "empty"],
)
def test_bad_files_give_one_line_and_keep_previous_output(tmp_path, previous_output, name, content, expected):
    bad = tmp_path / name
    bad.write_bytes(content)
    proc = run_cli("analyze", str(bad), "--json", str(previous_output), home=tmp_path / "home")
    assert proc.returncode == 2
    assert expected in _error_line(proc)
    assert json.loads(previous_output.read_text()) == {"earlier": True}
    assert not list(tmp_path.glob("*.part"))


def test_truncated_video_is_refused(tmp_path, previous_output):
    src = shared_path("videos/pose-estimation-jintao/pose_gif/Plank.mp4")  # moov atom at the end
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 3])
    proc = run_cli("analyze", str(cut), "--json", str(previous_output), home=tmp_path / "home")
    assert proc.returncode == 2
    assert "cut.mp4" in _error_line(proc)
    assert json.loads(previous_output.read_text()) == {"earlier": True}


@pytest.mark.slow
def test_video_without_a_person(tmp_path, previous_output):
    video = _black_video(tmp_path / "black.mp4")
    annotated = tmp_path / "annotated.mp4"
    proc = run_cli("analyze", str(video), "--json", str(previous_output), "--video", str(annotated), home=tmp_path / "home")
    assert proc.returncode == 2
    assert "no person found" in _error_line(proc)
    # only the reason: none of MediaPipe's native start-up notes from the zoomed-window search
    assert proc.stderr.strip().splitlines() == [_error_line(proc)]
    assert not annotated.exists()
    assert json.loads(previous_output.read_text()) == {"earlier": True}


def test_missing_file_and_unknown_reference(tmp_path):
    proc = run_cli("analyze", str(tmp_path / "nope.mp4"), home=tmp_path / "home")
    assert proc.returncode == 2 and "not found" in _error_line(proc)
    kp = tmp_path / "k.npz"
    _ref_poses().save_npz(kp)
    proc = run_cli("analyze", str(kp), "--reference", "no-such-ref", home=tmp_path / "home")
    assert proc.returncode == 2 and "no-such-ref" in _error_line(proc)


def _ref_poses():
    from coach.references import ReferenceLibrary

    return ReferenceLibrary().get("model-squat-side").poses


def test_corrupt_user_reference_is_reported_and_others_still_work(tmp_path):
    home = tmp_path / "home"
    kp = tmp_path / "squat.npz"
    _ref_poses().save_npz(kp)
    add = run_cli("reference", "add", str(kp), "--name", "My squat", "--exercise", "squat", "--view", "side", home=home)
    assert add.returncode == 0, add.stderr
    ref_id = add.stdout.split()[2]
    npz = home / "references" / f"{ref_id}.npz"
    npz.write_bytes(npz.read_bytes()[:200])  # corrupt it on disk
    proc = run_cli("analyze", str(kp), "--reference", ref_id, home=home)
    assert proc.returncode == 2
    assert ref_id in _error_line(proc)
    listing = run_cli("references", "--json", home=home)
    assert listing.returncode == 0
    ids = {r["id"] for r in json.loads(listing.stdout)}
    assert "model-squat-side" in ids and ref_id not in ids
    assert ref_id in listing.stderr  # the problem is reported, not hidden


def test_builtin_reference_cannot_be_deleted(tmp_path):
    proc = run_cli("reference", "delete", "model-squat-side", home=tmp_path / "home")
    assert proc.returncode == 2 and "read-only" in _error_line(proc)


def test_size_limit_is_enforced(tmp_path):
    import dataclasses

    from coach.analysis import extract_video_poses
    from coach.settings import DEFAULT_SETTINGS, VideoSettings

    video = _black_video(tmp_path / "small.mp4", n=5)
    tiny = dataclasses.replace(DEFAULT_SETTINGS, video=VideoSettings(max_bytes=100))
    with pytest.raises(InputTooLargeError, match="expected at most"):
        extract_video_poses(video, settings=tiny)


def test_keypoint_file_analysis_round_trip(tmp_path):
    """A keypoint file needs no video: the model performer compared with itself scores high."""
    kp = tmp_path / "squat.npz"
    _ref_poses().save_npz(kp)
    out = tmp_path / "r.json"
    proc = run_cli("analyze", str(kp), "--json", str(out), home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(out.read_text())
    for key in ("exercise", "view", "reference", "reps", "rep_details", "score", "verdict", "confidence",
                "deviations", "per_keypoint_dtw", "cues", "warnings"):
        assert key in d
    assert d["exercise"] == "squat" and d["view"] == "side" and d["reps"] == 3
    assert d["score"] >= 90 and d["verdict"] == "pass"
    assert isinstance(d["cues"], list) and isinstance(d["warnings"], list)


def test_references_listing(tmp_path):
    proc = run_cli("references", "--json", home=tmp_path / "home")
    rows = json.loads(proc.stdout)
    exercises = {r["exercise"] for r in rows}
    assert {"squat", "push_up", "lunge", "bicep_curl", "shoulder_press", "jumping_jack", "deadlift", "pull_up"} <= exercises
    assert all(r["builtin"] for r in rows)


def test_summary_lists_each_reps_faults_and_the_tempo_cue(tmp_path):
    """Model push-ups played at three times the reference's pace, as a keypoint file: the printed
    summary names the fault on each rep line it lowered and gives the tempo cue once."""
    import dataclasses

    from coach.bodymodel import generate

    p = generate("push_up", "side", reps=4, seed=11).poses
    kp = tmp_path / "fast.npz"
    dataclasses.replace(p, timestamps_s=p.timestamps_s / 3, fps=p.fps * 3).save_npz(kp)
    proc = run_cli("analyze", str(kp), "--exercise", "push_up", home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    rep_lines = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith("rep ") and " score " in ln]
    assert len(rep_lines) == 4, proc.stdout
    assert sum("faults: rushed rep" in ln for ln in rep_lines) >= 3, proc.stdout
    assert sum("slow down" in ln for ln in proc.stdout.splitlines()) == 1, proc.stdout
