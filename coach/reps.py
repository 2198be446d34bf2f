"""Repetition segmentation of a 1-D movement signal whose working extreme is a *peak*.

A repetition is an excursion from the rest level up to the working extreme and back. Every
excursion is judged against the set's own typical rep, not against a fixed threshold
(all knobs are in `RepSettings`):

1. Gaps up to `max_gap_s` are interpolated; longer gaps split the signal into segments that are
   counted separately (nothing is invented inside a long gap), except that a rep whose extreme
   fell in a gap of at most `max_bridge_s` (the signal near the top on both sides, falling back
   to rest on both) is joined across it.
2. The period P is estimated from the autocorrelation of the detrended segments (pooled): the lag
   in [min_rep_s, max_rep_s] with the highest maximum after a negative trough, or an integer
   fraction of it that also correlates clearly. P sets the smoothing window (Savitzky-Golay, about
   P/8, which keeps the extremes) and the shortest spacing of two reps (`min_spacing_periods`).
3. Peaks are found per segment, each with the valleys (lowest points) separating it from its
   neighbours. Neighbouring peaks are one rep when the signal between them falls back less than
   `min_return` of the lower peak's rise above the local rest (a wobble at the top, a double bump)
   or when they are closer than the shortest spacing; the lower peak is merged away.
4. A peak's rise is its height above the higher of its two valleys. The typical amplitude A is the
   median of the most populated cluster of rises (within a factor `partial_fraction`), among rises
   of complete reps and of at least a quarter of the signal's robust range. Nothing counts when no
   rise reaches `min_amplitude` (no movement). depth = rise / A; a rep with depth below
   `partial_fraction` is partial (reported, not counted); below `min_prominence` it is jitter.
5. A rep seen on one side only (the clip starts after its rest, or ends at or before its return)
   counts when the seen side shows at least `edge_fraction` of A, when a peak that ends the signal
   had stopped there (not cut on the way up; or, at a gap of at most `max_bridge_s`, the signal is
   found again back at the rep's rest level), and, when no complete rep exists to compare with,
   when both sides fall back at least `min_return` of the rise (a lone one-way movement such as
   walking in or out is not a rep).
6. start/end of a rep are where the signal leaves/reaches its rest band (`rest_band` x the rise
   above each valley), so a pause at rest between reps belongs to neither.

Signals are in the units of their source: torso lengths for pose signals, which is what
`min_amplitude` assumes. `count_reps_generic` builds an exercise-agnostic signal from the landmarks
(a principal component of the trajectories); `count_reps_pose` falls back to it when an exercise's
own signal is not seen.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from coach.clean import interpolate_short_gaps
from coach.schema import CORE_LANDMARKS
from coach.settings import RepSettings

log = logging.getLogger(__name__)

DEFAULT_REP_SETTINGS = RepSettings()


@dataclass(frozen=True)
class Rep:
    """One repetition. Frames index the signal; times are the matching timestamps (seconds).

    start: where the signal leaves its rest level; peak: the working extreme; end: where it is back
    at rest. depth: the rep's rise above its rest level as a share of the set's typical rep
    amplitude (1.0 = typical); partial: depth below `RepSettings.partial_fraction` (not counted)."""

    index: int
    start_frame: int
    peak_frame: int
    end_frame: int
    start_s: float
    peak_s: float
    end_s: float
    depth: float
    partial: bool


@dataclass(frozen=True, eq=False)
class RepResult:
    """reps: full repetitions numbered 1..n; partial: partial ones (index 0, not counted);
    method: "exercise", "generic", "flow" or "none"; signal: the smoothed signal that was segmented
    (NaN where unknown); confidence: 0..1; period_s: estimated rep period (NaN when unknown)."""

    reps: tuple[Rep, ...]
    partial: tuple[Rep, ...]
    method: str
    signal: np.ndarray
    confidence: float
    period_s: float

    @property
    def count(self) -> int:
        return len(self.reps)


# --- helpers ------------------------------------------------------------------------------


def _runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index pairs of True runs."""
    v = np.concatenate([[False], valid, [False]]).astype(np.int8)
    d = np.diff(v)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def _odd(n: float, lo: int = 3) -> int:
    k = max(lo, round(n))
    return k if k % 2 == 1 else k + 1


