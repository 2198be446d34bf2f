"""The Pose Trainer keypoints (OpenPose COCO-18, good/bad takes labelled by its authors) run
through the whole engine: upper-body exercises filmed without the legs are analysed, recognised
and scored, and the good takes score above the bad ones."""

from __future__ import annotations

import numpy as np
import pytest

from coach.analysis import analyze_poses
from coach.importers import load_penn_action_mat, load_pose_trainer_npy
from coach.references import ReferenceLibrary
from tests.conftest import shared_path

pytestmark = pytest.mark.shared

PT = "keypoints/pose-trainer/"


def _analyse_folder(folder: str) -> list[tuple[str, str, float]]:
    """(form label, recognised exercise, score against the labelled exercise's reference) per take."""
    lib = ReferenceLibrary()
    out = []
    for f in sorted(shared_path(PT + folder).glob("*.npy")):
        seq, label = load_pose_trainer_npy(f)
        recognised = analyze_poses(seq, library=lib, source=f.name).exercise.id
        scored = analyze_poses(seq, library=lib, exercise=label["exercise"], source=f.name)
        out.append((label["form"], recognised, float(scored.comparison.score)))
    return out


def _good_above_bad(rows: list[tuple[str, str, float]]) -> float:
    """Share of (good, bad) pairs where the good take scores higher (the AUC; ties count half)."""
    good = [s for f, _r, s in rows if f == "good"]
    bad = [s for f, _r, s in rows if f == "bad"]
    wins = [1.0 if g > b else 0.5 if g == b else 0.0 for g in good for b in bad]
    return float(np.mean(wins))


def test_curls_filmed_from_the_side_are_scored_and_good_beats_bad():
    # OpenPose scores the hips of these side shots ~0.2: before the confidence calibration they
    # fell under the visibility cut and 8 of the 11 takes were refused as "out of frame"
    rows = _analyse_folder("bicep")
    assert len(rows) == 11
    assert all(r == "bicep_curl" for _f, r, _s in rows)
    assert _good_above_bad(rows) >= 0.9  # the bad takes swing the upper arm or stop short


def test_front_raises_are_recognised_and_swinging_takes_score_lower():
    rows = _analyse_folder("frontraise")
    assert len(rows) == 12
    assert all(r == "front_raise" for _f, r, _s in rows)
    assert _good_above_bad(rows) >= 0.85


def test_a_penn_action_jumping_jack_is_not_taken_for_a_front_raise():
    # arms out to the sides with the elbows bent, feet opening far less than the model jack's:
    # without the "feet move" feature it was nearer the front raise
    seq, _info = load_penn_action_mat(shared_path("keypoints/penn-action/labels/1066.mat"))
    a = analyze_poses(seq, library=ReferenceLibrary(), source="1066.mat")
    assert a.exercise.id == "jumping_jack"


def test_shoulder_presses_that_lean_back_during_the_press_are_faulted():
    # the lean peaks while the bar passes the face, not at lockout: judged over the whole rep
    lib = ReferenceLibrary()
    faulted = {"good": 0, "bad": 0}
    for f in sorted(shared_path(PT + "shoulderpress").glob("*.npy")):
        seq, label = load_pose_trainer_npy(f)
        a = analyze_poses(seq, library=lib, exercise="shoulder_press", source=f.name)
        faulted[label["form"]] += any(fd.rule == "press_back_lean" for _rep, _t, fd in a.rule_findings)
    assert faulted["good"] == 0
    assert faulted["bad"] >= 4  # of 10 (5 measured); the other bad takes lean less than 15°
