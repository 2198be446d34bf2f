"""Kinematics in the image plane: joint angles, trunk lean, moment arms, segment proportions,
range of motion.

Angles are 2-D (x, y): MediaPipe's z is too noisy to trust for coaching. Degrees in [0, 180];
180 = straight limb. Trunk lean is degrees from vertical (0 = upright).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from coach.normalize import MID_HIP, MID_SHOULDER, midpoint
from coach.schema import L, Landmark


def joint_name(angle_name: str) -> str:
    """An angle's name without its side: "left_knee" -> "knee", "trunk_lean" -> "trunk_lean"."""
    return angle_name.split("_", 1)[1] if angle_name.startswith(("left_", "right_")) else angle_name


@dataclass(frozen=True)
class JointAngle:
    """The angle at `vertex` between segments vertex->a and vertex->c, degrees 0-180; in frames
    where c is unseen, towards `c_fallback` instead when it is given."""

    name: str
    a: Landmark
    vertex: Landmark
    c: Landmark
    c_fallback: Landmark | None = None

    @property
    def side(self) -> str:
        return self.name.split("_", 1)[0] if self.name.startswith(("left_", "right_")) else "center"

    @property
    def joint(self) -> str:
        """Name without side, e.g. "knee"."""
        return joint_name(self.name)


JOINT_ANGLES: tuple[JointAngle, ...] = (
    JointAngle("left_knee", L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE),
    JointAngle("right_knee", L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE),
    JointAngle("left_hip", L.LEFT_SHOULDER, L.LEFT_HIP, L.LEFT_KNEE),
    JointAngle("right_hip", L.RIGHT_SHOULDER, L.RIGHT_HIP, L.RIGHT_KNEE),
    JointAngle("left_ankle", L.LEFT_KNEE, L.LEFT_ANKLE, L.LEFT_FOOT_INDEX),
    JointAngle("right_ankle", L.RIGHT_KNEE, L.RIGHT_ANKLE, L.RIGHT_FOOT_INDEX),
    JointAngle("left_elbow", L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST),
    JointAngle("right_elbow", L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST),
    JointAngle("left_shoulder", L.LEFT_HIP, L.LEFT_SHOULDER, L.LEFT_ELBOW),
    JointAngle("right_shoulder", L.RIGHT_HIP, L.RIGHT_SHOULDER, L.RIGHT_ELBOW),
    # body line shoulder-hip-ankle: 180 = straight plank; sag or pike bends it. With the feet out
    # of frame (a phone close to the floor) the line to the knee still shows a sag or a pike.
    JointAngle("left_body_line", L.LEFT_SHOULDER, L.LEFT_HIP, L.LEFT_ANKLE, L.LEFT_KNEE),
    JointAngle("right_body_line", L.RIGHT_SHOULDER, L.RIGHT_HIP, L.RIGHT_ANKLE, L.RIGHT_KNEE),
    # neck ear-shoulder-hip: near straight with the head in line with the back; a dropped, jutting
    # or craned head bends it
    JointAngle("left_neck", L.LEFT_EAR, L.LEFT_SHOULDER, L.LEFT_HIP),
    JointAngle("right_neck", L.RIGHT_EAR, L.RIGHT_SHOULDER, L.RIGHT_HIP),
)
ANGLE_BY_NAME: Mapping[str, JointAngle] = MappingProxyType({a.name: a for a in JOINT_ANGLES})
#: The landmark whose position each angle describes (for body maps and feedback).
ANGLE_VERTEX: Mapping[str, Landmark] = MappingProxyType(
    {**{a.name: a.vertex for a in JOINT_ANGLES}, "trunk_lean": L.LEFT_HIP}
)
ANGLE_NAMES: tuple[str, ...] = (*ANGLE_BY_NAME, "trunk_lean")


