"""Drawing poses: skeletons on RGB frames (OpenCV), annotated H.264 videos, body-map images.

Conventions: images are (H, W, 3) uint8 RGB and colours are RGB tuples; keypoints are (33, 2)
pixels (x right, y down) with NaN for missing joints, which are never drawn.

Severity of a joint = its deviation divided by the tolerance (a z-like score, >= 0):
NaN = not judged or hidden (grey), <= 1 within tolerance (green), <= 2 amber, > 2 red
(drawn larger so it stands out).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from coach.schema import EDGES, N_LANDMARKS
from coach.video import H264Writer, iter_frames, probe, scaled_size

log = logging.getLogger(__name__)

Color = tuple[int, int, int]
ProgressFn = Callable[[int, int], None]
"""progress(done, total): frames written so far and the expected total."""

GREY: Color = (150, 150, 150)
GREEN: Color = (40, 200, 90)
AMBER: Color = (255, 176, 0)
RED: Color = (235, 40, 40)
USER_COLOR: Color = (255, 255, 255)
GHOST_COLOR: Color = (170, 240, 255)  # light cyan: reads as "guide", not as a second person
GHOST_EDGE: Color = (30, 95, 150)  # the ghost's darker edge, so it reads on light backgrounds too
GHOST_ALPHA = 0.55  # ghost opacity, 0..1
OUTLINE: Color = (25, 25, 25)
DARK_CANVAS: Color = (24, 26, 30)
LIGHT_CANVAS: Color = (246, 246, 246)

_SHIFT = 4  # cv2 fixed-point bits: sub-pixel positions, so slow motion does not jitter
_ONE = 1 << _SHIFT
_EDGE_JOINTS = sorted({int(j) for edge in EDGES for j in edge})


@dataclass(frozen=True)
class RenderedVideo:
    """A finished annotated video: path, frames written, fps, and encoded width/height in pixels."""

    path: Path
    n_frames: int
    fps: float
    width: int
    height: int


def severity_color(severity: float) -> Color:
    """Colour for one joint's severity (deviation / tolerance); NaN -> grey."""
    if not np.isfinite(severity):
        return GREY
    if severity <= 1.0:
        return GREEN
    if severity <= 2.0:
        return AMBER
    return RED


def default_thickness(width: int, height: int) -> int:
    """Line thickness in pixels that reads well at this frame size (2 px at 720p-ish)."""
    return max(2, round(max(width, height) / 360))


def _check_image(img: np.ndarray) -> None:
    if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        got = f"{img.shape} {img.dtype}" if isinstance(img, np.ndarray) else type(img).__name__
        raise ValueError(f"img must be an (H, W, 3) uint8 array, got {got}")
    if not (img.flags.c_contiguous and img.flags.writeable):
        raise ValueError("img must be C-contiguous and writeable (it is drawn on in place), got a strided or read-only array")


def _fixed(p: np.ndarray) -> tuple[int, int]:
    # clip far-off points so the fixed-point coordinates stay inside int32
    q = np.rint(np.clip(p, -1e5, 1e5) * _ONE).astype(np.int64)
    return int(q[0]), int(q[1])