def _check_inputs(signal: np.ndarray, timestamps_s: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(signal, dtype=np.float64)
    ts = np.asarray(timestamps_s, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"signal must be 1-D (T,), got shape {x.shape}")
    if ts.shape != x.shape:
        raise ValueError(f"timestamps_s must have shape {x.shape}, got {ts.shape}")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    x = np.where(np.isfinite(x), x, np.nan)
    return x, ts


def _segments(x: np.ndarray, fps: float, s: RepSettings) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Interpolate short gaps; return the filled signal and the runs long enough to hold a rep."""
    filled, _ = interpolate_short_gaps(x, max(1, round(s.max_gap_s * fps)))
    min_len = max(5, round(s.min_rep_s * fps))
    segs = [(a, b) for a, b in _runs(np.isfinite(filled)) if b - a >= min_len]
    return filled, segs


def _detrend(y: np.ndarray) -> np.ndarray:
    t = np.arange(y.size, dtype=np.float64)
    if y.size < 3:
        return y - y.mean()
    coef = np.polyfit(t, y, 1)
    return y - np.polyval(coef, t)


def pooled_autocorrelation(x: np.ndarray, segments: list[tuple[int, int]], max_lag: int) -> np.ndarray:
    """Normalised autocorrelation r[0..max_lag] pooled over segments (each linearly detrended).

    r[k] = sum over segments of sum_t y[t] y[t+k] / sum over segments of (n - k), divided by the
    pooled variance, so r[0] = 1; lags no segment reaches are NaN."""
    num = np.zeros(max_lag + 1)
    cnt = np.zeros(max_lag + 1)
    var_num = 0.0
    var_cnt = 0
    for a, b in segments:
        y = _detrend(x[a:b])
        n = y.size
        var_num += float(np.dot(y, y))
        var_cnt += n
        nfft = 1 << int(np.ceil(np.log2(2 * n)))
        f = np.fft.rfft(y, nfft)
        ac = np.fft.irfft(f * np.conj(f), nfft)[: min(n, max_lag + 1)]
        num[: ac.size] += ac
        cnt[: ac.size] += n - np.arange(ac.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (num / cnt) / (var_num / max(var_cnt, 1))
    r[cnt < 1] = np.nan
    return r


def estimate_period(
    x: np.ndarray,
    segments: list[tuple[int, int]],
    *,
    fps: float,
    settings: RepSettings = DEFAULT_REP_SETTINGS,
) -> tuple[float, float]:
    """(period in frames, autocorrelation at that lag) or (NaN, best autocorrelation) when no clear
    period.

    The lag must lie in [min_rep_s, max_rep_s] and within 0.6 of the longest segment (about two
    cycles seen). A real period shows a trough (negative autocorrelation) before its peak, which a
    single slow excursion does not. When an integer fraction of the best lag also shows a clear
    maximum (at least half as high), that shorter lag is the period: a multiple of the period
    correlates too (reps alternating in depth make it correlate best)."""
    s = settings
    if not segments:
        return float("nan"), 0.0
    longest = max(b - a for a, b in segments)
    lo = max(2, round(s.min_rep_s * fps))
    hi = min(round(s.max_rep_s * fps), int(0.6 * longest))
    if hi <= lo + 1:
        return float("nan"), 0.0
    from scipy.signal import find_peaks  # ~0.5 s to import: not before it is needed (`coach.cli`)

    r = pooled_autocorrelation(x, segments, hi + 1)
    rr = np.nan_to_num(r[lo : hi + 1], nan=-1.0)
    idx = find_peaks(rr)[0]
    # a peak counts only after the autocorrelation went negative (a trough at about half the lag)
    running_min = np.minimum.accumulate(np.nan_to_num(r, nan=1.0))[lo : hi + 1]
    idx = idx[running_min[idx] < 0]
    if idx.size == 0:
        return float("nan"), 0.0
    vals = rr[idx]
    best = float(vals.max())
    if best < s.min_periodicity:
        return float("nan"), best
    k_best = int(idx[int(np.argmax(vals))])
    k = k_best
    for i, v in zip(idx, vals, strict=True):
        ratio = (lo + k_best) / (lo + i)
        # an integer fraction of the best lag that also correlates clearly is the real period
        if (
            i < k_best
            and round(ratio) >= 2
            and abs(ratio - round(ratio)) <= 0.15 * round(ratio)
            and (v >= max(s.min_periodicity, 0.5 * best))
        ):
            k = int(i)
            break
    # parabolic refinement of the lag
    lag = float(lo + k)
    if 0 < k < rr.size - 1:
        y0, y1, y2 = rr[k - 1], rr[k], rr[k + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            lag += 0.5 * (y0 - y2) / den
    return lag, float(rr[k])


def _smooth(x: np.ndarray, segments: list[tuple[int, int]], window: int) -> np.ndarray:
    from scipy.signal import savgol_filter

    out = np.full_like(x, np.nan)
    for a, b in segments:
        n = b - a
        w = min(window, n if n % 2 == 1 else n - 1)
        out[a:b] = savgol_filter(x[a:b], w, 2, mode="interp") if w >= 5 else x[a:b]
    return out


@dataclass
class _Peak:
    """A peak of one segment and the valleys (indices) separating it from its neighbours.
    A valley is "open" when it lies at the segment edge: the rest before/after was not seen."""

    peak: int
    left: int
    right: int
    left_open: bool
    right_open: bool
    edge: bool = False  # the segment ends while still at this peak (a rep cut by the end)


def _segment_peaks(y: np.ndarray, a: int, b: int, floor: float, reach: int, rest_band: float) -> list[_Peak]:
    """Candidate peaks of y[a:b] with their valleys. The last sample is a candidate too when the
    signal rises into the end of the segment (a rep cut at its working extreme)."""
    from scipy.signal import find_peaks

    seg = y[a:b]
    idx = find_peaks(seg, prominence=floor)[0].tolist() if seg.size >= 3 else []
    if seg.size >= 3:
        # the highest point of the last stretch, if find_peaks could not see it as a peak
        t0 = max(1, seg.size - max(3, reach // 8))
        j = t0 + int(np.argmax(seg[t0:]))
        if (not idx or j > idx[-1]) and seg[j] - seg[j:].min() < floor and seg[j] > seg[t0 - 1]:
            idx.append(j)
    out: list[_Peak] = []
    for k, i in enumerate(idx):
        lo = idx[k - 1] if k > 0 else max(0, i - reach)
        hi = idx[k + 1] if k + 1 < len(idx) else min(seg.size - 1, i + reach)
        lv = lo + int(np.argmin(seg[lo : i + 1]))
        rv = i + int(np.argmin(seg[i : hi + 1]))
        fall_l, fall_r = seg[i] - seg[lv], seg[i] - seg[rv]
        out.append(
            _Peak(
                peak=a + i,
                left=a + lv,
                right=a + rv,
                # a valley at the segment edge is open unless the signal got back near the other side's rest
                left_open=k == 0 and lv == 0 and fall_l < (1 - rest_band) * fall_r,
                right_open=k + 1 == len(idx) and rv == seg.size - 1 and fall_r < (1 - rest_band) * fall_l,
                edge=k + 1 == len(idx) and fall_r < floor,
            )
        )
    return out


def _merge(
    y: np.ndarray, peaks: list[_Peak], *, min_return: float, min_dist: float, full_return: float
) -> list[_Peak]:
    """Merge neighbouring peaks that belong to one rep, most doubtful pair first: the signal between
    them falls back less than `min_return` of the lower peak's rise above the local rest (the lower
    of the two outer valleys), or they are closer than `min_dist` frames without falling back at
    least `full_return` of it (a full return to rest proves two reps whatever the period says).
    The lower peak goes and the two valleys around it become one (the lower)."""
    ps = list(peaks)
    while len(ps) > 1:
        pk = np.array([y[p.peak] for p in ps])
        lv = np.array([y[p.left] for p in ps])
        rv = np.array([y[p.right] for p in ps])
        pos = np.array([p.peak for p in ps])
        lower = np.minimum(pk[:-1], pk[1:])
        height = lower - np.minimum(lv[:-1], rv[1:])
        dip = lower - rv[:-1]
        with np.errstate(invalid="ignore", divide="ignore"):
            score = np.where(height > 0, dip / height, 0.0)
        score[(np.diff(pos) < min_dist) & (score < full_return)] = -1.0
        i = int(np.argmin(score))
        if score[i] >= min_return:
            break
        p, q = ps[i], ps[i + 1]
        if pk[i] >= pk[i + 1]:  # q goes
            v = p.right if rv[i] <= rv[i + 1] else q.right
            ps[i] = _Peak(p.peak, p.left, v, p.left_open, q.right_open and v == q.right, p.edge)
            del ps[i + 1]
        else:  # p goes
            v = p.left if lv[i] <= rv[i] else p.right
            ps[i + 1] = _Peak(q.peak, v, q.right, p.left_open and v == p.left, q.right_open, q.edge)
            del ps[i]
    return ps


def _bridge_gaps(
    y: np.ndarray, segs: list[tuple[int, int]], seg_peaks: list[list[_Peak]], *, max_gap: int, reach: int
) -> list[_Peak]:
    """Join a rep whose extreme fell in a tracking gap (the bar hiding the face at lockout, a blur at
    the bottom): segment k ends near the top of a rise (its last peak is cut by the gap) and segment
    k + 1, at most `max_gap` samples later, starts near the top and falls. The two halves become one
    complete rep with the valley before the gap and the valley after it. Flattened, in order."""
    out = [list(ps) for ps in seg_peaks]
    for k in range(len(segs) - 1):
        (_a1, b1), (a2, b2) = segs[k], segs[k + 1]
        if a2 - b1 > max_gap or not out[k]:
            continue
        p = out[k][-1]
        if not (p.edge or p.right_open):
            continue
        # the highest point of the next segment's first stretch, and where it falls to after it
        j = a2 + int(np.argmax(y[a2 : a2 + min(b2 - a2, max(3, reach // 8))]))
        later = [q.peak for q in out[k + 1] if q.peak > j]
        stop = later[0] if later else min(b2 - 1, j + reach)
        if stop <= j:
            continue
        rv = j + int(np.argmin(y[j : stop + 1]))
        lo_l, lo_r = y[p.left], y[rv]
        top = max(y[p.peak], y[j])
        # both sides of the gap near the top, both sides fall back to a rest
        if top - max(lo_l, lo_r) <= 0 or y[b1 - 1] < lo_l + 0.5 * (top - lo_l) or y[a2] < lo_r + 0.5 * (top - lo_r):
            continue
        peak = p.peak if y[p.peak] >= y[j] else j
        out[k][-1] = _Peak(peak, p.left, rv, p.left_open, rv == b2 - 1, edge=False)
        out[k + 1] = [q for q in out[k + 1] if q.peak > rv]
    return [p for ps in out for p in ps]


def typical_amplitude(rises: np.ndarray, *, band: float = 0.6) -> float:
    """The set's typical rep amplitude: the median of the most populated cluster of rises.

    For each rise r, the rises within [band x r, r / band] form its cluster; the largest cluster
    (ties: the one of the larger r) is the typical rep, so a glitch far above the set or partial
    reps far below it do not set the scale. NaN when there is no positive rise."""
    r = np.asarray(rises, dtype=np.float64)
    r = r[np.isfinite(r) & (r > 0)]
    if r.size == 0:
        return float("nan")
    members = (r[None, :] >= band * r[:, None]) & (r[None, :] <= r[:, None] / band)
    sizes = members.sum(axis=1)
    best = max(range(r.size), key=lambda i: (sizes[i], r[i]))
    return float(np.median(r[members[best]]))


def _rise(y: np.ndarray, p: _Peak) -> float:
    """The peak's rise above its rest: the higher of its seen valleys (both when neither is seen)."""
    seen = [y[v] for v, op in ((p.left, p.left_open), (p.right, p.right_open)) if not op]
    if p.edge:
        seen = [y[p.left]]
    base = max(seen) if seen else max(y[p.left], y[p.right])
    return float(y[p.peak] - base)


