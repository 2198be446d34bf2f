"""Normalization: position, scale, left/right mirroring, view and facing direction.

Two normalizations on purpose:
- `body_frame`: centre on the mid-hip, scale by the torso length (robust over the clip), so
  coordinates are in torso lengths and comparable across people, cameras and distances;
- `bbox_l2`: SEEDS §4's tight bounding box + L2 unit vector per frame, kept as the baseline
  cosine-similarity representation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach.clean import torso_length_px
from coach.schema import MIRROR_INDEX, L

MID_HIP = (L.LEFT_HIP, L.RIGHT_HIP)
MID_SHOULDER = (L.LEFT_SHOULDER, L.RIGHT_SHOULDER)


def midpoint(xy: np.ndarray, pair: tuple[L, L]) -> np.ndarray:
    """Mean of two landmarks; where one is missing, the other (side views hide one)."""
    a, b = xy[..., pair[0], :], xy[..., pair[1], :]
    return _nanmean_safe(np.stack([a, b]), axis=0)


def _nanmean_safe(a: np.ndarray, axis: int) -> np.ndarray:
    cnt = np.isfinite(a).sum(axis=axis)
    total = np.nansum(a, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, total / np.maximum(cnt, 1), np.nan)


def robust_scale_px(xy: np.ndarray) -> float:
    """Body length used as the unit (pixels): the torso (mid-shoulder to mid-hip), robust over the
    clip. Falls back to 0.55 x the shoulder-to-ankle extent if the torso is never seen."""
    mids = midpoint(xy, MID_SHOULDER)
    midh = midpoint(xy, MID_HIP)
    d = np.linalg.norm(mids - midh, axis=-1)
    d = d[np.isfinite(d)]
    if d.size:
        # 75th percentile: a torso seen end-on (bending towards the camera) only looks shorter
        return float(np.percentile(d, 75))
    t = torso_length_px(xy)
    if np.isfinite(t):
        return t
    ys = xy[..., 1]
    if np.isfinite(ys).any():
        return float(0.55 * (np.nanmax(ys) - np.nanmin(ys)))
    return float("nan")


def body_frame(xy: np.ndarray, *, scale_px: float | None = None) -> np.ndarray:
    """(T, 33, 2) pixels -> centred on each frame's mid-hip, in torso lengths. NaN stays NaN.

    Where the hips are missing in a frame, the centre is interpolated from neighbouring frames."""
    xy = np.asarray(xy, dtype=np.float64)
    scale = robust_scale_px(xy) if scale_px is None else scale_px
    if not (np.isfinite(scale) and scale > 0):
        return np.full_like(xy, np.nan)
    centre = midpoint(xy, MID_HIP)
    t = np.arange(xy.shape[0])
    for c in range(2):
        ok = np.isfinite(centre[:, c])
        if ok.any() and not ok.all():
            centre[:, c] = np.interp(t, t[ok], centre[ok, c])
    return (xy - centre[:, None, :]) / scale


def bbox_l2(xy_frame: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """SEEDS §4: subtract the tight bounding box corner, scale by its longer side, L2-normalize the
    flattened vector. xy_frame: (J, 2) with NaN for missing (those entries become 0 weight)."""
    ok = np.isfinite(xy_frame).all(axis=-1)
    if weights is not None:
        ok &= weights > 0
    v = np.zeros_like(xy_frame, dtype=np.float64)
    if ok.sum() < 2:
        return v.ravel()
    pts = xy_frame[ok]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    side = max(float((hi - lo).max()), 1e-9)
    v[ok] = (pts - lo) / side
    flat = v.ravel()
    n = np.linalg.norm(flat)
    return flat / n if n > 0 else flat


def mirror(xy: np.ndarray) -> np.ndarray:
    """Mirror a body-frame pose: flip x and swap left/right landmarks (a left-side view of the
    performer becomes a right-side view of a mirrored performer). Works on (..., 33, 2|3)."""
    out = np.array(xy, dtype=np.float64)[..., MIRROR_INDEX, :]
    out[..., 0] = -out[..., 0]
    return out


# --- view and facing -------------------------------------------------------------------


@dataclass(frozen=True)
class ViewEstimate:
    """view: "front" or "side"; confidence 0..1; facing: "left"/"right" (side view: the image
    direction the performer faces), "camera"/"away" (front view), or "unknown"; width_ratio: median
    shoulder+hip width over torso length (small in a side view); oblique: a side view by what the
    body hides whose shoulders and hips still look wide (a camera at an angle): limbs are
    foreshortened, so nothing that needs a true profile is judged."""

    view: str
    confidence: float
    facing: str
    width_ratio: float
    oblique: bool = False


# Mean of shoulder and hip widths over the torso length, 2-D. MediaPipe's landmarks give about
# 0.35-0.7 facing the camera and 0.02-0.2 from the side (it grows for oblique views).
_FRONT_RATIO = 0.39
_SIDE_RATIO = 0.15
#: With no width measurable, this share of frames showing one side only makes it a side view.
ONE_SIDE_MIN_SHARE = 0.5
# Seen from the side, the body hides its far side, and the pose model says so: the median over the
# frames of |mean visibility of the left-side landmarks - of the right-side ones| is 0.2-0.45 on
# side views and 0-0.08 facing the camera (the shared clips). Widths mislead on oblique and low
# cameras, where the perspective spreads the shoulders of a side view.
SIDE_VISIBILITY_GAP = 0.15
_VISIBILITY_GAP_SURE = 0.1  # this far from SIDE_VISIBILITY_GAP, the view is certain
_SIDE_PAIRS = (
    (L.LEFT_SHOULDER, L.RIGHT_SHOULDER), (L.LEFT_ELBOW, L.RIGHT_ELBOW), (L.LEFT_WRIST, L.RIGHT_WRIST),
    (L.LEFT_HIP, L.RIGHT_HIP), (L.LEFT_KNEE, L.RIGHT_KNEE), (L.LEFT_ANKLE, L.RIGHT_ANKLE), (L.LEFT_EAR, L.RIGHT_EAR),
)


def visibility_gap(xy: np.ndarray, visibility: np.ndarray | None) -> float:
    """Median over the frames with a person of |mean visibility of the left-side landmarks - mean
    of the right-side ones| (0..1); NaN when the visibility says nothing (none given, or one value
    everywhere, as in keypoints without confidences)."""
    if visibility is None:
        return float("nan")
    vis = np.asarray(visibility, dtype=np.float64)
    if vis.shape != xy.shape[:2]:
        raise ValueError(f"visibility must have shape {xy.shape[:2]}, got {vis.shape}")
    person = np.isfinite(xy[..., 0]).any(axis=1)
    vis = vis[person]
    if vis.size == 0 or not np.isfinite(vis).all() or np.ptp(vis) == 0:
        return float("nan")
    left = [a for a, _b in _SIDE_PAIRS]
    right = [b for _a, b in _SIDE_PAIRS]
    return float(np.median(np.abs(vis[:, left].mean(axis=1) - vis[:, right].mean(axis=1))))


def detect_view(xy: np.ndarray, visibility: np.ndarray | None = None) -> ViewEstimate:
    """Front vs side, and the facing direction from nose vs ears and toes vs heels.

    With the pose model's visibility (T, 33), the view is read from how much more of one side it
    sees (`visibility_gap`). Without it, from the apparent shoulder and hip widths relative to the
    torso length: a frame where only one of the two widths is seen uses that one. When neither
    can be measured (the far side is never seen, as in keypoints that mark hidden joints missing)
    but one side's shoulder and hip are, that is itself a side view: its confidence is the share
    of frames showing one side only."""
    xy = np.asarray(xy, dtype=np.float64)
    gap = visibility_gap(xy, visibility)
    torso = np.linalg.norm(midpoint(xy, MID_SHOULDER) - midpoint(xy, MID_HIP), axis=-1)
    sw = np.linalg.norm(xy[:, L.LEFT_SHOULDER] - xy[:, L.RIGHT_SHOULDER], axis=-1)
    hw = np.linalg.norm(xy[:, L.LEFT_HIP] - xy[:, L.RIGHT_HIP], axis=-1)
    scale = np.nanpercentile(torso, 75) if np.isfinite(torso).any() else np.nan
    # either width where only one is seen (keypoints that drop hidden joints); both as a rule
    with np.errstate(invalid="ignore"):
        ratio_t = np.where(np.isfinite(sw) & np.isfinite(hw), (sw + hw) / 2, np.fmax(sw, hw)) / scale
    ratio = float(np.nanmedian(ratio_t)) if np.isfinite(ratio_t).any() else float("nan")
    if not np.isfinite(ratio):
        one_side = _one_side_share(xy)
        if one_side >= ONE_SIDE_MIN_SHARE:
            return ViewEstimate("side", round(one_side, 3), side_facing(xy), ratio)
        return ViewEstimate("unknown", 0.0, "unknown", ratio)
    mid = (_FRONT_RATIO + _SIDE_RATIO) / 2
    oblique = False
    if np.isfinite(gap):
        view = "side" if gap > SIDE_VISIBILITY_GAP else "front"
        conf = float(np.clip(abs(gap - SIDE_VISIBILITY_GAP) / _VISIBILITY_GAP_SURE, 0.0, 1.0))
        oblique = view == "side" and ratio >= mid
    else:
        view = "front" if ratio >= mid else "side"
        conf = float(np.clip(abs(ratio - mid) / ((_FRONT_RATIO - _SIDE_RATIO) / 2), 0.0, 1.0))
    if view == "side":
        facing = side_facing(xy)
    else:
        lx = xy[:, L.LEFT_SHOULDER, 0] - xy[:, L.RIGHT_SHOULDER, 0]
        med = np.nanmedian(lx) if np.isfinite(lx).any() else np.nan
        # facing the camera, the performer's left shoulder is on the image right
        facing = "unknown" if not np.isfinite(med) else ("camera" if med > 0 else "away")
    return ViewEstimate(view, round(conf, 3), facing, round(ratio, 3), oblique)


def _one_side_share(xy: np.ndarray) -> float:
    """Share of the frames with a person in which one side's shoulder and hip are seen and the
    other side's are not."""
    seen = np.isfinite(xy[..., 0])
    left = seen[:, L.LEFT_SHOULDER] & seen[:, L.LEFT_HIP]
    right = seen[:, L.RIGHT_SHOULDER] & seen[:, L.RIGHT_HIP]
    other_l = seen[:, L.LEFT_SHOULDER] | seen[:, L.LEFT_HIP]
    other_r = seen[:, L.RIGHT_SHOULDER] | seen[:, L.RIGHT_HIP]
    person = seen.any(axis=1)
    if not person.any():
        return 0.0
    one = (left & ~other_r) | (right & ~other_l)
    return float(one[person].mean())


def side_facing(xy: np.ndarray) -> str:
    """"left"/"right": the image direction a performer seen from the side faces (nose ahead of
    the ears, toes ahead of the heels), or "unknown"."""
    votes = []
    ears = midpoint(xy, (L.LEFT_EAR, L.RIGHT_EAR))
    d_nose = xy[:, L.NOSE, 0] - ears[:, 0]
    votes.append(np.nanmedian(np.sign(d_nose)) if np.isfinite(d_nose).any() else 0.0)
    toes = midpoint(xy, (L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX))
    heels = midpoint(xy, (L.LEFT_HEEL, L.RIGHT_HEEL))
    d_foot = toes[:, 0] - heels[:, 0]
    votes.append(np.nanmedian(np.sign(d_foot)) if np.isfinite(d_foot).any() else 0.0)
    v = float(np.nansum(votes))
    if v > 0:
        return "right"
    if v < 0:
        return "left"
    return "unknown"
