"""Live coaching on a camera stream: pose, rep count, similarity and a cue per frame, and a recording.

The engine side of the dashboard's "Live coach" page (the page only wires a WebRTC stream to it).
Nothing here imports streamlit; frames arrive on a media thread, state is read from another.

- `LiveCoach` takes (H, W, 3) uint8 RGB frames with their times (seconds) and returns each frame
  with the skeleton drawn on. It never queues: a frame that arrives while another is being
  analysed is counted as dropped and returned at once with the latest skeleton drawn on it, so
  the picture never lags behind the camera. `state()` returns a frozen `LiveState` snapshot from
  any thread.
- Rep count: the exercise's main signal (coach.exercises) over a rolling window of landmarks,
  segmented by the same counter as an upload (`coach.reps.count_reps_pose`) every
  `LiveSettings.count_every_s`. A rep counts once it is complete (back at rest) inside the
  window and rises at least `rep_min_rise_share` of the reference's own rep amplitude (start-up
  jitter is not a rep) and once recounts have found it for `rep_confirm_s` (an early wobble the
  first short windows take for a rep is gone by then). Reps about to leave the window are frozen,
  and a counted rep a later window does not find again is kept, so the count never goes back.
- Similarity: weighted cosine of the current pose and the nearest pose of the reference's reps
  (both centred on the mid-hip; the exercise's key landmarks weighted by the smaller visibility;
  the reference also mirrored, the better kept), clipped to 0-1 and averaged over
  `similarity_window_s`. The same cosine as the upload analysis's similarity (coach.compare).
- Cue: camera set-up first (no one in view, body cut off), then, for the
  latest complete rep, the worst of the exercise's form rules and of its key angles at the working
  extreme against the reference's (coach.feedback wording).
- `LiveRecorder` writes the raw frames to an H.264 MP4 on its own thread, keeping each frame's
  time (variable frame rate), and finishes the file atomically, so "analyse this recording" runs
  the upload pipeline on exactly what the camera sent.
- `LiveSession` pairs one coach with one recorder; `LiveSlot` is where a media thread finds the
  session of its browser tab (started on the first frame after the page arms it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from coach.compare import Tempo, deviation_z, rep_tempo, rushed_finding, tolerance_floor_deg
from coach.errors import CoachError, VideoError
from coach.exercises import ExerciseDef, RuleFinding, get_exercise
from coach.feedback import _ADVICE, _describe
from coach.kinematics import ANGLE_BY_NAME, angle_matrix, foreshortened, joint_name
from coach.normalize import MID_HIP, detect_view, midpoint, mirror, robust_scale_px
from coach.pose import PoseEstimator
from coach.references import Reference
from coach.render import draw_caption, draw_skeleton
from coach.reps import count_reps_pose
from coach.schema import MIRROR_INDEX, N_LANDMARKS, L
from coach.settings import CompareSettings, RepSettings
from coach.video import H264Writer

log = logging.getLogger(__name__)

ICE_SERVERS_ENV = "FORM_COACH_ICE_SERVERS"

# Cues for the camera set-up (shown before any form cue).
CUE_NO_PERSON = "No one in view — step in front of the camera"
CUE_STEP_BACK = "Step back or lower the camera: keep your whole body, head to feet, in view"
CUE_READY = "Ready — start your first rep"


@dataclass(frozen=True)
class LiveSettings:
    """Tunables of the live coach. Rep and tolerance knobs are the upload analysis's own
    (`reps`, `compare`), so a live count and an uploaded clip's count agree."""

    max_side_px: int = 640  # frames are shrunk to this longer side for the pose model
    min_visibility: float = 0.5  # landmarks below this MediaPipe visibility are missing (NaN), as in coach.clean
    window_s: float = 30.0  # landmarks kept for rep counting, seconds (must exceed reps.max_rep_s)
    count_every_s: float = 0.25  # the rep counter reruns on the window at most this often, stream seconds
    # a rep shows once the recounts have found it for this long, stream seconds: the first windows of
    # a set are short, and an early wobble they take for a rep is gone a second later
    rep_confirm_s: float = 0.5
    rep_min_rise_share: float = 0.3  # a rep rises at least this share of the reference's rep amplitude...
    rep_min_rise_cap_torso: float = 0.3  # ...but never needs more than this (torso lengths): a reference filmed from another view moves further
    similarity_window_s: float = 1.0  # the similarity shown is the mean over this many stream seconds
    lost_after_s: float = 0.5  # no person for this long -> "no one in view"
    min_key_share: float = 0.5  # fewer of the exercise's key landmarks seen (mean over 1 s) -> "step back"
    fps_window_s: float = 2.0  # analysed frames per second are measured over this many wall-clock seconds
    reps: RepSettings = field(default_factory=RepSettings)
    compare: CompareSettings = field(default_factory=CompareSettings)

    def __post_init__(self) -> None:
        if self.window_s <= self.reps.max_rep_s:
            raise ValueError(
                f"window_s must exceed reps.max_rep_s ({self.reps.max_rep_s:g} s) so a whole rep fits, got {self.window_s:g}"
            )
        if self.max_side_px < 64:
            raise ValueError(f"max_side_px must be at least 64 px, got {self.max_side_px}")