def _stopped(y: np.ndarray, p: _Peak) -> bool:
    """For a peak at the end of a segment: the signal turned after it, or its last step is slower
    than 0.3 x the fastest step of its rise (the movement reached its extreme instead of being cut
    on the way up)."""
    if p.right > p.peak:
        return True
    d = np.abs(np.diff(y[p.left : p.peak + 1]))
    return d.size >= 2 and d[-1] <= 0.3 * d.max()


def _back_after_gap(y: np.ndarray, p: _Peak, segs: list[tuple[int, int]], max_gap: int, rest_band: float) -> bool:
    """For a peak cut by the end of a segment on its way up: the next segment starts at most
    `max_gap` samples later back at the rest level this rep rose from (within 2 x `rest_band` of
    its rise), so the rest of the rise and the whole return happened unseen in the gap (a lifter
    lost at the top of the pull)."""
    for (_a1, b1), (a2, b2) in itertools.pairwise(segs):
        if b1 - 1 == p.peak:
            if a2 - b1 > max_gap:
                return False
            # back at that level, not merely low: a start far below it is a different state
            # (the generic signal of a lifter re-found in another pose), not this rep's rest
            start = float(np.nanmedian(y[a2 : min(b2, a2 + 3)]))
            return abs(start - y[p.left]) <= 2 * rest_band * (y[p.peak] - y[p.left])
    return False


