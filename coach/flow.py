"""Dense optical flow as a second opinion on the rep count (SEEDS §2), without any pose model.

Frames are decoded small (longest side `max_side`, grey) and OpenCV's Farneback flow is computed
between consecutive frames. Each frame pair gives one number, the vertical motion of the ROI:

    v_t = (1 / N_roi) * sum of fy over the ROI pixels whose flow magnitude exceeds 0.15 px/frame

(fy in pixels per frame, + = down, after removing the frame's median flow, i.e. camera shake;
still pixels count 0, so noise and small far-away movers weigh little and a large moving body a
lot). Integrated over time, divided by the ROI height and high-pass filtered (Butterworth,
cut-off 1 / `RepSettings.max_rep_s`), it becomes a position-like trace of the moving mass: a
squat or a push-up goes down and comes back, a curl or a press goes up and comes back. Its sign
is chosen like the generic signal's (`coach.reps.orient_peaks_up`), and the reps are segmented
by `coach.reps.count_reps` with `FLOW_REP_SETTINGS` (amplitudes in the unit above).

Flow sees any motion: a second person, a moving camera or a swinging bar count too. It is a check
on the pose count, and the only count when no person is detected, not a replacement.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from types import MappingProxyType

import numpy as np
from scipy.signal import butter, sosfiltfilt

from coach.reps import RepResult, count_reps, orient_peaks_up
from coach.settings import RepSettings

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]
"""progress(done, total): frames done so far and the expected total (0 when unknown)."""

#: Rep settings for the flow signal, whose unit is the mean vertical displacement of all ROI
#: pixels (still ones count 0) in ROI heights: a person covering 10% of the frame who moves by 5%
#: of its height gives 0.005; the floor is a tenth of that.
FLOW_REP_SETTINGS = RepSettings(min_amplitude=0.0005)

#: Farneback parameters for ~160-px frames: 2 pyramid levels, 9-px window, 2 iterations.
FARNEBACK_PARAMS = MappingProxyType(
    {"pyr_scale": 0.5, "levels": 2, "winsize": 9, "iterations": 2, "poly_n": 5, "poly_sigma": 1.1, "flags": 0}
)
MOVING_PX = 0.15  # flow magnitude (pixels per frame on the small frame) above which a pixel moves

Roi = tuple[float, float, float, float]


def _roi_slices(
    roi: Roi | None, frame_wh: tuple[int, int], small_wh: tuple[int, int]
) -> tuple[slice, slice, int]:
    """ROI (x0, y0, x1, y1) in pixels of the original upright frame -> (rows, cols, height) of the
    small frame. An ROI under 8 px on a side falls back to the whole frame."""
    whole = (slice(None), slice(None), small_wh[1])
    if roi is None:
        return whole
    x0, y0, x1, y1 = (float(v) for v in roi)
    sx = small_wh[0] / frame_wh[0]
    sy = small_wh[1] / frame_wh[1]
    c0 = int(np.clip(np.floor(x0 * sx), 0, small_wh[0] - 1))
    c1 = int(np.clip(np.ceil(x1 * sx), c0 + 1, small_wh[0]))
    r0 = int(np.clip(np.floor(y0 * sy), 0, small_wh[1] - 1))
    r1 = int(np.clip(np.ceil(y1 * sy), r0 + 1, small_wh[1]))
    if (c1 - c0) < 8 or (r1 - r0) < 8:
        log.info("ROI under 8 px on the flow frame: using the whole frame")
        return whole
    return slice(r0, r1), slice(c0, c1), r1 - r0


def _check_roi(roi: Roi | None) -> None:
    if roi is None:
        return
    if len(roi) != 4 or not all(np.isfinite(float(v)) for v in roi):
        raise ValueError(f"roi must be 4 finite numbers (x0, y0, x1, y1), got {roi!r}")
    x0, y0, x1, y1 = (float(v) for v in roi)
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"roi must be (x0, y0, x1, y1) with x1 > x0 and y1 > y0, got {roi!r}")


def vertical_flow(
    frames: Iterable[tuple[float, np.ndarray]],
    *,
    roi: Roi | None = None,
    frame_size: tuple[int, int] | None = None,
    total_frames: int = 0,
    progress: ProgressFn | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-frame vertical motion v_t (module docstring) of (time_s, rgb uint8) frames.

    Returns (timestamps_s (T,), v (T,) pixels per frame on the given frames, + = down, 0 for the
    first frame, ROI height in pixels of the given frames). roi is in pixels of frame_size
    (width, height), the original upright frame; frame_size defaults to the frames' own size."""
    import cv2

    _check_roi(roi)
    times: list[float] = []
    vel: list[float] = []
    prev = None
    rows: slice = slice(None)
    cols: slice = slice(None)
    height = 0
    for i, (t, rgb) in enumerate(frames):
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if prev is None:
            small_wh = (grey.shape[1], grey.shape[0])
            rows, cols, height = _roi_slices(roi, frame_size or small_wh, small_wh)
            vel.append(0.0)
        elif grey.shape != prev.shape:
            raise ValueError(f"frames must keep one size, got {prev.shape} then {grey.shape}")
        else:
            flow = cv2.calcOpticalFlowFarneback(prev, grey, None, **FARNEBACK_PARAMS)
            # camera shake moves everything alike: remove the frame's median flow
            fx = flow[rows, cols, 0] - np.median(flow[..., 0])
            fy = flow[rows, cols, 1] - np.median(flow[..., 1])
            moving = (fx * fx + fy * fy) > MOVING_PX**2
            vel.append(float(fy[moving].sum()) / fy.size)
        times.append(float(t))
        prev = grey
        if progress is not None:
            progress(i + 1, total_frames)
    return np.asarray(times, dtype=np.float64), np.asarray(vel, dtype=np.float64), int(height)


