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


def test_a_press_locked_out_then_held_with_soft_elbows_is_not_a_lockout_fault():
    """shoulderpressgood17 straightens the arms to ~177° and then holds the weight overhead at
    ~150°, where the hands are highest. Read at that peak frame alone the lockout rule failed a
    good press (59.7); over the rep, as for the bench press, no good take breaks it."""
    lib = ReferenceLibrary()
    broken = []
    for f in sorted(shared_path(PT + "shoulderpress").glob("*good*.npy")):
        seq, _label = load_pose_trainer_npy(f)
        a = analyze_poses(seq, library=lib, exercise="shoulder_press", source=f.name)
        broken += [f.name for _rep, _t, fd in a.rule_findings if fd.rule == "press_lockout"]
    assert broken == []


def test_a_press_that_never_straightens_the_arms_breaks_the_lockout_rule():
    """The rule read over the rep still fails a press whose elbows never pass 140°."""
    from coach import bodymodel as bm
    from coach.exercises import EXERCISES
    from coach.kinematics import joint_angles
    from coach.schema import L

    rule = {r.name: r for r in EXERCISES["shoulder_press"].rules}["press_lockout"]
    p = bm.generate("shoulder_press", "front", jitter_frac=0.0)
    xy = np.array(p.poses.xy, dtype=np.float64)
    ts = p.poses.timestamps_s
    a0, _peak, e0 = p.rep_bounds_s[0]
    rep = (ts >= a0) & (ts <= e0)
    assert rule.measure(xy[rep][0], xy[rep]) > 170  # the model locks out

    bent = xy.copy()
    for s, e, w in ((L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST), (L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST)):
        u, v = xy[:, s] - xy[:, e], xy[:, w] - xy[:, e]
        ang = np.arccos(np.clip(np.sum(u * v, -1) / np.linalg.norm(u, axis=-1) / np.linalg.norm(v, axis=-1), -1, 1))
        theta = np.minimum(ang, np.radians(140.0))  # the elbow angle, capped
        unit_u = u / np.linalg.norm(u, axis=-1, keepdims=True)
        best = None
        for sign in (1.0, -1.0):  # the forearm on the side it already is
            c, sn = np.cos(sign * theta), np.sin(sign * theta)
            cand = np.linalg.norm(v, axis=-1, keepdims=True) * np.stack(
                [c * unit_u[:, 0] - sn * unit_u[:, 1], sn * unit_u[:, 0] + c * unit_u[:, 1]], axis=-1)
            best = cand if best is None else np.where(
                (np.sum((cand - v) ** 2, -1) < np.sum((best - v) ** 2, -1))[:, None], cand, best)
        bent[:, w] = xy[:, e] + best
    assert np.nanmax(joint_angles(bent[rep])["left_elbow"]) == pytest.approx(140, abs=1)
    assert rule.measure(bent[rep][0], bent[rep]) == pytest.approx(140, abs=1)
    assert rule.measure(bent[rep][0], bent[rep]) < rule.limit


def test_shrugs_are_recognised_counted_and_short_ones_faulted():
    """Shrugs, filmed from the front: every take is recognised as a shrug and counted as a rep,
    even those that barely lift (below the generic 0.1 torso-length rep floor), so the height rule
    can judge them; it fails none of the good takes."""
    lib = ReferenceLibrary()
    rows = []
    for f in sorted(shared_path(PT + "shouldershrug").glob("*.npy")):
        seq, label = load_pose_trainer_npy(f)
        assert analyze_poses(seq, library=lib, source=f.name).exercise.id == "shrug", f.name
        a = analyze_poses(seq, library=lib, exercise="shrug", source=f.name)
        low = [x for _rep, _t, x in a.rule_findings if x.rule == "shrug_height"]
        rows.append((label["form"], a.reps.count, bool(low), float(a.comparison.score)))
    assert len(rows) == 12
    assert all(n >= 1 for _f, n, _low, _s in rows)
    assert not any(low for f, _n, low, _s in rows if f == "good")
    assert sum(low for f, _n, low, _s in rows if f == "bad") >= 3  # 0.05-0.07 torso lengths of lift
    assert _good_above_bad([(f, "shrug", s) for f, _n, _low, s in rows]) >= 0.8