DEFAULT_LIVE_SETTINGS = LiveSettings()


@dataclass(frozen=True)
class LiveState:
    """A snapshot of the live coach, safe to read from any thread.

    reps: complete repetitions so far; similarity: 0-1 mean over the last
    `similarity_window_s` (None while no pose could be compared); cue: one line to show;
    fps: frames analysed per second (wall clock); latency_ms: mean analysis time per analysed
    frame over the last 30 (None before the first); frames_seen = frames_analysed +
    frames_dropped; person_visible: the last analysed frame had a person; time_s: stream time of
    the last analysed frame, seconds from the first frame."""

    reps: int = 0
    similarity: float | None = None
    cue: str = CUE_READY
    fps: float = 0.0
    latency_ms: float | None = None
    frames_seen: int = 0
    frames_analysed: int = 0
    frames_dropped: int = 0
    person_visible: bool = False
    time_s: float = 0.0


@dataclass(frozen=True)
class _RefModel:
    """The reference, prepared once for per-frame comparison.

    poses: (2, F, 33, 2) rep frames centred on the mid-hip (index 1: mirrored); vis: (2, F, 33);
    angles: (2, F, A) degrees of the exercise's key angles; tolerance_deg: (A,);
    start/peak: the template rep's first and working-extreme frames (indices into F); amplitude_torso: the
    reference's rep amplitude of the exercise signal (98th - 2nd percentile), torso lengths; tempo:
    the template rep's (`compare.rep_tempo`), NaN seconds when the reference has no rep bounds."""

    poses: np.ndarray
    vis: np.ndarray
    angles: np.ndarray
    tolerance_deg: np.ndarray
    start: int
    peak: int
    amplitude_torso: float
    view: str
    tempo: Tempo