def flow_position(velocity: np.ndarray, *, fps: float, height_px: int, max_rep_s: float) -> np.ndarray:
    """Integrate v (pixels/frame) into a position in ROI heights, then remove drift with a
    zero-phase order-2 Butterworth high-pass at 1 / max_rep_s Hz (a mean removal for short clips)."""
    pos = np.cumsum(np.asarray(velocity, dtype=np.float64)) / max(int(height_px), 1)
    cutoff = 1.0 / max_rep_s
    if pos.size < 16 or cutoff >= 0.5 * fps:
        return pos - pos.mean() if pos.size else pos
    sos = butter(2, cutoff, btype="highpass", fs=fps, output="sos")
    return sosfiltfilt(sos, pos, padlen=min(pos.size - 1, 3 * round(fps * max_rep_s)))


def _fps_of(ts: np.ndarray, nominal: float) -> float:
    if ts.size >= 3:
        dt = float(np.median(np.diff(ts)))
        if dt > 0:
            return 1.0 / dt
    return float(nominal)


def vertical_flow_signal(
    video_path: str | Path,
    *,
    max_side: int = 160,
    roi: Roi | None = None,
    progress: ProgressFn | None = None,
    max_rep_s: float = FLOW_REP_SETTINGS.max_rep_s,
) -> tuple[np.ndarray, np.ndarray]:
    """(timestamps_s (T,), signal (T,)) of a video: the integrated, detrended vertical motion of
    the moving pixels (module docstring), in ROI heights, + = further down the image.

    max_side: longest side of the grey frames the flow runs on (pixels); roi: (x0, y0, x1, y1) in
    pixels of the upright video frame, e.g. the person's bounding box from `person_roi`; progress
    (done, total) is called per frame; max_rep_s: slowest rep kept by the drift filter (seconds)."""
    from coach.video import iter_frames, prefetch, probe

    _check_roi(roi)
    if max_side < 16:
        raise ValueError(f"max_side must be at least 16 pixels, got {max_side}")
    info = probe(video_path)
    ts, vel, height = vertical_flow(
        prefetch(iter_frames(video_path, max_side=max_side)),
        roi=roi,
        frame_size=(info.width, info.height),
        total_frames=info.frames_estimate,
        progress=progress,
    )
    if ts.size > 1 and not np.all(np.diff(ts) > 0):
        log.info("%s: non-increasing timestamps; using frame index / fps", Path(video_path).name)
        ts = np.arange(ts.size, dtype=np.float64) / info.fps
    return ts, flow_position(vel, fps=_fps_of(ts, info.fps), height_px=height, max_rep_s=max_rep_s)


def count_reps_flow_signal(
    timestamps_s: np.ndarray, signal: np.ndarray, *, fps: float, settings: RepSettings = FLOW_REP_SETTINGS
) -> RepResult:
    """Reps of a signal from `vertical_flow_signal` (method "flow"); its sign is chosen by
    `orient_peaks_up` (flow cannot tell which extreme is the working one)."""
    return count_reps(
        orient_peaks_up(signal, fps=fps), timestamps_s, fps=fps, settings=settings, method="flow"
    )


def count_reps_flow(
    video_path: str | Path,
    *,
    max_side: int = 160,
    roi: Roi | None = None,
    settings: RepSettings = FLOW_REP_SETTINGS,
    progress: ProgressFn | None = None,
) -> RepResult:
    """Count reps of a video from optical flow alone (method "flow").

    settings.min_amplitude is in the flow signal's unit (see FLOW_REP_SETTINGS); pose settings
    (torso lengths) do not fit it."""
    ts, sig = vertical_flow_signal(
        video_path, max_side=max_side, roi=roi, progress=progress, max_rep_s=settings.max_rep_s
    )
    return count_reps_flow_signal(ts, sig, fps=_fps_of(ts, 30.0), settings=settings)


def person_roi(xy: np.ndarray, frame_size: tuple[int, int], *, margin: float = 0.15) -> Roi | None:
    """Box (x0, y0, x1, y1) in pixels around every seen landmark of the clip (2nd-98th percentile,
    ignoring stray detections), grown by `margin` of its size on each side and clipped to the
    frame (width, height); None when nothing was seen. xy: (T, 33, 2) pixels."""
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if pts.shape[0] < 2:
        return None
    (x0, y0), (x1, y1) = np.percentile(pts, 2, axis=0), np.percentile(pts, 98, axis=0)
    w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    fw, fh = frame_size
    return (
        float(max(0.0, x0 - margin * w)),
        float(max(0.0, y0 - margin * h)),
        float(min(fw, x1 + margin * w)),
        float(min(fh, y1 + margin * h)),
    )