def angle_between(a: np.ndarray, vertex: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Angle at vertex (degrees, 0-180) of points (..., 2); NaN where any point is missing or a
    segment has zero length."""
    u = np.asarray(a, dtype=np.float64) - vertex
    v = np.asarray(c, dtype=np.float64) - vertex
    nu = np.linalg.norm(u, axis=-1)
    nv = np.linalg.norm(v, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(u * v, axis=-1) / (nu * nv)
    cos = np.where((nu > 0) & (nv > 0), cos, np.nan)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def trunk_lean_deg(xy: np.ndarray) -> np.ndarray:
    """Degrees between the hip->shoulder line and the vertical (0 upright, 90 horizontal)."""
    v = midpoint(xy, MID_SHOULDER) - midpoint(xy, MID_HIP)
    with np.errstate(invalid="ignore"):
        return np.degrees(np.arctan2(np.abs(v[..., 0]), -v[..., 1]))


def joint_angles(xy: np.ndarray) -> dict[str, np.ndarray]:
    """All JOINT_ANGLES plus trunk_lean for (T, 33, 2) or (33, 2) coordinates (any units)."""
    xy = np.asarray(xy, dtype=np.float64)
    out = {}
    for ja in JOINT_ANGLES:
        deg = angle_between(xy[..., ja.a, :], xy[..., ja.vertex, :], xy[..., ja.c, :])
        if ja.c_fallback is not None:
            unseen_c = ~np.isfinite(xy[..., ja.c, 0])
            alt = angle_between(xy[..., ja.a, :], xy[..., ja.vertex, :], xy[..., ja.c_fallback, :])
            deg = np.where(unseen_c, alt, deg)
        out[ja.name] = deg
    out["trunk_lean"] = trunk_lean_deg(xy)
    return out


#: A segment drawn shorter than this share of its usual length in the clip points more than ~60°
#: out of the image plane (cos 60° = 0.5): the 2-D angle at its joint can then read almost anything.
FORESHORTENED_SHARE = 0.5


def foreshortened(xy: np.ndarray, names: tuple[str, ...] = ANGLE_NAMES, *,
                  min_share: float = FORESHORTENED_SHARE) -> np.ndarray:
    """(T, len(names)) bool: True in frames where a segment of the angle is drawn shorter than
    min_share of its length in the clip (its 90th percentile over the frames showing it, nearly
    its true length for a limb that turns through the image plane at some point). A segment the
    clip always shows end-on never reads as short: this marks frames, not camera angles."""
    if not 0 < min_share < 1:
        raise ValueError(f"min_share must be in (0, 1), got {min_share}")
    xy = np.asarray(xy, dtype=np.float64)
    out = np.zeros((xy.shape[0], len(names)), dtype=bool)

    def short(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        d = np.linalg.norm(q - p, axis=-1)
        ok = np.isfinite(d)
        if ok.sum() < 3:
            return np.zeros(len(d), dtype=bool)
        return ok & (d < min_share * np.percentile(d[ok], 90))

    for k, n in enumerate(names):
        if n == "trunk_lean":
            out[:, k] = short(midpoint(xy, MID_HIP), midpoint(xy, MID_SHOULDER))
            continue
        ja = ANGLE_BY_NAME[n]
        v = xy[:, ja.vertex]
        far = short(v, xy[:, ja.c])
        if ja.c_fallback is not None:  # each end point against its own usual length
            far = np.where(np.isfinite(xy[:, ja.c, 0]), far, short(v, xy[:, ja.c_fallback]))
        out[:, k] = short(v, xy[:, ja.a]) | far
    return out


def angle_matrix(xy: np.ndarray, names: tuple[str, ...] = ANGLE_NAMES) -> np.ndarray:
    """(T, len(names)) degrees in the order of names."""
    a = joint_angles(xy)
    return np.stack([a[n] for n in names], axis=-1)


def moment_arms(xy: np.ndarray, *, side: str = "auto") -> dict[str, np.ndarray]:
    """Horizontal distance of the hip and knee from the vertical through the mid-foot (SEEDS §1),
    in the units of xy (pass body-frame coordinates for torso lengths). Sign follows image x:
    positive = right of the mid-foot, i.e. in front of it for a performer facing image-right
    (the analysis mirrors side views so the performer faces right).

    side: "left", "right" or "auto" (the side whose landmarks are seen most)."""
    xy = np.asarray(xy, dtype=np.float64)
    if side == "auto":
        seen_l = np.isfinite(xy[:, [L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE], 0]).sum()
        seen_r = np.isfinite(xy[:, [L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE], 0]).sum()
        side = "left" if seen_l > seen_r else "right"
    p = "LEFT_" if side == "left" else "RIGHT_"
    heel, toe = xy[:, L[p + "HEEL"]], xy[:, L[p + "FOOT_INDEX"]]
    ankle = xy[:, L[p + "ANKLE"]]
    foot = np.where(np.isfinite(heel) & np.isfinite(toe), (heel + toe) / 2, ankle)
    return {
        "hip": xy[:, L[p + "HIP"], 0] - foot[:, 0],
        "knee": xy[:, L[p + "KNEE"], 0] - foot[:, 0],
    }


SEGMENTS: Mapping[str, tuple[tuple[Landmark, Landmark], tuple[Landmark, Landmark]]] = MappingProxyType(
    {
        "femur": ((L.LEFT_HIP, L.LEFT_KNEE), (L.RIGHT_HIP, L.RIGHT_KNEE)),
        "tibia": ((L.LEFT_KNEE, L.LEFT_ANKLE), (L.RIGHT_KNEE, L.RIGHT_ANKLE)),
        "upper_arm": ((L.LEFT_SHOULDER, L.LEFT_ELBOW), (L.RIGHT_SHOULDER, L.RIGHT_ELBOW)),
        "forearm": ((L.LEFT_ELBOW, L.LEFT_WRIST), (L.RIGHT_ELBOW, L.RIGHT_WRIST)),
    }
)


@dataclass(frozen=True)
class Proportions:
    """Segment lengths relative to the torso (mid-shoulder to mid-hip), from the longest robust
    2-D projection over the clip (a limb pointing at the camera only looks shorter). NaN = unseen."""

    femur: float
    tibia: float
    upper_arm: float
    forearm: float

    def as_dict(self) -> dict[str, float]:
        return {"femur": self.femur, "tibia": self.tibia, "upper_arm": self.upper_arm, "forearm": self.forearm}

    def distance(self, other: Proportions) -> float:
        """Mean absolute difference of the ratios that both have (NaN if none)."""
        a = np.array(list(self.as_dict().values()))
        b = np.array(list(other.as_dict().values()))
        ok = np.isfinite(a) & np.isfinite(b)
        return float(np.abs(a[ok] - b[ok]).mean()) if ok.any() else float("nan")


def _p90(d: np.ndarray) -> float:
    d = d[np.isfinite(d)]
    return float(np.percentile(d, 90)) if d.size >= 3 else float("nan")


def proportions(xy: np.ndarray) -> Proportions:
    xy = np.asarray(xy, dtype=np.float64)
    torso = _p90(np.linalg.norm(midpoint(xy, MID_SHOULDER) - midpoint(xy, MID_HIP), axis=-1))
    vals = {}
    for name, sides in SEGMENTS.items():
        lengths = [_p90(np.linalg.norm(xy[:, a] - xy[:, b], axis=-1)) for a, b in sides]
        lengths = [v for v in lengths if np.isfinite(v)]
        vals[name] = max(lengths) / torso if lengths and np.isfinite(torso) and torso > 0 else float("nan")
    return Proportions(**{k: round(v, 3) for k, v in vals.items()})


@dataclass(frozen=True)
class RangeOfMotion:
    """Robust min/max (2nd/98th percentile) of an angle in degrees, and their difference."""

    min_deg: float
    max_deg: float

    @property
    def range_deg(self) -> float:
        return self.max_deg - self.min_deg


def range_of_motion(angle_deg: np.ndarray) -> RangeOfMotion:
    a = np.asarray(angle_deg, dtype=np.float64)
    a = a[np.isfinite(a)]
    if a.size < 2:
        return RangeOfMotion(float("nan"), float("nan"))
    lo, hi = np.percentile(a, [2, 98])
    return RangeOfMotion(round(float(lo), 1), round(float(hi), 1))