def _prepare_reference(ref: Reference, ex: ExerciseDef, settings: LiveSettings) -> _RefModel:
    p = ref.poses
    xy = np.asarray(p.xy, dtype=np.float64)
    ts = p.timestamps_s
    bounds = ref.meta.rep_bounds_s
    if bounds:
        sel = (ts >= bounds[0][0] - 1e-6) & (ts <= bounds[-1][2] + 1e-6)
        start_t, peak_t = bounds[len(bounds) // 2][:2]
    else:
        sel = np.ones(len(ts), dtype=bool)
        start_t, peak_t = float(ts[0]), float(ts[len(ts) // 2])
    idx = np.flatnonzero(sel)
    if idx.size == 0:
        raise ValueError(f"reference {ref.meta.id}: expected frames inside its rep bounds, got none")
    centred = xy[idx] - midpoint(xy[idx], MID_HIP)[:, None, :]
    vis = np.asarray(p.visibility, dtype=np.float64)[idx]
    poses = np.stack([centred, mirror(centred)])
    vis2 = np.stack([vis, vis[:, MIRROR_INDEX]])
    angles = np.stack([angle_matrix(poses[0], ex.key_angles), angle_matrix(poses[1], ex.key_angles)])
    with np.errstate(invalid="ignore"):
        rom = np.nanpercentile(angles[0], 95, axis=0) - np.nanpercentile(angles[0], 5, axis=0)
    rom = np.where(np.isfinite(rom), rom, 0.0)
    c = settings.compare
    tol = np.sqrt(tolerance_floor_deg(ex.key_angles, c) ** 2 + (c.tolerance_per_rom * rom) ** 2)
    sig = ex.signal(xy / robust_scale_px(xy))
    amp = float(np.nanpercentile(sig, 98) - np.nanpercentile(sig, 2)) if np.isfinite(sig).any() else float("nan")
    start = int(np.argmin(np.abs(ts[idx] - start_t)))
    peak = int(np.argmin(np.abs(ts[idx] - peak_t)))
    if bounds:
        a, pk, b = (int(np.clip(np.searchsorted(ts, t), 0, len(ts) - 1)) for t in bounds[len(bounds) // 2])
        tempo = rep_tempo(sig, ts, a, pk, b)
    else:
        tempo = Tempo(float("nan"), float("nan"), 0.0)
    return _RefModel(poses, vis2, angles, tol, start, peak, amp, ref.meta.view, tempo)


def _cosines(user: np.ndarray, uvis: np.ndarray, refs: np.ndarray, rvis: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Weighted cosine of one centred pose (33, 2) with each of (..., F, 33, 2) over the key
    landmarks, weights min(user, reference visibility) (coach.compare's similarity). NaN where
    fewer than 3 landmarks count."""
    u = user[key]
    w = np.minimum(uvis[key], rvis[..., key])
    ok = np.isfinite(u).all(-1)
    w = np.where(ok, w, 0.0)
    u = np.where(ok[:, None], u, 0.0)
    r = refs[..., key, :]
    num = np.sum(w[..., None] * u * r, axis=(-1, -2))
    nu = np.sum(w[..., None] * u * u, axis=(-1, -2))
    nr = np.sum(w[..., None] * r * r, axis=(-1, -2))
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = num / np.sqrt(nu * nr)
    enough = (w > 0).sum(axis=-1) >= 3
    return np.where(enough & (nu > 0) & (nr > 0), cos, np.nan)


@dataclass(frozen=True)
class _Rep:
    """A complete rep on the stream clock: start, working extreme and end, seconds."""

    start_s: float
    peak_s: float
    end_s: float


def _overlap(a: _Rep, b: _Rep) -> bool:
    """Two rep spans share some time (one rep, found again by another recount)."""
    return a.start_s < b.end_s and b.start_s < a.end_s


class LiveCoach:
    """Pose, reps, similarity and cue for one camera stream (see the module docstring).

    reference: the performer to compare with; exercise: its id or definition (default: the
    reference's exercise); estimator: a PoseEstimator (default: MediaPipe, model_complexity=1,
    created on the first frame in the thread that analyses it). Thread-safe: `process` may be
    called from several threads (frames that find the coach busy are dropped, never queued);
    `state` from any thread.
    """

    def __init__(
        self,
        reference: Reference,
        exercise: str | ExerciseDef | None = None,
        *,
        settings: LiveSettings = DEFAULT_LIVE_SETTINGS,
        estimator: PoseEstimator | None = None,
    ) -> None:
        ex = exercise if isinstance(exercise, ExerciseDef) else get_exercise(exercise or reference.meta.exercise)
        self.exercise = ex
        self.reference_id = reference.meta.id
        self.settings = settings
        self._ref = _prepare_reference(reference, ex, settings)
        self._key = np.array([int(j) for j in ex.key_landmarks], dtype=np.intp)
        self._estimator = estimator
        self._own_estimator = estimator is None
        self._busy = threading.Lock()  # held while a frame is analysed
        self._lock = threading.Lock()  # guards everything below that other threads read
        self._closed = False
        # analysis state (only touched while holding _busy)
        self._t0: float | None = None
        self._win_t: deque[float] = deque()
        self._win_xy: deque[np.ndarray] = deque()
        self._sims: deque[tuple[float, float]] = deque()
        self._keyshare: deque[tuple[float, float]] = deque()
        self._last_person_t: float | None = None
        self._last_count_t = -math.inf
        self._frozen: list[_Rep] = []
        self._reps: list[_Rep] = []
        self._pending: list[tuple[_Rep, float]] = []  # reps the last recount found, with when first found
        self._rep_cue = ""
        self._cued_peak_s = -math.inf
        view = self._ref.view if self._ref.view in ("side", "front") else None
        self._ready_cue = f"{CUE_READY} (filmed from the {view}, like the reference)" if view else CUE_READY
        self._prev_t: float | None = None
        self._wall: deque[float] = deque()
        self._latencies: deque[float] = deque(maxlen=30)
        # shared with other threads (guarded by _lock)
        self._overlay_xy: np.ndarray | None = None
        self._overlay_sev: np.ndarray | None = None
        self._caption = ""
        self._state = LiveState()
        self._seen = 0
        self._dropped = 0

    # --- public -------------------------------------------------------------------------------

    def state(self) -> LiveState:
        with self._lock:
            return self._state

    def count_dropped(self, n: int) -> None:
        """Count n frames that never reached `process` (dropped upstream to keep up)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n:
            with self._lock:
                self._seen += n
                self._dropped += n
                self._state = _replace(self._state, frames_seen=self._seen, frames_dropped=self._dropped)

    def process(self, rgb: np.ndarray, time_s: float) -> np.ndarray:
        """Analyse one frame, or drop it when another frame is being analysed; returns a copy of
        the frame with the latest skeleton and a reps/similarity caption drawn on it.

        rgb: (H, W, 3) uint8; time_s: the frame's time in seconds on any clock that increases
        (the first frame is time 0); a frame whose time does not increase is dropped."""
        if not (isinstance(rgb, np.ndarray) and rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype == np.uint8):
            got = f"{rgb.shape} {rgb.dtype}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
            raise ValueError(f"rgb must be an (H, W, 3) uint8 array, got {got}")
        if not self._busy.acquire(blocking=False):
            return self._drop(rgb)  # another frame is in flight: never wait, never queue
        try:
            if not self._closed and (self._prev_t is None or float(time_s) > self._prev_t):
                return self._analyse(rgb, float(time_s))
        finally:
            self._busy.release()
        return self._drop(rgb)

    def close(self) -> None:
        """Wait for the frame in flight, then release the pose model. Later frames pass through."""
        with self._busy:
            self._closed = True
            if self._own_estimator and self._estimator is not None:
                self._estimator.close()
                self._estimator = None
            with self._lock:
                self._overlay_xy, self._overlay_sev, self._caption = None, None, ""

    # --- internals ----------------------------------------------------------------------------

    def _drop(self, rgb: np.ndarray) -> np.ndarray:
        with self._lock:
            self._seen += 1
            self._dropped += 1
            self._state = _replace(self._state, frames_seen=self._seen, frames_dropped=self._dropped)
            xy, sev, caption = self._overlay_xy, self._overlay_sev, self._caption
        return _draw(rgb.copy(), xy, sev, caption)

    def _analyse(self, rgb: np.ndarray, t_abs: float) -> np.ndarray:
        wall0 = time.perf_counter()
        s = self.settings
        if self._t0 is None:
            self._t0 = t_abs
        self._prev_t = t_abs
        t = t_abs - self._t0
        if self._estimator is None:
            from coach.pose import MediaPipeEstimator

            self._estimator = MediaPipeEstimator()
        h, w = rgb.shape[:2]
        small = rgb
        if max(h, w) > s.max_side_px:
            f = s.max_side_px / max(h, w)
            small = cv2.resize(rgb, (max(2, round(w * f)), max(2, round(h * f))), interpolation=cv2.INTER_AREA)
        out = self._estimator.process(small)
        xy = np.full((N_LANDMARKS, 2), np.nan)
        vis = np.zeros(N_LANDMARKS)
        if out is not None:
            xyz, v = out
            xy = np.asarray(xyz, dtype=np.float64)[:, :2] * (w / small.shape[1])
            vis = np.nan_to_num(np.asarray(v, dtype=np.float64), nan=0.0)
            xy[~(vis >= s.min_visibility)] = np.nan
        person = out is not None and np.isfinite(xy[:, 0]).any()
        self._window_add(t, xy, person)

        sim, sev = self._compare(xy, vis) if person else (float("nan"), None)
        self._sims.append((t, sim))
        while self._sims and self._sims[0][0] < t - s.similarity_window_s:
            self._sims.popleft()
        if t - self._last_count_t >= s.count_every_s:
            self._last_count_t = t
            self._count_reps(t)
        cue = self._cue(t, person)

        sims = np.array([v for _, v in self._sims])
        sim_now = float(np.nanmean(np.clip(sims, 0.0, 1.0))) if np.isfinite(sims).any() else None
        n_reps = len(self._frozen) + len(self._reps)
        caption = f"Reps {n_reps}   similarity {sim_now:.2f}" if sim_now is not None else f"Reps {n_reps}"
        overlay = xy if person else None
        frame = _draw(rgb.copy(), overlay, sev, caption)

        now = time.perf_counter()
        self._latencies.append(1000.0 * (now - wall0))
        self._wall.append(now)
        while len(self._wall) > 2 and self._wall[0] < now - s.fps_window_s:
            self._wall.popleft()
        span = self._wall[-1] - self._wall[0]
        fps = (len(self._wall) - 1) / span if span > 0 else 0.0
        with self._lock:
            self._seen += 1
            self._overlay_xy, self._overlay_sev, self._caption = overlay, sev, caption
            self._state = LiveState(
                reps=n_reps,
                similarity=None if sim_now is None else round(sim_now, 3),
                cue=cue,
                fps=round(fps, 1),
                latency_ms=round(float(np.mean(self._latencies)), 1),
                frames_seen=self._seen,
                frames_analysed=self._state.frames_analysed + 1,
                frames_dropped=self._dropped,
                person_visible=bool(person),
                time_s=round(t, 3),
            )
        return frame

    def _window_add(self, t: float, xy: np.ndarray, person: bool) -> None:
        s = self.settings
        if person:
            self._last_person_t = t
        key_seen = float(np.isfinite(xy[self._key, 0]).mean())
        self._keyshare.append((t, key_seen if person else np.nan))
        while self._keyshare and self._keyshare[0][0] < t - 1.0:
            self._keyshare.popleft()
        self._win_t.append(t)
        self._win_xy.append(xy)
        while self._win_t and self._win_t[0] < t - s.window_s:
            self._win_t.popleft()
            self._win_xy.popleft()

    def _compare(self, xy: np.ndarray, vis: np.ndarray) -> tuple[float, np.ndarray | None]:
        """Similarity of the pose with the nearest reference pose, and per-joint severity
        (|angle difference| / tolerance at the key angles' vertices; NaN = not judged)."""
        centre = midpoint(xy, MID_HIP)
        if not np.isfinite(centre).all():
            return float("nan"), None
        user = xy - centre
        cos = _cosines(user, vis, self._ref.poses, self._ref.vis, self._key)
        if not np.isfinite(cos).any():
            return float("nan"), None
        m, f = np.unravel_index(int(np.nanargmax(cos)), cos.shape)
        sim = float(np.clip(cos[m, f], 0.0, 1.0))
        ua = angle_matrix(user[None], self.exercise.key_angles)[0]
        z = deviation_z(ua, self._ref.angles[m, f], self._ref.tolerance_deg, self.exercise.key_angles)
        sev = np.full(N_LANDMARKS, np.nan)
        for k, name in enumerate(self.exercise.key_angles):
            if not np.isfinite(z[k]):
                continue
            lms = (L.LEFT_SHOULDER, L.RIGHT_SHOULDER) if name == "trunk_lean" else (ANGLE_BY_NAME[name].vertex,)
            for lm in lms:
                if np.isfinite(xy[lm, 0]):
                    sev[lm] = np.fmax(sev[lm], z[k])
        return sim, sev

    def _window(self) -> tuple[np.ndarray, np.ndarray]:
        """(T,) stream times in seconds and (T, 33, 2) pixels (NaN = not seen) of the window."""
        return np.fromiter(self._win_t, dtype=np.float64, count=len(self._win_t)), np.stack(self._win_xy)

    def _count_reps(self, now: float) -> None:
        """Re-segment the window; reps complete in it count, reps about to leave it are frozen."""
        s = self.settings
        if len(self._win_t) < 5:
            return
        ts, xy = self._window()
        scale = robust_scale_px(xy)
        if not (np.isfinite(scale) and scale > 0):
            return
        dt = np.diff(ts)
        fps = 1.0 / float(np.median(dt)) if dt.size else 30.0
        res = count_reps_pose(xy / scale, ts - ts[0], fps=fps, signal_fn=self.exercise.signal,
                              settings=self.exercise.rep_settings(s.reps))
        amp = self._ref.amplitude_torso
        min_rise = min(s.rep_min_rise_share * amp, s.rep_min_rise_cap_torso) if np.isfinite(amp) else s.reps.min_amplitude
        y = res.signal
        n = len(ts)
        last_frozen_end = self._frozen[-1].end_s if self._frozen else -math.inf
        live: list[_Rep] = []
        fresh: set[float] = set()  # peaks found in this window (a rep cue needs its frames)
        for r in res.reps:
            # complete inside the window: rest seen before (not cut by the window start) and after
            if r.start_frame <= 0 or r.end_frame >= n - 1:
                continue
            rise = y[r.peak_frame] - max(y[r.start_frame], y[r.end_frame])
            if not (rise >= min_rise):
                continue
            rep = _Rep(float(ts[r.start_frame]), float(ts[r.peak_frame]), float(ts[r.end_frame]))
            if rep.peak_s > last_frozen_end:
                live.append(rep)
                fresh.add(rep.peak_s)
        # A rep shows once recounts have found it for rep_confirm_s, and once shown it stays: a
        # window that moved on (frames dropped by a busy machine shift it) may not find it again.
        self._pending = [(r, next((t0 for p, t0 in self._pending if _overlap(p, r)), now)) for r in live]
        confirmed = [r for r, t0 in self._pending if now - t0 >= s.rep_confirm_s]
        live = self._reps + [r for r in confirmed if not any(_overlap(r, o) for o in self._reps)]
        live.sort(key=lambda r: r.peak_s)
        keep = []
        for rep in live:
            if rep.start_s < now - s.window_s + s.reps.max_rep_s:
                self._frozen.append(rep)  # about to slide out: its count is final
            else:
                keep.append(rep)
        self._reps = keep
        latest = (self._frozen + self._reps)[-1] if (self._frozen or self._reps) else None
        if latest is not None and latest.peak_s > self._cued_peak_s + 0.5 * (latest.end_s - latest.start_s):
            self._cued_peak_s = latest.peak_s
            number = len(self._frozen) + len(self._reps)
            if latest.peak_s in fresh:
                self._rep_cue = self._rep_feedback(number, latest, ts, xy / scale)

    def _rep_feedback(self, number: int, rep: _Rep, ts: np.ndarray, xy_t: np.ndarray) -> str:
        """The worst of the form rules and the key-angle deviations at the working extreme."""
        ex = self.exercise
        a = int(np.searchsorted(ts, rep.start_s))
        p = int(np.searchsorted(ts, rep.peak_s))
        b = int(np.searchsorted(ts, rep.end_s))
        view = detect_view(xy_t).view
        best: tuple[float, str] | None = None
        for rule in ex.rules:
            f: RuleFinding | None = rule.check(xy_t[p], xy_t[a : b + 1], view)
            if f is not None and (best is None or 1.0 + f.severity > best[0]):
                best = (1.0 + f.severity, f.cue)
        # the rep's tempo against the reference's, as in the uploaded-video analysis
        f = rushed_finding(rep_tempo(ex.signal(xy_t), ts, a, p, b), self._ref.tempo, ex)
        if f is not None and (best is None or 1.0 + f.severity > best[0]):
            best = (1.0 + f.severity, f.cue)
        # key angles at the working extreme against the reference's template rep
        peak = xy_t[p] - midpoint(xy_t[p], MID_HIP)
        if np.isfinite(peak).any():
            vis = np.isfinite(peak[:, 0]).astype(np.float64)
            cos = _cosines(peak, vis, self._ref.poses[:, self._ref.peak][:, None], self._ref.vis[:, self._ref.peak][:, None],
                           self._key)[:, 0]
            m = int(np.nanargmax(cos)) if np.isfinite(cos).any() else 0
            ua = angle_matrix(peak[None], ex.key_angles)[0]
            ref_peak = self._ref.angles[m, self._ref.peak]
            diff = ua - ref_peak
            # which way each joint moves from the start to the working extreme (0: a posture joint)
            travel = ref_peak - self._ref.angles[m, self._ref.start]
            direction = np.where(np.abs(travel) >= 10.0, np.sign(travel), 0.0)
            z = deviation_z(ua, ref_peak, self._ref.tolerance_deg, ex.key_angles)
            # a limb pointing at the camera in either pose: not compared, as in the uploaded-video analysis
            z[foreshortened(xy_t, ex.key_angles)[p] | foreshortened(self._ref.poses[m], ex.key_angles)[self._ref.peak]] = np.nan
            judged = self._near_side(ex.key_angles, xy_t[a : b + 1], view)
            for k, name in enumerate(ex.key_angles):
                if k not in judged or not np.isfinite(z[k]) or z[k] < 1.0:
                    continue
                mode = ex.beyond_ok(name)
                if (mode == "range" and direction[k] != 0 and np.sign(diff[k]) == direction[k]) or (
                    mode == "upright" and diff[k] < 0
                ):
                    continue  # no fault (exercises.BEYOND_OK), as in the uploaded-video analysis
                if best is None or z[k] > best[0]:
                    # the body line ran to the knee where the ankle was unseen (kinematics.JOINT_ANGLES)
                    ankle = L.LEFT_ANKLE if name.startswith("left_") else L.RIGHT_ANKLE
                    line_to = "knee" if not np.isfinite(peak[ankle, 0]) else "ankle"
                    text = f"{_describe(name, float(diff[k]), False, line_to=line_to)} at the {ex.peak_name}"
                    if direction[k] != 0 and np.sign(diff[k]) == direction[k]:
                        text += " — more range than the reference"  # went further: no advice to do more
                    else:
                        advice = _ADVICE.get((ex.id, joint_name(name), int(np.sign(diff[k]))))
                        text += f" — {advice}" if advice else ""
                    best = (float(z[k]), text)
        if best is None:
            return f"Rep {number}: close to the reference — keep it up"
        return f"Rep {number}: {best[1]}"

    @staticmethod
    def _near_side(names: tuple[str, ...], rep_xy: np.ndarray, view: str) -> set[int]:
        """Indices of the angles to judge: in a side view only the better-seen side of a pair (the
        pose model guesses the far side), in a front view all."""
        judged = set(range(len(names)))
        if view == "front":
            return judged
        for k, n in enumerate(names):
            if n.startswith("left_") and "right_" + n[5:] in names:
                k2 = names.index("right_" + n[5:])
                seen_l = np.isfinite(rep_xy[:, ANGLE_BY_NAME[n].vertex, 0]).mean()
                seen_r = np.isfinite(rep_xy[:, ANGLE_BY_NAME[names[k2]].vertex, 0]).mean()
                judged.discard(k2 if seen_l >= seen_r else k)
        return judged

    def _cue(self, t: float, person: bool) -> str:
        s = self.settings
        if not person and (self._last_person_t is None or t - self._last_person_t >= s.lost_after_s):
            return CUE_NO_PERSON
        shares = np.array([v for _, v in self._keyshare])
        if np.isfinite(shares).any() and float(np.nanmean(shares)) < s.min_key_share:
            return CUE_STEP_BACK
        return self._rep_cue or self._ready_cue


def _replace(state: LiveState, **changes) -> LiveState:
    return dataclasses.replace(state, **changes)


def _draw(img: np.ndarray, xy: np.ndarray | None, sev: np.ndarray | None, caption: str) -> np.ndarray:
    """Skeleton (key joints coloured by deviation, the rest grey) and the caption, in place."""
    if xy is not None and img.shape[0] >= 16 and img.shape[1] >= 16:
        draw_skeleton(img, xy, severity=sev)
    if caption and img.shape[0] >= 16 and img.shape[1] >= 16:
        draw_caption(img, caption)
    return img


# --- recording -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    """A finished recording: the MP4 path, frames written, seconds from the first to one frame
    past the last, encoded width/height in pixels, frames not written (the encoder fell behind
    or the time did not increase), and whether it stopped at `max_duration_s`."""

    path: Path
    n_frames: int
    duration_s: float
    width: int
    height: int
    frames_dropped: int
    truncated: bool


_STOP = object()


class LiveRecorder:
    """Write RGB frames with their times to an H.264 MP4 (libx264, yuv420p, moov atom first) on a
    background thread, so the caller never waits for the encoder.

    Times are kept (variable frame rate, millisecond clock): the file plays at the speed it was
    filmed even when the camera's rate varies. The size is fixed by the first frame; later frames
    of another size (a browser adapting to bandwidth) are resized to it. Frames go to a hidden
    temporary file next to `path`, moved onto `path` by `close()`; `abort()` or a failure leaves
    nothing behind. max_duration_s: later frames are dropped (the upload analysis's limit);
    max_queue: frames waiting for the encoder before new ones are dropped; crf/preset: x264 quality
    and speed.
    """

    def __init__(self, path: str | Path, *, max_duration_s: float = 600.0, max_queue: int = 60,
                 crf: int = 23, preset: str = "veryfast") -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"expected an existing output folder, got {self.path.parent}")
        if not 0 <= crf <= 51:
            raise ValueError(f"crf must be in [0, 51], got {crf}")
        self.max_duration_s = float(max_duration_s)
        self._options = {"crf": crf, "preset": preset}
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._closed = False
        self._t0: float | None = None
        self._last_t: float | None = None
        self._dropped = 0
        self._truncated = False
        self._error: BaseException | None = None
        # writer-thread state
        self._writer: H264Writer | None = None
        self._size: tuple[int, int] | None = None  # (width, height) of the input frames
        self._written = 0
        self._last_written_t = 0.0
        self._thread = threading.Thread(target=self._run, name=f"live-recorder-{self.path.name}", daemon=True)
        self._thread.start()

    @property
    def frames_written(self) -> int:
        return self._written

    def write(self, rgb: np.ndarray, time_s: float) -> bool:
        """Queue one frame ((H, W, 3) uint8 RGB, its time in seconds on any increasing clock).
        Returns False when it was dropped (closed, full queue, over the duration, time not
        increasing, or the encoder failed)."""
        if not (isinstance(rgb, np.ndarray) and rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype == np.uint8):
            got = f"{rgb.shape} {rgb.dtype}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
            raise ValueError(f"frame must be an (H, W, 3) uint8 array, got {got}")
        t = float(time_s)
        with self._lock:
            if self._closed or self._error is not None:
                self._dropped += 1
                return False
            if self._t0 is None:
                self._t0 = t
            if self._last_t is not None and not t > self._last_t:
                self._dropped += 1
                return False
            rel = t - self._t0
            if rel >= self.max_duration_s:
                self._truncated = True
                self._dropped += 1
                return False
            try:
                self._queue.put_nowait((rgb, rel))
            except queue.Full:
                self._dropped += 1
                return False
            self._last_t = t
            return True

    def close(self, *, timeout_s: float = 60.0) -> Recording:
        """Encode what is queued, finish the file and move it onto `path`. Raises VideoError when
        no frame was written or the encoder failed (nothing is left at `path` then)."""
        with self._lock:
            first = not self._closed
            self._closed = True
        if first:
            self._queue.put(_STOP)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise VideoError(f"{self.path.name}: the encoder did not finish within {timeout_s:g} s")
        if self._error is not None:
            raise VideoError(f"{self.path.name}: recording failed ({self._error})") from self._error
        if not self.path.exists() or self._written == 0:
            raise VideoError(f"{self.path.name}: expected at least one recorded frame, got none")
        w, h = self._size or (0, 0)
        fps = self._written / self._last_written_t if self._last_written_t > 0 else 30.0
        return Recording(
            path=self.path, n_frames=self._written, duration_s=round(self._last_written_t + 1.0 / fps, 3),
            width=w + w % 2, height=h + h % 2, frames_dropped=self._dropped, truncated=self._truncated,
        )

    def abort(self) -> None:
        """Stop and delete everything written; `path` is left as it was."""
        with self._lock:
            self._closed = True
            self._error = self._error or CoachError("aborted")
        self._queue.put(_STOP)
        self._thread.join(10.0)

    # --- writer thread -------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    break
                if self._error is not None:
                    continue
                self._encode(*item)
            if self._error is None and self._writer is not None:
                self._writer.close()  # finishes the file and moves it onto path
        except Exception as exc:  # reported by close(); the media thread must not die
            log.exception("recording %s failed", self.path.name)
            self._error = exc
        finally:
            if self._writer is not None and self._error is not None:
                with contextlib.suppress(Exception):
                    self._writer.abort()  # nothing left behind

    def _encode(self, rgb: np.ndarray, t: float) -> None:
        h, w = rgb.shape[:2]
        if self._size is None:
            if h < 2 or w < 2:
                raise ValueError(f"frame must be at least 2x2 px, got {w}x{h}")
            self._writer = H264Writer(self.path, 30.0, timed=True, **self._options)
            self._size = (w, h)
        tw, th = self._size
        if (w, h) != (tw, th):
            rgb = cv2.resize(rgb, (tw, th), interpolation=cv2.INTER_AREA)
        self._writer.write(rgb, t)
        self._written += 1
        self._last_written_t = self._writer.last_time_s


# --- one session, and where a media thread finds it ------------------------------------------------


class LiveSession:
    """One camera session: a LiveCoach analysing the newest frame and, optionally, a LiveRecorder
    fed with every frame."""

    def __init__(self, coach: LiveCoach, recorder: LiveRecorder | None = None) -> None:
        self.coach = coach
        self.recorder = recorder
        self._stopped = False

    def process_frames(self, frames: Sequence[tuple[np.ndarray, float]]) -> np.ndarray:
        """frames: (rgb, time_s) received since the last call, oldest first. All are recorded;
        only the newest is analysed (the others count as dropped). Returns the annotated newest."""
        if not frames:
            raise ValueError("frames must hold at least one (rgb, time_s) pair, got none")
        if self.recorder is not None:
            for rgb, t in frames:
                self.recorder.write(rgb, t)
        self.coach.count_dropped(len(frames) - 1)
        rgb, t = frames[-1]
        return self.coach.process(rgb, t)

    def state(self) -> LiveState:
        return self.coach.state()

    def stop(self) -> Recording | None:
        """Release the pose model and finish the recording (None when nothing was recorded)."""
        if self._stopped:
            return None
        self._stopped = True
        self.coach.close()
        if self.recorder is None:
            return None
        try:
            return self.recorder.close()
        except VideoError as exc:
            log.info("no recording kept: %s", exc)
            return None


class LiveSlot:
    """Where a browser tab's media thread finds its LiveSession.

    The page `arm`s the slot with a factory while the stream is starting or playing; the first
    frame after arming starts a session from the factory (in the media thread, so the page never
    waits for the pose model). `stop` ends the session, from the page when it sees the stream
    stopped or from the media thread when the camera track ends (whichever comes first), and
    keeps its recording for `take_recording`. Frames that find the slot disarmed get None (pass
    them through unchanged). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the fields below
        self._stop_lock = threading.Lock()  # serialises stop/take_recording: a recording is never missed
        self._factory: Callable[[], LiveSession] | None = None
        self._session: LiveSession | None = None
        self._last_state: LiveState | None = None
        self._recording: Recording | None = None

    @property
    def armed(self) -> bool:
        with self._lock:
            return self._factory is not None

    def arm(self, factory: Callable[[], LiveSession]) -> bool:
        """Make the next frames start a session from `factory`; no-op (False) while armed."""
        with self._lock:
            if self._factory is not None:
                return False
            self._factory = factory
            self._session = None
            self._last_state = None
            return True

    def process_frames(self, frames: Sequence[tuple[np.ndarray, float]]) -> np.ndarray | None:
        """LiveSession.process_frames on this tab's session (started here if needed); None when
        the slot is not armed."""
        with self._lock:
            if self._factory is None:
                return None
            if self._session is None:
                self._session = self._factory()
            session = self._session
        return session.process_frames(frames)

    def state(self) -> LiveState | None:
        """The running session's state, else the last session's final state, else None."""
        with self._lock:
            session, last = self._session, self._last_state
        return session.state() if session is not None else last

    def stop(self) -> None:
        """Disarm and stop the running session (waits for the recording to be finished)."""
        with self._stop_lock:
            with self._lock:
                session, self._session, self._factory = self._session, None, None
                if session is not None:
                    self._last_state = session.state()
            if session is not None:
                recording = session.stop()
                if recording is not None:
                    self._recording = recording

    def take_recording(self) -> Recording | None:
        """The last stopped session's recording, once (None when there is none or it was taken)."""
        with self._stop_lock:
            recording, self._recording = self._recording, None
            return recording


# --- ICE servers -----------------------------------------------------------------------------------


def parse_ice_servers(value: object, *, source: str) -> list[dict]:
    """Validate ICE servers given as a list (or a JSON text of a list) of
    {"urls": "turn:host:3478" | [...], "username": ..., "credential": ...}; returns plain dicts.
    source names where they came from, for the error message."""
    if value is None or value == "":
        return []
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}: expected a JSON list of ICE servers, got invalid JSON ({exc.msg})") from exc
    if isinstance(value, Mapping) and "urls" in value:
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{source}: expected a list of ICE servers, got {type(value).__name__}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise ValueError(f"{source}: expected server {i} to be a table with 'urls', got {type(item).__name__}")
        urls = item.get("urls")
        url_list = [urls] if isinstance(urls, str) else list(urls) if isinstance(urls, (list, tuple)) else None
        if not url_list or not all(isinstance(u, str) and u.split(":", 1)[0] in ("stun", "turn", "turns") for u in url_list):
            raise ValueError(f"{source}: expected server {i} 'urls' to be stun:/turn:/turns: URLs, got {urls!r}")
        server: dict = {"urls": urls if isinstance(urls, str) else url_list}
        for k in ("username", "credential"):
            if k in item:
                if not isinstance(item[k], str):
                    raise ValueError(f"{source}: expected server {i} {k!r} to be text, got {type(item[k]).__name__}")
                server[k] = item[k]
        out.append(server)
    return out


def rtc_configuration(servers: Sequence[Mapping]) -> dict:
    """The RTCConfiguration for streamlit-webrtc: {"iceServers": [...]}. An empty list means no
    STUN/TURN at all (enough on localhost and a LAN) and stops streamlit-webrtc from looking
    for public servers."""
    return {"iceServers": [dict(s) for s in servers]}
