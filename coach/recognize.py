"""Exercise recognition without training data: the nearest reference over angle features.

Features summarise a clip's pose distribution, side-invariant (a left/right pair contributes its
smaller and its larger value), in degrees or torso lengths. Distance is the mean absolute feature
difference, each feature divided by its natural scale; the exercise of the nearest reference wins
and the confidence is a softmax over the best distance per exercise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach.exercises import EXERCISES
from coach.kinematics import joint_angles
from coach.normalize import MID_HIP, MID_SHOULDER, midpoint
from coach.schema import L

_PAIRS = ("knee", "hip", "elbow", "shoulder")
_SOFTMAX_TEMP = 0.15  # distance units: a gap of 0.15 between two exercises ~ e:1 odds
# One amplitude feature per distinct movement: the bench press signal is the press signal turned
# over (hands towards / away from the shoulders), so it would weigh that movement twice.
_SAME_MOTION = {"bench_press": "shoulder_press"}


def clip_features(xy: np.ndarray) -> np.ndarray:
    """(F,) features of (T, 33, 2) coordinates in torso lengths (image axes, y down)."""
    a = joint_angles(xy)
    feats: list[float] = []
    for j in _PAIRS:
        lo = np.fmin(a[f"left_{j}"], a[f"right_{j}"])
        hi = np.fmax(a[f"left_{j}"], a[f"right_{j}"])
        for series in (lo, hi):
            feats += list(_pct(series, (10, 50, 90)) / 45.0)
    feats += list(_pct(a["trunk_lean"], (10, 50, 90)) / 30.0)
    sh = midpoint(xy, MID_SHOULDER)
    hp = midpoint(xy, MID_HIP)
    wr = midpoint(xy, (L.LEFT_WRIST, L.RIGHT_WRIST))
    hi_wrist = np.fmin(xy[:, L.LEFT_WRIST, 1], xy[:, L.RIGHT_WRIST, 1])
    feats += list(_pct(sh[:, 1] - hi_wrist, (10, 50, 90)) / 1.0)  # hands above shoulders
    feats += list(_pct(hp[:, 1] - wr[:, 1], (10, 90)) / 1.0)
    ank = np.abs(xy[:, L.LEFT_ANKLE, 0] - xy[:, L.RIGHT_ANKLE, 0])
    feats += list(_pct(ank, (10, 90)) / 0.5)
    # a lunge drops the back knee below the front one; a squat keeps the knees level
    knee_dy = np.abs(xy[:, L.LEFT_KNEE, 1] - xy[:, L.RIGHT_KNEE, 1])
    feats += list(_pct(knee_dy, (50, 90)) / 0.5)
    # what moves in the image (torso lengths): a pull-up lifts the hips under still hands, a
    # press lifts the hands over still hips, a squat lifts both, a curl neither
    for series in (hp[:, 1], sh[:, 1], wr[:, 1]):
        feats.append(float(np.subtract(*_pct(series, (95, 5)))) / 0.5)
    # what moves: each exercise's main-signal amplitude relative to the largest one, so
    # exercises that share a posture (overhead squat vs press) differ by their motion
    amps = np.array([np.subtract(*_pct(ex.signal(xy), (95, 5))) for ex in EXERCISES.values()
                     if ex.id not in _SAME_MOTION])
    if np.isfinite(amps).any() and np.nanmax(amps) > 0:
        feats += list(amps / np.nanmax(amps) / 0.5)
    else:
        feats += [np.nan] * len(amps)
    return np.asarray(feats, dtype=np.float64)


def _pct(x: np.ndarray, qs: tuple[int, ...]) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < 3:
        return np.full(len(qs), np.nan)
    return np.percentile(x, qs)


def feature_distance(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 4:
        return float("inf")
    return float(np.mean(np.abs(a[ok] - b[ok])))


@dataclass(frozen=True)
class Recognition:
    """exercise: best match; confidence: 0-1; reference_id: nearest reference;
    ranking: (exercise, distance) best first."""

    exercise: str
    confidence: float
    reference_id: str
    ranking: tuple[tuple[str, float], ...]


def recognize(features: np.ndarray, templates: list[tuple[str, str, np.ndarray]]) -> Recognition:
    """templates: (reference id, exercise, features). Raises ValueError when there are none."""
    if not templates:
        raise ValueError("expected at least one reference to recognise against, got none")
    best: dict[str, tuple[float, str]] = {}
    for rid, ex, f in templates:
        d = feature_distance(features, f)
        if ex not in best or d < best[ex][0]:
            best[ex] = (d, rid)
    ranking = sorted(((ex, d) for ex, (d, _r) in best.items()), key=lambda t: t[1])
    ds = np.array([d for _e, d in ranking])
    if not np.isfinite(ds[0]):
        return Recognition(ranking[0][0], 0.0, best[ranking[0][0]][1], tuple(ranking))
    w = np.exp(-(ds - ds[0]) / _SOFTMAX_TEMP)
    w[~np.isfinite(w)] = 0.0
    conf = float(w[0] / w.sum())
    ex0 = ranking[0][0]
    return Recognition(ex0, round(conf, 3), best[ex0][1], tuple((e, round(d, 3)) for e, d in ranking))