def draw_skeleton(
    img: np.ndarray,
    xy: np.ndarray,
    *,
    severity: np.ndarray | None = None,
    color: Color = USER_COLOR,
    thickness: int | None = None,
    ghost: bool = False,
) -> np.ndarray:
    """Draw one skeleton on `img` in place and return it.

    xy: (33, 2) pixels, NaN = missing (joints and their edges are skipped).
    severity: (33,) per joint (see module docstring) or None to draw joints in `color`; edges take
    the colour of their worse judged end. thickness: line width in pixels (None: from the image
    size). ghost: draw the reference as thin, semi-transparent `color` lines (GHOST_ALPHA) with no
    severity, so a user skeleton drawn on top stays readable; pass color=GHOST_COLOR for the default
    look.
    """
    _check_image(img)
    pts = np.asarray(xy, dtype=np.float64)
    if pts.shape != (N_LANDMARKS, 2):
        raise ValueError(f"xy must have shape ({N_LANDMARKS}, 2), got {pts.shape}")
    sev = None
    if severity is not None:
        if ghost:
            raise ValueError("severity must be None for a ghost skeleton, got an array")
        sev = np.asarray(severity, dtype=np.float64)
        if sev.shape != (N_LANDMARKS,):
            raise ValueError(f"severity must have shape ({N_LANDMARKS},), got {sev.shape}")
    h, w = img.shape[:2]
    t = default_thickness(w, h) if thickness is None else int(thickness)
    if t < 1:
        raise ValueError(f"thickness must be >= 1 px, got {t}")
    valid = np.isfinite(pts).all(axis=1)
    if not valid.any():
        return img

    if ghost:
        t = max(1, round(t * 0.6))
        # blend only the skeleton's bounding box: whole-frame blends cost more than the drawing
        pad = 3 * t + 2
        lo = np.floor(pts[valid].min(axis=0)).astype(int) - pad
        hi = np.ceil(pts[valid].max(axis=0)).astype(int) + pad
        x0, y0 = max(lo[0], 0), max(lo[1], 0)
        x1, y1 = min(hi[0], w), min(hi[1], h)
        if x0 >= x1 or y0 >= y1:
            return img
        roi = img[y0:y1, x0:x1]
        layer = np.ascontiguousarray(roi)
        shifted = pts - (x0, y0)
        # a darker edge first: light cyan alone all but vanished on a white studio background
        for c, extra in ((GHOST_EDGE, 2), (color, 0)):
            for a, b in EDGES:
                if valid[a] and valid[b]:
                    cv2.line(layer, _fixed(shifted[a]), _fixed(shifted[b]), c, t + extra, cv2.LINE_AA, _SHIFT)
            for j in _EDGE_JOINTS:
                if valid[j]:
                    cv2.circle(layer, _fixed(shifted[j]), (t + 1 + extra // 2) * _ONE, c, -1, cv2.LINE_AA, _SHIFT)
        cv2.addWeighted(layer, GHOST_ALPHA, roi, 1.0 - GHOST_ALPHA, 0.0, dst=roi)
        return img

    joint_colors = [color] * N_LANDMARKS if sev is None else [severity_color(s) for s in sev]
    edge_colors = []
    for a, b in EDGES:
        if sev is None:
            edge_colors.append(color)
        else:
            pair = sev[[a, b]]
            judged = pair[np.isfinite(pair)]
            edge_colors.append(severity_color(judged.max()) if judged.size else GREY)
    # outlines first, then colours, so the joins stay clean and lines read on any background
    for a, b in EDGES:
        if valid[a] and valid[b]:
            cv2.line(img, _fixed(pts[a]), _fixed(pts[b]), OUTLINE, t + 2, cv2.LINE_AA, _SHIFT)
    for (a, b), c in zip(EDGES, edge_colors, strict=True):
        if valid[a] and valid[b]:
            cv2.line(img, _fixed(pts[a]), _fixed(pts[b]), c, t, cv2.LINE_AA, _SHIFT)
    joints = set(_EDGE_JOINTS)
    if sev is not None:
        joints |= {int(j) for j in np.flatnonzero(np.isfinite(sev))}  # judged joints off the skeleton
    # worst last, so a red joint is never hidden under a green neighbour
    order = sorted(
        (j for j in joints if valid[j]),
        key=lambda j: -1.0 if sev is None or not np.isfinite(sev[j]) else sev[j],
    )
    for j in order:
        r = t + 2
        if sev is not None and np.isfinite(sev[j]) and sev[j] > 2.0:
            r = round(r * 1.7)
        cv2.circle(img, _fixed(pts[j]), (r + 1) * _ONE, OUTLINE, -1, cv2.LINE_AA, _SHIFT)
        cv2.circle(img, _fixed(pts[j]), r * _ONE, joint_colors[j], -1, cv2.LINE_AA, _SHIFT)
    return img


# Hershey fonts are ASCII only; keep the symbols our captions use readable.
_ASCII = str.maketrans({"°": " deg", "–": "-", "—": "-", "×": "x", "±": "+/-", "’": "'", "…": "..."})


def draw_caption(img: np.ndarray, text: str) -> np.ndarray:
    """Draw one line of text in a dark box at the top-left of `img`, in place; returns `img`.

    Text that does not fit the width is cut with '...'; non-ASCII characters OpenCV cannot draw
    become '?'.
    """
    _check_image(img)
    text = text.translate(_ASCII).encode("ascii", "replace").decode().strip()
    if not text:
        return img
    h, w = img.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = max(0.4, min(w, h) / 700)
    weight = 1 if scale < 0.8 else 2
    margin = max(4, round(8 * scale))
    avail = w - 4 * margin
    (tw, th), base = cv2.getTextSize(text, font, scale, weight)
    if tw > avail:
        while text and cv2.getTextSize(text + "...", font, scale, weight)[0][0] > avail:
            text = text[:-1]
        text = text.rstrip() + "..."
        (tw, th), base = cv2.getTextSize(text, font, scale, weight)
    x1, y1 = min(w, 3 * margin + tw), min(h, 3 * margin + th + base)
    roi = img[margin // 2 : y1, margin // 2 : x1]
    # a translucent box keeps the scene visible behind the text
    cv2.addWeighted(roi, 0.35, np.zeros_like(roi), 0.65, 0.0, dst=roi)
    cv2.putText(img, text, (2 * margin, 2 * margin + th), font, scale, (255, 255, 255), weight, cv2.LINE_AA)
    return img


def _tracks(
    xy: np.ndarray,
    severity: np.ndarray | None,
    ghost_xy: np.ndarray | None,
    captions: Sequence[str] | None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    pts = np.asarray(xy, dtype=np.float64)
    if pts.ndim != 3 or pts.shape[1:] != (N_LANDMARKS, 2):
        raise ValueError(f"xy must have shape (T, {N_LANDMARKS}, 2), got {pts.shape}")
    t = pts.shape[0]
    if t == 0:
        raise ValueError("xy must hold at least one frame, got 0")
    sev = None
    if severity is not None:
        sev = np.asarray(severity, dtype=np.float64)
        if sev.shape != (t, N_LANDMARKS):
            raise ValueError(f"severity must have shape ({t}, {N_LANDMARKS}), got {sev.shape}")
    ghost = None
    if ghost_xy is not None:
        ghost = np.asarray(ghost_xy, dtype=np.float64)
        if ghost.shape != (t, N_LANDMARKS, 2):
            raise ValueError(f"ghost_xy must have shape ({t}, {N_LANDMARKS}, 2), got {ghost.shape}")
    if captions is not None and len(captions) != t:
        raise ValueError(f"captions must have one line per frame ({t}), got {len(captions)}")
    return pts, sev, ghost


def _annotate(
    img: np.ndarray,
    i: int,
    scale_xy: np.ndarray,
    pts: np.ndarray,
    sev: np.ndarray | None,
    ghost: np.ndarray | None,
    captions: Sequence[str] | None,
) -> None:
    if ghost is not None:
        draw_skeleton(img, ghost[i] * scale_xy, color=GHOST_COLOR, ghost=True)
    draw_skeleton(img, pts[i] * scale_xy, severity=None if sev is None else sev[i])
    if captions is not None:
        draw_caption(img, str(captions[i]))


def render_annotated_video(
    video_path: str | Path,
    xy: np.ndarray,
    out_path: str | Path,
    *,
    severity: np.ndarray | None = None,
    ghost_xy: np.ndarray | None = None,
    captions: Sequence[str] | None = None,
    max_side: int = 720,
    progress: ProgressFn | None = None,
    timestamps_s: np.ndarray | None = None,
    keep_frame_times: bool = False,
) -> RenderedVideo:
    """Re-decode `video_path` and write it to `out_path` (H.264 MP4) with skeletons drawn on.

    xy: (T, 33, 2) user keypoints in pixels of the upright full-resolution frame (VideoInfo
    width/height); severity: (T, 33) or None; ghost_xy: (T, 33, 2) reference keypoints in the same
    pixels, drawn first so the user's skeleton stays on top; captions: one line per frame.
    max_side: longer side of the output in pixels. Pose frame i is drawn on decoded frame i; with
    timestamps_s (seconds of each pose frame, on the decoder's clock) each decoded frame gets the
    pose nearest in time instead, so poses analysed on every n-th frame annotate every frame. The
    output stops where the poses end. Frames are streamed, never all held.
    The source fps is kept; keep_frame_times: each frame keeps its source time too (a recording
    that dropped frames, whose frames are uneven in time). Nothing is left at `out_path` if
    anything fails.
    """
    pts, sev, ghost = _tracks(xy, severity, ghost_xy, captions)
    info = probe(video_path)
    t = pts.shape[0]
    ts = None if timestamps_s is None else np.asarray(timestamps_s, dtype=np.float64)
    if ts is not None and ts.shape != (t,):
        raise ValueError(f"timestamps_s must have shape ({t},), got {ts.shape}")
    # with timestamps: as many output frames as the video has up to the last pose (plus its frame)
    end_s = None if ts is None or t == 0 else ts[-1] + (ts[-1] - ts[0]) / max(t - 1, 1)
    if info.frames_estimate <= 0:
        total = t
    else:
        total = info.frames_estimate if ts is not None else min(t, info.frames_estimate)
    n = 0
    with H264Writer(out_path, info.fps, timed=keep_frame_times) as writer:
        for time_s, frame in iter_frames(video_path, max_side=max_side):
            if (ts is None and n >= t) or (end_s is not None and time_s >= end_s - 1e-6):
                break
            k = n if ts is None else _nearest(ts, time_s)
            img = frame if frame.flags.writeable and frame.flags.c_contiguous else frame.copy()
            # per axis: decoded sides are rounded to even, so the two scales differ slightly
            scale_xy = np.array([img.shape[1] / info.width, img.shape[0] / info.height])
            _annotate(img, k, scale_xy, pts, sev, ghost, captions)
            writer.write(img, time_s)
            n += 1
            if progress is not None:
                progress(n, total)
    if ts is None and n != t:
        log.info("%s: %d poses but the video ended after %d frames; wrote %d", Path(video_path).name, t, n, n)
    return RenderedVideo(Path(out_path), n, info.fps, writer.width, writer.height)


def _nearest(ts: np.ndarray, time_s: float) -> int:
    """Index of the timestamp nearest to time_s (ts increasing)."""
    i = int(np.searchsorted(ts, time_s))
    if i <= 0:
        return 0
    if i >= ts.size:
        return ts.size - 1
    return i if ts[i] - time_s < time_s - ts[i - 1] else i - 1


def render_pose_video(
    xy: np.ndarray,
    fps: float,
    frame_size: tuple[int, int],
    out_path: str | Path,
    *,
    severity: np.ndarray | None = None,
    ghost_xy: np.ndarray | None = None,
    captions: Sequence[str] | None = None,
    max_side: int = 720,
    progress: ProgressFn | None = None,
) -> RenderedVideo:
    """Like render_annotated_video but on a dark canvas, for keypoint-only input and previews.

    fps: frames per second of the output; frame_size: (width, height) in pixels of the frame the
    keypoints refer to; the canvas is that size shrunk so its longer side is <= max_side.
    """
    pts, sev, ghost = _tracks(xy, severity, ghost_xy, captions)
    fw, fh = int(frame_size[0]), int(frame_size[1])
    if fw <= 0 or fh <= 0:
        raise ValueError(f"frame_size must be positive (width, height), got {frame_size}")
    cw, ch = scaled_size(fw, fh, max_side)
    scale_xy = np.array([cw / fw, ch / fh])
    canvas = np.empty((ch, cw, 3), dtype=np.uint8)
    canvas[:] = DARK_CANVAS
    t = pts.shape[0]
    with H264Writer(out_path, fps) as writer:
        for i in range(t):
            img = canvas.copy()
            _annotate(img, i, scale_xy, pts, sev, ghost, captions)
            writer.write(img)
            if progress is not None:
                progress(i + 1, t)
    return RenderedVideo(Path(out_path), t, float(fps), writer.width, writer.height)


def render_pose_image(
    xy: np.ndarray,
    frame_size: tuple[int, int],
    *,
    severity: np.ndarray | None = None,
    size: tuple[int, int] = (360, 480),
    fit: bool = True,
) -> np.ndarray:
    """One skeleton on a light canvas: a body map of which joints deviate (hidden ones grey).

    xy: (33, 2) pixels of a frame of `frame_size` (width, height); severity: (33,) or None.
    size: (width, height) of the returned (H, W, 3) uint8 RGB image.
    fit: zoom to the visible joints (a small person in a wide frame still fills the map);
    False shows the whole frame, letterboxed.
    """
    pts = np.asarray(xy, dtype=np.float64)
    if pts.shape != (N_LANDMARKS, 2):
        raise ValueError(f"xy must have shape ({N_LANDMARKS}, 2), got {pts.shape}")
    w, h = int(size[0]), int(size[1])
    if w < 16 or h < 16:
        raise ValueError(f"size must be at least 16x16 px, got {w}x{h}")
    fw, fh = float(frame_size[0]), float(frame_size[1])
    if fw <= 0 or fh <= 0:
        raise ValueError(f"frame_size must be positive (width, height), got {frame_size}")
    img = np.empty((h, w, 3), dtype=np.uint8)
    img[:] = LIGHT_CANVAS
    valid = np.isfinite(pts).all(axis=1)
    if fit and valid.any():
        lo, hi = pts[valid].min(axis=0), pts[valid].max(axis=0)
        span = np.maximum(hi - lo, 1.0)
        lo, span = lo - 0.12 * span, span * 1.24  # margin so end joints are not cut
    else:
        lo, span = np.zeros(2), np.array([fw, fh])
    s = min(w / span[0], h / span[1])
    offset = (np.array([w, h]) - span * s) / 2  # centre in the spare direction
    mapped = (pts - lo) * s + offset
    draw_skeleton(img, mapped, severity=severity, color=(90, 90, 90), thickness=max(2, round(min(w, h) / 120)))
    return img
