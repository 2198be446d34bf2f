"""Cleaning: low-visibility and glitching landmarks become NaN, short gaps are interpolated,
long gaps are reported, and contiguous runs are smoothed with Savitzky-Golay (which keeps
the depth of a rep's extreme, unlike a moving average)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import savgol_filter

from coach.pose import PoseSequence
from coach.schema import L, Landmark
from coach.settings import CleanSettings


@dataclass(frozen=True)
class Gap:
    """A run of frames where a landmark stayed missing after interpolation."""

    landmark: Landmark
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class CleanResult:
    """poses: cleaned sequence (NaN where still missing);
    interpolated: (T, 33) bool, True where a value was filled in;
    gaps: long gaps left missing; coverage: (33,) share of frames with a value after cleaning;
    person_frames: share of frames where a person was detected at all."""

    poses: PoseSequence
    interpolated: np.ndarray
    gaps: tuple[Gap, ...]
    coverage: np.ndarray
    person_frames: float


def torso_length_px(xy: np.ndarray) -> float:
    """Median 2-D distance mid-shoulder to mid-hip over the frames where both are seen (pixels).
    NaN when never seen."""
    sh = (xy[:, L.LEFT_SHOULDER] + xy[:, L.RIGHT_SHOULDER]) / 2
    hp = (xy[:, L.LEFT_HIP] + xy[:, L.RIGHT_HIP]) / 2
    d = np.linalg.norm(sh - hp, axis=-1)
    d = d[np.isfinite(d)]
    return float(np.median(d)) if d.size else float("nan")


def _runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index pairs of True runs."""
    v = np.concatenate([[False], valid, [False]]).astype(np.int8)
    d = np.diff(v)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def interpolate_short_gaps(values: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation over interior NaN runs of at most max_gap frames.

    values: (T,) float. Returns (filled copy, bool mask of filled entries). Edges are not
    extrapolated: a landmark missing at the start stays missing."""
    out = values.astype(np.float64, copy=True)
    filled = np.zeros(values.shape, dtype=bool)
    missing = ~np.isfinite(out)
    if not missing.any() or missing.all():
        return out, filled
    idx = np.arange(out.size)
    for a, b in _runs(missing):
        if a == 0 or b == out.size or (b - a) > max_gap:
            continue
        out[a:b] = np.interp(idx[a:b], [a - 1, b], [out[a - 1], out[b]])
        filled[a:b] = True
    return out, filled


def smooth_runs(values: np.ndarray, window: int, polyorder: int) -> np.ndarray:
    """Savitzky-Golay over each contiguous finite run long enough for the window.

    values: (T,) or (T, K), each column on its own runs. Columns that share a run are filtered in
    one call (the 99 landmark coordinates mostly share theirs: ~10x faster than one by one)."""
    out = np.array(values, dtype=np.float64)
    cols = out.reshape(out.shape[0], -1)  # a view: filtering it fills `out`
    shared: dict[tuple[int, int], list[int]] = {}
    for k in range(cols.shape[1]):
        for run in _runs(np.isfinite(cols[:, k])):
            shared.setdefault(run, []).append(k)
    for (a, b), ks in shared.items():
        n = b - a
        w = min(window, n if n % 2 == 1 else n - 1)
        if w > polyorder + 1 and w >= 5:
            cols[a:b, ks] = savgol_filter(cols[a:b, ks], w, polyorder, mode="interp", axis=0)
    return out


def _remove_glitches(xy: np.ndarray, limit_px: float) -> np.ndarray:
    """NaN single-frame spikes: a point far from both neighbours (and from their midpoint)."""
    out = xy.copy()
    if xy.shape[0] < 3 or not np.isfinite(limit_px):
        return out
    prev_, cur, next_ = xy[:-2], xy[1:-1], xy[2:]
    mid = (prev_ + next_) / 2
    d_mid = np.linalg.norm(cur - mid, axis=-1)
    d_nb = np.linalg.norm(next_ - prev_, axis=-1)
    spike = (d_mid > limit_px) & (d_nb < limit_px / 2)
    out[1:-1][spike] = np.nan
    return out


def clean_poses(seq: PoseSequence, settings: CleanSettings | None = None) -> CleanResult:
    """Mask, de-glitch, interpolate short gaps and smooth every landmark coordinate."""
    s = settings or CleanSettings()
    xyz = np.array(seq.xyz, dtype=np.float64)
    vis = np.array(seq.visibility, dtype=np.float64)
    person = np.isfinite(xyz[..., 0]).any(axis=1)
    low = ~(vis >= s.min_visibility)
    xyz[low] = np.nan
    torso = torso_length_px(xyz[..., :2])
    xy = _remove_glitches(xyz[..., :2], s.max_jump_torso_per_frame * torso)
    xyz[..., :2] = xy
    xyz[~np.isfinite(xy).all(axis=-1)] = np.nan

    max_gap = max(1, round(s.max_gap_s * seq.fps))
    window = max(5, round(s.smooth_window_s * seq.fps) | 1)
    t, n, _ = xyz.shape
    interpolated = np.zeros((t, n), dtype=bool)
    gaps: list[Gap] = []
    ts = seq.timestamps_s
    min_run = max(2, round(s.min_run_s * seq.fps))
    for j in range(n):
        for c in range(3):
            xyz[:, j, c], f = interpolate_short_gaps(xyz[:, j, c], max_gap)
            if c == 0:
                interpolated[:, j] = f
        # a landmark seen for a frame or two inside a gap it is otherwise lost in (a torso
        # "leaning" 178 deg for one frame at the bottom of a squat) is a detection glitch
        for a, b in _runs(np.isfinite(xyz[:, j, 0])):
            if b - a < min_run and 0 < a and b < t:
                xyz[a:b, j] = np.nan
                interpolated[a:b, j] = False
    xyz = smooth_runs(xyz.reshape(t, n * 3), window, s.smooth_polyorder).reshape(t, n, 3)
    for j in range(n):
        still = ~np.isfinite(xyz[:, j, 0])
        if person.any():
            for a, b in _runs(still & _between_detections(person)):
                if b - a > max_gap:
                    gaps.append(Gap(Landmark(j), float(ts[a]), float(ts[b - 1])))
    vis_out = np.where(np.isfinite(xyz[..., 0]), np.maximum(vis, 0.0), 0.0)
    vis_out[interpolated] = s.min_visibility  # filled in: trusted, but no more than the floor
    cleaned = seq.replace(xyz=xyz.astype(np.float32), visibility=vis_out.astype(np.float32))
    coverage = np.isfinite(xyz[..., 0]).mean(axis=0) if t else np.zeros(n)
    return CleanResult(
        poses=cleaned,
        interpolated=interpolated,
        gaps=tuple(gaps),
        coverage=coverage,
        person_frames=float(person.mean()) if t else 0.0,
    )


def _between_detections(person: np.ndarray) -> np.ndarray:
    """Frames from the first to the last detection (gaps outside are not 'gaps', just absence)."""
    out = np.zeros_like(person)
    hits = np.flatnonzero(person)
    if hits.size:
        out[hits[0] : hits[-1] + 1] = True
    return out
