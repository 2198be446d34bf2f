"""Exercise recognition without training data: the nearest reference over angle features.

Features summarise a clip's pose distribution, side-invariant (a left/right pair contributes its
smaller and its larger value), in degrees or torso lengths. Distance is the mean absolute feature
difference, each feature divided by its natural scale (arm features count half towards exercises
that any arm position suits, see ANY_ARMS); the exercise of the nearest reference wins and the
confidence is a softmax over the best distance per exercise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach.exercises import EXERCISES
from coach.kinematics import joint_angles
from coach.normalize import MID_HIP, MID_SHOULDER, midpoint
from coach.schema import N_LANDMARKS, L

_PAIRS = ("knee", "hip", "elbow", "shoulder")
_SOFTMAX_TEMP = 0.15  # distance units: a gap of 0.15 between two exercises ~ e:1 odds
FEET_MOVING_TORSO = 0.25  # a change of ankle spread this large (torso lengths) = the feet move
LEG_MOTION_WEIGHT = 4  # how many features "the feet move" counts as (1, 2, 4 tried; 4 best everywhere)
MIN_ARM_TRAVEL_TORSO = 0.2  # wrists + shoulders travel (torso lengths) below which nothing moves


def _distinct_motions() -> tuple[str, ...]:
    """The exercises whose main signals are distinct movements, first of each kind. Signals equal
    up to sign are one movement (a push-up's shoulders-to-hands drop is a press's hands-up turned
    over; a lunge and a squat both lower the hips) and would weigh it several times."""
    probe = np.random.default_rng(0).normal(size=(16, N_LANDMARKS, 2))
    kept: list[str] = []
    seen: list[np.ndarray] = []
    for ex in EXERCISES.values():
        s = ex.signal(probe)
        if not any(np.allclose(s, t) or np.allclose(s, -t) for t in seen):
            kept.append(ex.id)
            seen.append(s)
    return tuple(kept)


_MOTIONS = _distinct_motions()
# main signals that move the body against the feet rather than the hands against the body
_LEG_MOTIONS = frozenset({"squat", "lunge", "deadlift"})
# Exercises the arms do not define: a squat or lunge is done with a bar on the back, arms forward,
# overhead or hands on the hips, so arm features count only half against them.
ANY_ARMS: frozenset[str] = frozenset({"squat", "lunge"})


def clip_features(xy: np.ndarray) -> np.ndarray:
    """(F,) features of (T, 33, 2) coordinates in torso lengths (image axes, y down); ARM_FEATURES
    marks the ones that describe the arms."""
    return np.asarray(_features(xy)[0], dtype=np.float64)


def _features(xy: np.ndarray) -> tuple[list[float], list[bool]]:
    a = joint_angles(xy)
    feats: list[float] = []
    arms: list[bool] = []

    def add(values, *, arm: bool = False) -> None:
        values = [float(v) for v in np.atleast_1d(values)]
        feats.extend(values)
        arms.extend([arm] * len(values))

    for j in _PAIRS:
        lo = np.fmin(a[f"left_{j}"], a[f"right_{j}"])
        hi = np.fmax(a[f"left_{j}"], a[f"right_{j}"])
        for series in (lo, hi):
            add(_pct(series, (10, 50, 90)) / 45.0, arm=j in ("elbow", "shoulder"))
    add(_pct(a["trunk_lean"], (10, 50, 90)) / 30.0)
    sh = midpoint(xy, MID_SHOULDER)
    hp = midpoint(xy, MID_HIP)
    wr = midpoint(xy, (L.LEFT_WRIST, L.RIGHT_WRIST))
    hi_wrist = np.fmin(xy[:, L.LEFT_WRIST, 1], xy[:, L.RIGHT_WRIST, 1])
    add(_pct(sh[:, 1] - hi_wrist, (10, 50, 90)) / 1.0, arm=True)  # hands above shoulders
    add(_pct(hp[:, 1] - wr[:, 1], (10, 90)) / 1.0, arm=True)
    ank = np.abs(xy[:, L.LEFT_ANKLE, 0] - xy[:, L.RIGHT_ANKLE, 0])
    add(_pct(ank, (10, 90)) / 0.5)
    # feet that open and close at all (a jumping jack, a lunge's step) against feet planted
    # (raises, curls, presses): saturated, because real jacks are often far smaller than the
    # model's, and weighted as LEG_MOTION_WEIGHT features, because arm-only exercises share
    # most of the other features with a jack (measured: Penn Action jacks taken for front raises)
    spread = float(np.subtract(*_pct(ank, (90, 10))))
    add([min(spread / FEET_MOVING_TORSO, 1.0)] * LEG_MOTION_WEIGHT)
    # a lunge drops the back knee below the front one; a squat keeps the knees level
    knee_dy = np.abs(xy[:, L.LEFT_KNEE, 1] - xy[:, L.RIGHT_KNEE, 1])
    add(_pct(knee_dy, (50, 90)) / 0.5)
    # what moves in the image (torso lengths): a pull-up lifts the hips under still hands, a
    # press lifts the hands over still hips, a squat lifts both, a curl neither
    for series, arm in ((hp[:, 1], False), (sh[:, 1], False), (wr[:, 1], True)):
        add(_travel(series) / 0.5, arm=arm)
    # which end of the arms is anchored, weighted like "the feet move" (a 0-1 motion cue too):
    # the three travels above carry it only weakly, as three of ~45 features, and measured
    # Penn Action pull-ups filmed from the front read as presses
    add([wrist_travel_share(xy)] * LEG_MOTION_WEIGHT, arm=True)
    # what moves: each distinct movement's amplitude relative to the largest one, so exercises
    # that share a posture (overhead squat vs press) differ by their motion
    amps = np.array([np.subtract(*_pct(EXERCISES[e].signal(xy), (95, 5))) for e in _MOTIONS])
    arm_motion = [e not in _LEG_MOTIONS for e in _MOTIONS]
    if np.isfinite(amps).any() and np.nanmax(amps) > 0:
        amps = amps / np.nanmax(amps) / 0.5
    else:
        amps = np.full(len(amps), np.nan)
    for v, arm in zip(amps, arm_motion, strict=True):
        add(v, arm=arm)
    return feats, arms


def wrist_travel_share(xy: np.ndarray) -> float:
    """The wrists' share of the wrists' and shoulders' vertical travel (5-95 %) in (T, 33, 2)
    coordinates: ~0 when the body moves over still hands (pull-up, push-up), ~1 when the hands
    move under still shoulders (press, curl, raise). A share, so it does not depend on how far
    the camera is; NaN when they travel under MIN_ARM_TRAVEL_TORSO together (xy in torso lengths)."""
    shoulders = _travel(midpoint(xy, MID_SHOULDER)[:, 1])
    wrists = _travel(midpoint(xy, (L.LEFT_WRIST, L.RIGHT_WRIST))[:, 1])
    total = shoulders + wrists
    return wrists / total if total >= MIN_ARM_TRAVEL_TORSO else float("nan")


def _travel(series: np.ndarray) -> float:
    return float(np.subtract(*_pct(series, (95, 5))))


def _pct(x: np.ndarray, qs: tuple[int, ...]) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < 3:
        return np.full(len(qs), np.nan)
    return np.percentile(x, qs)


# which entries of clip_features describe the arms (the layout does not depend on the data)
ARM_FEATURES: np.ndarray = np.array(_features(np.zeros((4, N_LANDMARKS, 2)))[1], dtype=bool)
ARM_FEATURES.setflags(write=False)
# arm features count half towards ANY_ARMS exercises: a squat with a bar on the back is still
# nearer a squat than a deadlift, yet hands overhead under still hips still say pull-up
_ANY_ARMS_WEIGHTS = np.where(ARM_FEATURES, 0.5, 1.0)


def feature_distance(a: np.ndarray, b: np.ndarray, *, weights: np.ndarray | None = None) -> float:
    """Mean absolute difference over the features both have, weighted by `weights` (default 1)."""
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 4:
        return float("inf")
    w = np.ones(a.shape) if weights is None else np.asarray(weights, dtype=np.float64)
    return float(np.sum(w[ok] * np.abs(a[ok] - b[ok])) / np.sum(w[ok]))


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
        d = feature_distance(features, f, weights=_ANY_ARMS_WEIGHTS if ex in ANY_ARMS else None)
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