def _empty(method: str, y: np.ndarray, confidence: float, period_s: float = float("nan")) -> RepResult:
    y = np.array(y, dtype=np.float64)
    y.setflags(write=False)
    return RepResult((), (), method, y, round(float(confidence), 2), period_s)


# --- the counter ----------------------------------------------------------------------------


def count_reps(
    signal: np.ndarray,
    timestamps_s: np.ndarray,
    *,
    fps: float,
    settings: RepSettings = DEFAULT_REP_SETTINGS,
    method: str = "exercise",
) -> RepResult:
    """Segment the repetitions of `signal` (T,), whose working extreme is a peak (module docstring).

    timestamps_s: (T,) seconds of each sample; fps: nominal sample rate (Hz) used for the time-based
    settings. NaN = unknown sample. Returns full reps numbered 1..n and partial reps separately."""
    s = settings
    x, ts = _check_inputs(signal, timestamps_s, fps)
    filled, segs = _segments(x, fps, s)
    if not segs:
        return _empty(method, np.full_like(x, np.nan), 0.0)
    # light smoothing first so the period estimate is not driven by jitter
    y0 = _smooth(filled, segs, _odd(0.1 * fps, 5))
    period, periodicity = estimate_period(y0, segs, fps=fps, settings=s)
    window = _odd(np.clip(period / 8 if np.isfinite(period) else 0.15 * fps, 0.1 * fps, 0.5 * fps), 5)
    y = _smooth(filled, segs, window)
    covered = float(np.isfinite(y).mean())
    period_s = period / fps if np.isfinite(period) else float("nan")

    reach = max(3, round(1.5 * period if np.isfinite(period) else 0.5 * s.max_rep_s * fps))
    min_dist = max(s.min_rep_s * fps, s.min_spacing_periods * period if np.isfinite(period) else 0.0)
    seg_peaks = []
    for a, b in segs:
        cand = _segment_peaks(y, a, b, 0.25 * s.min_amplitude, reach, s.rest_band)
        seg_peaks.append(_merge(y, cand, min_return=s.min_return, min_dist=min_dist, full_return=1 - s.rest_band))
    max_gap = round(s.max_bridge_s * fps)
    peaks = _bridge_gaps(y, segs, seg_peaks, max_gap=max_gap, reach=reach)
    rises = np.array([_rise(y, p) for p in peaks])
    one_sided = np.array([p.edge or p.left_open or p.right_open for p in peaks], dtype=bool)
    strong = rises >= s.min_amplitude
    if not strong.any():
        # nothing moved enough: confident there is no rep when the signal was seen
        return _empty(method, y, 0.9 * covered, period_s)
    # the typical rep is judged on complete reps (rest seen on both sides) when there are any, and
    # among rises of at least a quarter of the signal's robust range (2.5th-97.5th percentile), so
    # small wobbles at rest do not outnumber a single real rep
    lo, hi = np.nanpercentile(y, [2.5, 97.5])
    big = strong & (rises >= 0.25 * (hi - lo))
    if not big.any():
        big = strong
    complete = big & ~one_sided
    any_complete = bool(complete.any())
    amp = typical_amplitude(rises[complete] if any_complete else rises[big], band=s.partial_fraction)

    full: list[Rep] = []
    part: list[Rep] = []
    depths_full = []
    for p, rise, lone in zip(peaks, rises, one_sided, strict=True):
        depth = rise / amp
        if lone:
            # only one side of the rep was seen: it counts when that side shows nearly the full depth,
            # when the movement had stopped at a peak that ends the signal, and, without any complete
            # rep to compare with, when both sides fall back at least min_return of the rise (a lone
            # one-way movement such as walking in is not a rep)
            falls = (y[p.peak] - y[p.left], y[p.peak] - y[p.right])
            if depth < s.edge_fraction or rise < s.min_amplitude or (
                p.edge and not _stopped(y, p) and not _back_after_gap(y, p, segs, max_gap, s.rest_band)
            ):
                continue
            if not any_complete and min(falls) < s.min_return * max(falls):
                continue
            is_partial = False
        else:
            if depth < s.min_prominence or rise < 0.5 * s.min_amplitude:
                continue  # jitter
            is_partial = depth < s.partial_fraction or rise < s.min_amplitude
        top = y[p.peak]
        left = y[p.left : p.peak + 1] <= y[p.left] + s.rest_band * (top - y[p.left])
        start = p.left + int(np.flatnonzero(left)[-1])
        right = y[p.peak : p.right + 1] <= y[p.right] + s.rest_band * (top - y[p.right])
        end = p.peak + int(np.flatnonzero(right)[0]) if right.any() and not p.edge else p.right
        rep = Rep(
            index=0 if is_partial else len(full) + 1,
            start_frame=int(start),
            peak_frame=int(p.peak),
            end_frame=int(end),
            start_s=float(ts[start]),
            peak_s=float(ts[p.peak]),
            end_s=float(ts[end]),
            depth=round(float(depth), 3),
            partial=bool(is_partial),
        )
        (part if is_partial else full).append(rep)
        if not is_partial:
            depths_full.append(depth)

    if not np.isfinite(period_s):
        if len(full) >= 2:
            period_s = float(np.median(np.diff([r.peak_s for r in full])))
        elif len(full) == 1:
            period_s = full[0].end_s - full[0].start_s
    conf = _confidence(full, len(part), depths_full, periodicity, covered)
    y_out = np.array(y)
    y_out.setflags(write=False)
    return RepResult(tuple(full), tuple(part), method, y_out, conf, float(period_s))


