"""Cleaning: low-visibility and glitching landmarks become NaN, short gaps are interpolated,
long gaps are reported, and contiguous runs are smoothed with Savitzky-Golay (which keeps
the depth of a rep's extreme, unlike a moving average)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
            from scipy.signal import savgol_filter  # ~0.5 s to import: not before it is needed (`coach.cli`)

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


# a frame more than this share of the frame interval away from its slot on an even clock means
# the clock is not even (frames dropped)
_SLOT_TOLERANCE = 0.5
_MAX_SLOTS_PER_FRAME = 10  # an even clock needing more empty slots than this per frame is not a camera's


def on_even_clock(seq: PoseSequence) -> tuple[PoseSequence, np.ndarray]:
    """The frames on an even clock: a recording whose frames were dropped in bursts (a browser
    camera on a busy machine, a phone recording variable frame rate) gets an empty (NaN) frame
    in each slot it lacks, at the interval of its undropped frames, so every step that counts
    frames (gap filling, smoothing windows, rep lengths) measures time right. Returns the
    sequence (`seq` itself when its frames are already even) and a (T',) bool mask of the
    frames that came from `seq`."""
    t = seq.n_frames
    real = np.ones(t, dtype=bool)
    if t < 3:
        return seq, real
    ts = seq.timestamps_s - seq.timestamps_s[0]
    even = ts[-1] / (t - 1)
    if np.all(np.abs(ts - even * np.arange(t)) < _SLOT_TOLERANCE * even):
        return seq, real
    d = np.diff(ts)
    # the camera's own interval: the short steps (more may be dropped than kept), averaged (a
    # 29.97 fps clock in milliseconds steps 33, 34, 33 ms)
    base = np.percentile(d, 10)
    dt = float(np.mean(d[(d > 0.75 * base) & (d < 1.25 * base)]))
    slots = np.rint(ts / dt).astype(np.int64)
    n = int(slots[-1]) + 1
    if n > _MAX_SLOTS_PER_FRAME * t:
        return seq, real
    keep = np.concatenate([[True], np.diff(slots) > 0])  # two frames in one slot: the first stays
    xyz = np.full((n, *seq.xyz.shape[1:]), np.nan, dtype=np.float32)
    vis = np.zeros((n, seq.visibility.shape[1]), dtype=np.float32)
    xyz[slots[keep]] = seq.xyz[keep]
    vis[slots[keep]] = seq.visibility[keep]
    real = np.zeros(n, dtype=bool)
    real[slots[keep]] = True
    meta = {**seq.meta, "even_clock_added_frames": int(n - keep.sum())}
    out = seq.replace(xyz=xyz, visibility=vis, timestamps_s=seq.timestamps_s[0] + dt * np.arange(n),
                      fps=1.0 / dt, meta=meta)
    return out, real


def clean_poses(seq: PoseSequence, settings: CleanSettings | None = None) -> CleanResult:
    """Put the frames on an even clock (`on_even_clock`), then mask, de-glitch, interpolate short
    gaps and smooth every landmark coordinate."""
    s = settings or CleanSettings()
    seq, real = on_even_clock(seq)
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
        person_frames=float(person[real].mean()) if t else 0.0,
    )


def _between_detections(person: np.ndarray) -> np.ndarray:
    """Frames from the first to the last detection (gaps outside are not 'gaps', just absence)."""
    out = np.zeros_like(person)
    hits = np.flatnonzero(person)
    if hits.size:
        out[hits[0] : hits[-1] + 1] = True
    return out