def _confidence(
    full: list[Rep], n_partial: int, depths: list[float], periodicity: float, covered: float
) -> float:
    """covered x (0.5 + 0.5 x agreement) x full / (full + partial).

    covered: share of frames with a signal; agreement: for >= 2 reps the mean of the periodicity
    (autocorrelation at the period) and the depth consistency (1 - coefficient of variation), 0.3 for
    a single rep; the last factor drops when many excursions are partial (an irregular or noisy
    signal). No rep: 0.4 x covered (something moved, but no rep was found)."""
    if not full:
        return round(0.4 * covered, 2)
    if len(full) == 1:
        agree = 0.3
    else:
        d = np.asarray(depths)
        consistency = float(np.clip(1.0 - d.std() / max(d.mean(), 1e-9), 0.0, 1.0))
        agree = 0.5 * (float(np.clip(periodicity, 0.0, 1.0)) + consistency)
    share = len(full) / (len(full) + n_partial)
    return round(float(np.clip(covered * (0.5 + 0.5 * agree) * share, 0.0, 1.0)), 2)


# --- the generic (exercise-agnostic) signal ------------------------------------------------------


def robust_skew(x: np.ndarray) -> float:
    """Quantile skewness (q90 + q10 - 2 q50) / (q90 - q10) of the finite values, in [-1, 1]:
    positive when the signal rests low and makes brief excursions up."""
    v = np.asarray(x, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 5:
        return 0.0
    q10, q50, q90 = np.percentile(v, [10, 50, 90])
    return float((q90 + q10 - 2 * q50) / (q90 - q10)) if q90 > q10 else 0.0


def orient_peaks_up(signal: np.ndarray, *, fps: float = 30.0) -> np.ndarray:
    """Flip a signal of arbitrary sign so the working extreme is a peak.

    A set starts and ends at rest: when the first and last half second of the signal both lie in
    the same outer 40% of its range (2nd-98th percentile), that side is the rest and the other
    side is the working extreme. Otherwise the body is taken to spend most of its time at rest
    and make brief excursions: the orientation with positive quantile skewness is kept."""
    x = np.asarray(signal, dtype=np.float64)
    v = np.flatnonzero(np.isfinite(x))
    if v.size < 5:
        return x.copy()
    lo, hi = np.percentile(x[v], [2, 98])
    if hi > lo:
        n = max(1, round(0.5 * fps))
        ends = (np.median(x[v[:n]]) - lo) / (hi - lo), (np.median(x[v[-n:]]) - lo) / (hi - lo)
        if max(ends) <= 0.4:
            return x.copy()
        if min(ends) >= 0.6:
            return -x
    return -x if robust_skew(x) < 0 else x.copy()


def _interp_all(v: np.ndarray) -> np.ndarray:
    """Linear interpolation over every interior NaN run (edges stay NaN)."""
    out = v.copy()
    ok = np.isfinite(out)
    if ok.sum() < 2:
        return out
    idx = np.arange(out.size)
    first, last = np.flatnonzero(ok)[[0, -1]]
    inner = (idx >= first) & (idx <= last) & ~ok
    out[inner] = np.interp(idx[inner], idx[ok], out[ok])
    return out


def generic_components(
    xy: np.ndarray, *, n_components: int = 3, min_coverage: float = 0.6
) -> tuple[np.ndarray, np.ndarray]:
    """Principal components of the landmark trajectories: ((T, k) scores, (k,) variance shares).

    xy: (T, 33, 2) in torso lengths (image axes, not centred per frame, so whole-body motion such
    as a pull-up or a jump counts). Uses the core landmarks seen in at least `min_coverage` of the
    frames with a person; each coordinate is centred over time. The components are fitted on the
    frames where all of those landmarks are known (short gaps interpolated); a frame where some are
    missing for good (an arm that leaves the picture) but at least half are seen gets its scores
    from the coordinates it has (`_project_partial`). Scores are NaN elsewhere."""
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 3 or xy.shape[1:] != (33, 2):
        raise ValueError(f"xy must have shape (T, 33, 2), got {xy.shape}")
    t = xy.shape[0]
    core = np.array([int(j) for j in CORE_LANDMARKS])
    seen = np.isfinite(xy[:, core, 0])
    person = seen.any(axis=1)
    none = np.full((t, n_components), np.nan), np.zeros(n_components)
    if person.sum() < 3:
        return none
    cov = seen[person].mean(axis=0)
    use = core[cov >= min_coverage]
    if use.size == 0:
        use = core[cov >= cov.max() * 0.8]
    feats = xy[:, use, :].reshape(t, -1)
    valid_frame = np.isfinite(xy[:, use, 0]).sum(axis=1) >= max(1, use.size / 2)
    filled = np.stack([_interp_all(feats[:, j]) for j in range(feats.shape[1])], axis=1)
    complete = valid_frame & np.isfinite(filled).all(axis=1)
    if complete.sum() < 3:
        return none
    mean = filled[complete].mean(axis=0)
    centred = filled[complete] - mean
    _, sv, vt = np.linalg.svd(centred, full_matrices=False)
    k = min(n_components, vt.shape[0])
    scores = np.full((t, n_components), np.nan)
    scores[complete, :k] = centred @ vt[:k].T
    partial = np.flatnonzero(valid_frame & ~complete)
    if partial.size:
        n, d = centred.shape
        noise = float((sv[k:] ** 2).sum()) / max(n * (d - k), 1)
        scores[partial, :k] = _project_partial(filled[partial] - mean, vt[:k], sv[:k] ** 2 / n, max(noise, 1e-9))
    total = float((sv**2).sum())
    share = np.zeros(n_components)
    if total > 0:
        share[:k] = sv[:k] ** 2 / total
    return scores, share


def _project_partial(centred: np.ndarray, basis: np.ndarray, variance: np.ndarray, noise: float) -> np.ndarray:
    """Scores (n, k) of frames with missing coordinates (NaN) on an orthonormal basis (k, d) whose
    components have `variance` (k,) over the clip, with `noise` the variance per coordinate left
    outside them: the probabilistic-PCA estimate from the coordinates each frame has. Plain least
    squares let a minor component, cut down to those coordinates, take over part of the main one's
    movement; the prior shrinks each component by how little it moves. Holding a lost landmark at its
    last value instead shrank those frames' movement: 8 of 19 jumping jacks read as partial once the
    far arm left the picture. Frames with fewer than 2k coordinates stay NaN."""
    k = basis.shape[0]
    out = np.full((centred.shape[0], k), np.nan)
    have = np.isfinite(centred)
    patterns, which = np.unique(have, axis=0, return_inverse=True)
    prior = np.diag(noise / np.maximum(variance, 1e-12))
    for i, pattern in enumerate(patterns):
        if pattern.sum() < 2 * k:
            continue
        rows = np.flatnonzero(which.ravel() == i)
        b = basis[:, pattern]  # (k, d_seen)
        out[rows] = np.linalg.solve(b @ b.T + prior, b @ centred[np.ix_(rows, np.flatnonzero(pattern))].T).T
    return out


def generic_signal(
    xy: np.ndarray, *, fps: float = 30.0, settings: RepSettings = DEFAULT_REP_SETTINGS
) -> np.ndarray:
    """Exercise-agnostic rep signal (T,) in torso lengths, working extreme oriented as a peak.

    The first principal component of the core landmark trajectories (`generic_components`) carries
    the largest movement, usually the exercise. When it has a clear period, the most periodic of the
    first `settings.generic_components` components that move at least 10% of the variance is used
    (autocorrelation x square root of variance share), so a drift or a set-up walk on top of the
    exercise does not hide it. When the first shows no clear period it is used: the movement is a
    one-off (a single rep, a walk), and a minor periodic component would count reps that are not
    there (letting one win measured rep MAE 0.080 -> 0.154 on the shared clips' generic counts).
    The sign comes from `orient_peaks_up`."""
    scores, share = generic_components(xy, n_components=settings.generic_components)
    best, best_score = 0, 0.0
    for k in range(scores.shape[1]):
        sk = scores[:, k]
        if share[k] < 0.1 or not np.isfinite(sk).any():
            continue
        filled, segs = _segments(sk, fps, settings)
        period, periodicity = estimate_period(filled, segs, fps=fps, settings=settings)
        if not np.isfinite(period):
            if k == 0:
                break  # a first component without a period: it is the (one-off) movement
            continue
        score = periodicity * np.sqrt(share[k])
        if score > best_score:
            best, best_score = k, score
    sig = scores[:, best]
    if best_score > 0:  # a component with reps: a drift under them must not hide them
        sig = _without_drift(sig, fps=fps, settings=settings)
    return orient_peaks_up(sig, fps=fps)


def _without_drift(x: np.ndarray, *, fps: float, settings: RepSettings) -> np.ndarray:
    """x minus its linear drift (fitted per seen segment) when the drift spans more than what is
    left, the reps (5th-95th percentile ranges); x otherwise. A person who moves across the picture
    or a camera that tilts during the set puts that movement in the component with the reps on
    top: on a push-up clip whose component drifted twice as far as its reps moved, the counter
    found 0 of 3 (3 after). Only a dominant drift is removed: removing smaller ones (a moving
    average over one period) also cost a rep on a QUVA bar lift whose lifter is lost at each
    lockout, and a straight line leaves the rest level at the clip's ends where it was, which
    orienting the signal relies on (the moving average bent it there)."""
    filled, segs = _segments(x, fps, settings)
    drift = np.full_like(x, np.nan)
    for a, b in segs:
        drift[a:b] = filled[a:b] - _detrend(filled[a:b])
    rest = x - drift
    if not (np.isfinite(drift).sum() >= 5 and np.isfinite(rest).sum() >= 5):
        return x
    return rest if _span(drift) > _span(rest) else x


def _span(v: np.ndarray) -> float:
    """5th-95th percentile range of the finite values."""
    lo, hi = np.nanpercentile(v, [5, 95])
    return float(hi - lo)


def count_reps_generic(
    xy: np.ndarray,
    timestamps_s: np.ndarray,
    *,
    fps: float,
    settings: RepSettings = DEFAULT_REP_SETTINGS,
) -> RepResult:
    """Count reps of any exercise from the landmarks alone (method "generic").

    xy: (T, 33, 2) torso lengths; the signal is `generic_signal` (one principal component, its
    sign chosen by `orient_peaks_up`)."""
    sig = generic_signal(xy, fps=fps, settings=settings)
    return count_reps(sig, timestamps_s, fps=fps, settings=settings, method="generic")


def count_reps_pose(
    xy: np.ndarray,
    timestamps_s: np.ndarray,
    *,
    fps: float,
    signal_fn: Callable[[np.ndarray], np.ndarray] | None,
    settings: RepSettings = DEFAULT_REP_SETTINGS,
) -> RepResult:
    """Exercise signal when it is seen, else the generic counter.

    xy: (T, 33, 2) torso lengths; signal_fn: an exercise's `signal` (None = unknown exercise). When
    the exercise signal is defined in less than `settings.min_signal_coverage` of the frames with a
    person (e.g. the ankles hidden behind plates), the generic counter is used instead."""
    xy = np.asarray(xy, dtype=np.float64)
    if signal_fn is None:
        return count_reps_generic(xy, timestamps_s, fps=fps, settings=settings)
    sig = np.asarray(signal_fn(xy), dtype=np.float64)
    person = np.isfinite(xy[..., 0]).any(axis=1)
    n_person = int(person.sum())
    cover = float(np.isfinite(sig[person]).mean()) if n_person else 0.0
    if cover < settings.min_signal_coverage and n_person > 0:
        log.info("exercise signal seen in %.0f%% of person frames: generic counter", 100 * cover)
        return count_reps_generic(xy, timestamps_s, fps=fps, settings=settings)
    res = count_reps(sig, timestamps_s, fps=fps, settings=settings, method="exercise")
    return _one_rep_per_cycle(res, xy, timestamps_s, fps=fps, settings=settings)


def _one_rep_per_cycle(
    res: RepResult, xy: np.ndarray, timestamps_s: np.ndarray, *, fps: float, settings: RepSettings
) -> RepResult:
    """The generic count when the exercise signal peaks twice per cycle of the whole body.

    An exercise signal can return to rest twice in one movement cycle (a climber's hands reaching
    rung over rung lift the shoulders-to-hands signal twice per pull): its reps then come at about
    half its own autocorrelation period, which says the signal repeats only every second peak. When
    the whole body (`generic_signal`) repeats at that same period with its reps a period apart, a
    rep is a cycle. Reps alternating in depth do not qualify: their period is the rep spacing (an
    integer fraction that correlates, `estimate_period`), or the whole body moves once per rep too."""
    if res.count < 4 or not np.isfinite(res.period_s):
        return res
    spacing = float(np.median(np.diff([r.peak_s for r in res.reps])))
    if spacing > 0.65 * res.period_s:
        return res
    whole = count_reps_generic(xy, timestamps_s, fps=fps, settings=settings)
    if (
        not 2 <= whole.count < res.count
        or not np.isfinite(whole.period_s)
        or abs(whole.period_s - res.period_s) > 0.2 * res.period_s
        or not 0.75 <= np.median(np.diff([r.peak_s for r in whole.reps])) / res.period_s <= 1.33
    ):
        return res
    log.info(
        "exercise signal peaks every %.2f s but repeats every %.2f s, as the whole body does: %d reps, not %d",
        spacing, res.period_s, whole.count, res.count,
    )
    return whole
