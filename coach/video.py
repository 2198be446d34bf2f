"""Video in and out with PyAV: probe, stream-decode upright frames, write browser-playable H.264.

Frames are yielded one at a time so a long video is never held in memory.

Rotation convention (stated once): phones store frames sideways plus a display matrix.
`VideoInfo.rotation_deg` is the clockwise rotation, in degrees (0, 90, 180 or 270), that
`iter_frames` applies to each stored frame to make it upright; width/height are of the upright
frame. An iPhone portrait clip stores 1920x1080 frames with rotation_deg = 90 and decodes as
1080x1920. Mirror flips in the display matrix are not applied.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import tempfile
import threading
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import numpy as np

from coach.errors import InputTooLargeError, VideoError

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".webm", ".avi", ".mkv")

#: Frame rate assumed by iter_frames for timestamps when the container states none.
FALLBACK_FPS = 30.0
_TIMED_CLOCK_HZ = 1000  # a timed H264Writer's clock: milliseconds, like a browser camera's


@dataclass(frozen=True)
class VideoInfo:
    """What the container says, rotation already applied to width/height.

    width, height: pixels of upright frames; fps: average frames per second;
    duration_s: stream duration in seconds (0 if unknown); frames_estimate: container frame
    count or duration x fps (over-reports for some files); rotation_deg: clockwise degrees
    applied to stored frames to make them upright (see module docstring); codec: decoder name;
    created: recording time from metadata when present; size_bytes: file size.
    """

    path: str
    width: int
    height: int
    fps: float
    duration_s: float
    frames_estimate: int
    rotation_deg: int
    codec: str
    created: datetime | None
    size_bytes: int


def _check_file(path: Path) -> int:
    """File size in bytes, or a VideoError for paths that cannot hold a video."""
    if not path.exists():
        raise VideoError(f"{path.name}: expected an existing video file, got a missing path")
    if not path.is_file():
        raise VideoError(f"{path.name}: expected a video file, got a folder or special file")
    size = path.stat().st_size
    if size == 0:
        raise VideoError(f"{path.name}: expected a video file, got an empty file (0 bytes)")
    return size


def _open(path: Path):
    import av

    _check_file(path)
    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as exc:  # InvalidDataError, moov atom not found, ...
        raise VideoError(f"{path.name}: expected a readable video, got unreadable data ({_short(exc)})") from exc
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["no streams"]
        container.close()
        raise VideoError(f"{path.name}: expected a video stream, got {', '.join(kinds)} only")
    return container


def _short(exc: BaseException) -> str:
    """The decoder's reason in one line, without the server-side path PyAV appends (it means
    nothing to the user and should not be shown to a visitor)."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    text = re.sub(r"\s*(when processing input|: )?\s*'[^']*[/\\][^']*'", "", text.splitlines()[0])
    return re.sub(r"^\[Errno -?\d+\]\s*", "", text).strip()[:160] or type(exc).__name__


def _stream_fps(stream) -> float:
    """Average frames per second the container states, 0.0 when it states none."""
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else 0.0
    return fps if np.isfinite(fps) and fps > 0 else 0.0


def _duration_s(container, stream) -> float:
    """Stated duration in seconds, 0.0 when unknown."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1e6  # microseconds
    return 0.0


def _frames_estimate(counted: int, duration_s: float, fps: float) -> int:
    """Frames a decode yields, about: the container's count includes packets an edit list drops
    (a clip trimmed without re-encoding, as phone galleries and cutters do: 223 counted, 167
    shown), the stream's duration does not, so the smaller of the two when both are known."""
    timed = round(duration_s * fps) if duration_s > 0 and fps > 0 else 0
    if counted > 0 and timed > 0:
        return min(counted, timed)
    return counted or timed


def _rotation_cw(frame) -> int:
    """Clockwise degrees that make this frame upright (PyAV reports counter-clockwise)."""
    cw_exact = -float(getattr(frame, "rotation", 0) or 0)
    cw = round(cw_exact / 90.0) * 90 % 360
    if abs((cw_exact - cw + 180) % 360 - 180) > 1:
        log.warning("display rotation %.1f° is not a right angle; using %d° clockwise", cw_exact, cw)
    return cw


def _upright(img: np.ndarray, rotation_cw: int) -> np.ndarray:
    k = (rotation_cw // 90) % 4
    # np.rot90 turns counter-clockwise for positive k, so negate for clockwise. Always contiguous:
    # PyAV pads rows (strided views), and cv2/MediaPipe want plain arrays.
    return np.ascontiguousarray(np.rot90(img, k=-k) if k else img)


def scaled_size(w: int, h: int, max_side: int | None) -> tuple[int, int]:
    """(width, height) in pixels after shrinking so the longer side is <= max_side.

    Shrunk sides are rounded to even numbers (yuv420p encoders need them); sizes already within
    max_side (or max_side None) are returned unchanged. iter_frames decodes to exactly this size.
    """
    if not max_side or max(w, h) <= max_side:
        return w, h
    s = max_side / max(w, h)
    # half-up, not Python's round-half-even: 405 px -> 406, predictably
    return max(2, int(w * s / 2 + 0.5) * 2), max(2, int(h * s / 2 + 0.5) * 2)


def _parse_created(meta: dict) -> datetime | None:
    for key in ("com.apple.quicktime.creationdate", "creation_time", "date"):
        value = meta.get(key)
        if not value:
            continue
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
            except ValueError:
                continue
    return None


def probe(path: str | Path, *, max_bytes: int | None = None, max_duration_s: float | None = None) -> VideoInfo:
    """Read container facts and check that the first frame decodes.

    max_bytes: reject larger files (checked before the file is parsed);
    max_duration_s: reject longer videos, in seconds (only when the container states a duration).
    Raises VideoError for unreadable input and InputTooLargeError over a limit.
    """
    import av

    path = Path(path)
    size = _check_file(path)
    if max_bytes is not None and size > max_bytes:
        raise InputTooLargeError(
            f"{path.name}: expected at most {max_bytes / 1e6:.1f} MB, got {size / 1e6:.1f} MB"
        )
    container = _open(path)
    try:
        stream = container.streams.video[0]
        fps = _stream_fps(stream)
        if fps == 0.0:
            raise VideoError(f"{path.name}: expected a positive frame rate, got none in the container")
        duration = _duration_s(container, stream)
        if max_duration_s is not None and duration > max_duration_s:
            raise InputTooLargeError(
                f"{path.name}: expected at most {max_duration_s:g} s of video, got {duration:.1f} s"
            )
        try:
            first = next(container.decode(stream), None)
        except av.error.FFmpegError as exc:
            raise VideoError(
                f"{path.name}: expected a decodable frame, got an error ({_short(exc)}) — the file may be "
                "cut short or damaged; export or record it again"
            ) from exc
        if first is None:
            raise VideoError(f"{path.name}: expected at least one video frame, got none")
        rot = _rotation_cw(first)
        w, h = first.width, first.height
        if rot % 180:
            w, h = h, w
        if w <= 0 or h <= 0:
            raise VideoError(f"{path.name}: expected a positive frame size, got {w}x{h}")
        meta = {**dict(container.metadata), **dict(stream.metadata)}
        return VideoInfo(
            path=str(path),
            width=int(w),
            height=int(h),
            fps=fps,
            duration_s=duration,
            frames_estimate=_frames_estimate(int(stream.frames or 0), duration, fps),
            rotation_deg=rot,
            codec=stream.codec_context.name,
            created=_parse_created(meta),
            size_bytes=size,
        )
    finally:
        container.close()


@dataclass(frozen=True)
class Cut:
    """One part of a video, by presentation timestamps (pts, in the stream's time base): frames
    with start_pts <= pts < stop_pts (None = open end), decoding from the keyframe at seek_pts
    (None = from the start). Times are counted from origin_pts, the first frame's pts, so the
    parts of one video share a clock. warm_pts: `iter_frames` starts yielding there instead, and
    the first warm_frames frames it yields lie before start_pts: a pose tracker locks on over them
    and the caller drops their landmarks (a tracker started cold on the cut's first frame can lose
    or mistake the person there)."""

    origin_pts: int
    seek_pts: int | None = None
    start_pts: int | None = None
    stop_pts: int | None = None
    warm_pts: int | None = None
    warm_frames: int = 0

    def arg(self) -> str:
        """As one command-line word ("origin,seek,start,stop,warm,warm_frames", "-" for None)."""
        return ",".join("-" if v is None else str(v) for v in (
            self.origin_pts, self.seek_pts, self.start_pts, self.stop_pts, self.warm_pts, self.warm_frames))

    @classmethod
    def from_arg(cls, text: str) -> Cut:
        parts = text.split(",")
        if len(parts) != 6 or parts[0] == "-" or parts[5] == "-":
            raise ValueError(f"expected a cut as 'origin,seek,start,stop,warm,warm_frames', got {text!r}")
        a, b, c, d, e, f = (None if v == "-" else int(v) for v in parts)
        return cls(a, b, c, d, e, f)


def split_at_keyframe(
    path: str | Path, fraction: float = 0.5, *, stride: int = 1, warmup: int = 0
) -> tuple[Cut, Cut] | None:
    """Two cuts of a video at about `fraction` of its frames, the second decodable from the last
    keyframe before the split (so a second worker skips at most one keyframe interval instead of
    decoding the whole first part). Reads the packets only (no decoding, ~15 ms for a 41 s clip).
    stride: the split falls on a frame whose index is a multiple of it, so every stride-th frame
    of each cut (`iter_frames(cut=..., stride=...)`) is every stride-th frame of the whole video.
    warmup: the second cut also yields this many stride-th frames before the split (`Cut.warm_pts`),
    fewer when the last keyframe before the split is closer to it.
    None when the packets do not allow it safely: a packet without a timestamp, two with the
    same one, or no keyframe before the split but the first."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"expected a fraction between 0 and 1, got {fraction!r}")
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    if warmup < 0:
        raise ValueError(f"warmup must be at least 0 frames, got {warmup}")
    import av

    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        pts: list[int] = []
        keys: list[int] = []
        for packet in container.demux(stream):
            if packet.size == 0 or getattr(packet, "is_discard", False):
                # the flush packet at the end; packets an edit list drops (a trimmed clip) are
                # decoded as references but never shown, so they are not the clip's frames
                continue
            if packet.pts is None:
                return None
            pts.append(int(packet.pts))
            if packet.is_keyframe:
                keys.append(int(packet.pts))
    except av.error.FFmpegError:
        return None
    finally:
        container.close()
    ordered = sorted(pts)
    if len(ordered) < 4 or len(set(ordered)) != len(ordered):
        return None
    at = int(len(ordered) * fraction) // stride * stride
    if at == 0:
        return None
    split = ordered[at]
    before = [k for k in keys if ordered[0] < k <= split]
    if not before:
        return None
    warm_at = max(at - warmup * stride, 0)
    fits = [k for k in before if k <= ordered[warm_at]]
    if fits:
        seek = max(fits)
    else:
        # the warm-up starts at the last keyframe at the latest: a shorter one beats decoding
        # half the clip (rounded up onto the stride grid)
        seek = max(before)
        warm_at = -(-ordered.index(seek) // stride) * stride
    origin = ordered[0]
    warm = dict(warm_pts=ordered[warm_at], warm_frames=(at - warm_at) // stride) if warm_at < at else {}
    return Cut(origin, stop_pts=split), Cut(origin, seek_pts=seek, start_pts=split, **warm)


def iter_frames(
    path: str | Path,
    *,
    max_side: int | None = None,
    frame_range: tuple[int, int | None] | None = None,
    stride: int = 1,
    cut: Cut | None = None,
    only: Collection[int] | None = None,
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (time_s, rgb) for each upright frame: rgb is (H, W, 3) uint8, C-contiguous.

    time_s: seconds from the first frame, from each frame's pts; strictly increasing. A frame
    without a pts, or one that does not move forward, gets the previous time + 1/fps
    (FALLBACK_FPS when the container states no rate).
    max_side: downscale so the longer side is at most this many pixels, sides rounded to even
    (pose models work on ~256 px inputs, so decoding 4K at full size only costs time).
    Raises VideoError when nothing decodes; a file that breaks part-way (truncated) yields the
    frames before the break and logs a warning.
    frame_range: (start, stop) frame indices to yield (stop None = to the end); frames before start
    are decoded for their timing but not converted, so a worker can take the second half cheaply.
    stride: yield only frames whose index in the whole stream (in the cut) is a multiple of it
    (the others are decoded, not converted), so two workers' halves stay on one grid.
    cut: only the frames of this `Cut` (from `split_at_keyframe`; its warm-up frames first), timed
    from its origin by their pts; not with frame_range.
    only: yield just these frames, by index among the stride-th frames (the others are decoded,
    not converted: a few samples of a clip cost its decoding, not its conversion); not with cut.
    """
    import av

    if max_side is not None and max_side < 16:
        raise ValueError(f"max_side must be at least 16 px, got {max_side}")
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    if cut is not None and frame_range is not None:
        raise ValueError("expected a cut or a frame_range, got both")
    if cut is not None and only is not None:
        raise ValueError("expected a cut or only, got both")
    wanted = None if only is None else frozenset(int(i) for i in only)
    if wanted is not None and not wanted:
        return
    last_wanted = max(wanted) if wanted is not None else None
    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame-threaded decoding is several times faster
        fps = _stream_fps(stream)
        if fps == 0.0:
            log.warning("%s: no frame rate in the container; timing frames at %.0f fps", path.name, FALLBACK_FPS)
            fps = FALLBACK_FPS
        period = 1.0 / fps
        if cut is not None and cut.seek_pts is not None:
            container.seek(cut.seek_pts, stream=stream, backward=True, any_frame=False)
        decoder = container.decode(stream)
        t0: float | None = None
        prev: float | None = None
        rotation = 0
        size: tuple[int, int] | None = None
        n = 0
        in_cut = 0  # frames of the cut seen so far
        first_pts = None if cut is None else (cut.warm_pts if cut.warm_pts is not None else cut.start_pts)
        repaired = 0
        while True:
            try:
                frame = next(decoder)
            except StopIteration:
                break
            except av.error.FFmpegError as exc:
                if n == 0:
                    raise VideoError(
                        f"{path.name}: expected decodable frames, got an error at the first ({_short(exc)})"
                    ) from exc
                log.warning("%s: decoding stopped after %d frames (%s)", path.name, n, _short(exc))
                break
            if size is None:
                rotation = _rotation_cw(frame)
                size = scaled_size(frame.width, frame.height, max_side)
            expected = 0.0 if prev is None else prev + period
            if cut is not None:
                if frame.pts is None:
                    raise VideoError(f"{path.name}: expected a timestamp on every frame of a cut, got none")
                if first_pts is not None and frame.pts < first_pts:
                    continue  # decoded from the keyframe only to reach the cut
                if cut.stop_pts is not None and frame.pts >= cut.stop_pts:
                    break
                t = float((frame.pts - cut.origin_pts) * stream.time_base)
                in_cut += 1
                if (in_cut - 1) % stride:
                    continue  # off the stride grid (a cut starts on it: split_at_keyframe)
            elif frame.time is None:
                t = expected
            else:
                if t0 is None:
                    t0 = frame.time - expected  # later frames keep their pts spacing
                t = frame.time - t0
            if prev is not None and t <= prev:
                t = expected
                repaired += 1
            if wanted is not None and n // stride > last_wanted:
                break
            if ((frame_range is not None and n < frame_range[0]) or (cut is None and n % stride)
                    or (wanted is not None and n // stride not in wanted)):
                prev = t
                n += 1
                continue
            if frame_range is not None and frame_range[1] is not None and n >= frame_range[1]:
                break
            if size == (frame.width, frame.height):
                img = frame.to_ndarray(format="rgb24")
            else:
                img = frame.to_ndarray(format="rgb24", width=size[0], height=size[1], interpolation="AREA")
            yield t, _upright(img, rotation)
            prev = t
            n += 1
        if n == 0:
            raise VideoError(f"{path.name}: expected video frames, got none")
        if repaired:
            log.info("%s: %d frames had no or non-increasing pts; timed at 1/fps steps", path.name, repaired)
        # Frame counts over-report for some files (up to 25% here), durations do not: a decoded
        # span well short of the stated duration means the file ends early (truncated upload).
        duration = _duration_s(container, stream)
        whole = ((frame_range is None or frame_range[1] is None) and (cut is None or cut.stop_pts is None)
                 and wanted is None)
        if duration and whole and prev + period < 0.9 * duration - period:
            log.warning(
                "%s: expected %.2f s of frames, got %.2f s (%d frames); the file may be truncated",
                path.name, duration, prev + period, n,
            )
    finally:
        container.close()


def prefetch(items: Iterable, size: int = 16) -> Iterator:
    """Iterate `items` on a worker thread, up to `size` ahead, so decoding overlaps the caller's
    work on the frames (PyAV and the pose model or optical flow release the GIL). Exceptions are
    re-raised in the caller; closing the generator stops the worker."""
    q: queue.Queue = queue.Queue(maxsize=size)
    done = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # handed to the consumer, re-raised there
            q.put(exc)

    th = threading.Thread(target=work, name="decode-ahead", daemon=True)
    th.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        th.join(timeout=5)


def sample_frames(path: str | Path, *, n: int, max_side: int | None = None, frames_estimate: int = 0) -> list[np.ndarray]:
    """About n upright RGB frames spread evenly over the clip, for a quick look (such as searching
    where the person is). Seeks to each sample (a long clip is not decoded whole); a file that
    cannot seek is read once from the start instead."""
    if n < 1:
        raise ValueError(f"expected n >= 1, got {n}")
    import av

    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        duration = _duration_s(container, stream)
        out: list[np.ndarray] = []
        if duration > 0 and stream.time_base:
            start = (stream.start_time or 0) * stream.time_base  # seconds of the first frame's pts
            try:
                for k in range(n):
                    target = start + (k + 0.5) * duration / n
                    container.seek(int(target / stream.time_base), stream=stream, backward=True)
                    for frame in container.decode(stream):
                        if frame.time is None or frame.time >= target - 1e-3:
                            w, h = scaled_size(frame.width, frame.height, max_side)
                            img = frame.to_ndarray(format="rgb24", width=w, height=h, interpolation="AREA")
                            out.append(_upright(img, _rotation_cw(frame)))
                            break
            except av.error.FFmpegError as exc:
                log.info("%s: seeking failed (%s); sampling in one pass", path.name, _short(exc))
                out = []
        if len(out) >= max(1, n // 2):
            return out
    finally:
        container.close()
    step = max(1, frames_estimate // n) if frames_estimate > 0 else 1
    out = [rgb for i, (_t, rgb) in enumerate(iter_frames(path, max_side=max_side)) if i % step == step // 2]
    if len(out) > n:  # the estimate was short: thin evenly
        out = [out[round(k * (len(out) - 1) / (n - 1))] for k in range(n)] if n > 1 else out[:1]
    return out


def _fps_fraction(fps: float) -> Fraction:
    """A float frame rate as a small fraction (29.97002997 -> 30000/1001)."""
    if not (np.isfinite(fps) and 0 < fps <= 1000):
        raise ValueError(f"fps must be in (0, 1000], got {fps!r}")
    return Fraction(float(fps)).limit_denominator(10_000)


class H264Writer:
    """Write RGB frames to an MP4 that browsers play: H.264 (libx264), yuv420p, moov atom first.

    Use as a context manager. Frames go to a hidden temporary file in the target's folder,
    renamed onto `path` only when the block ends without an exception, so a failure never
    leaves a half-written file (and never clobbers an existing one). The frame size is fixed by
    the first frame; an odd width or height is padded by one replicated pixel (yuv420p needs even
    sides), so coordinates drawn on the frame stay valid.

    fps: frames per second (float, stored as a fraction); crf: x264 quality, lower is better
    (18-28 sensible); preset: x264 speed/size trade-off. timed: every frame is written with its
    time (millisecond clock), so a source whose frames are unevenly spaced plays at the speed it
    was filmed; otherwise frame i shows at i / fps.
    """

    def __init__(self, path: str | Path, fps: float, *, crf: int = 23, preset: str = "veryfast",
                 timed: bool = False) -> None:
        self.path = Path(path)
        self.rate = _fps_fraction(fps)
        self.timed = bool(timed)
        self._last_pts = -1
        self.last_time_s = 0.0  # time of the last frame written (a timed writer's clock, rounded)
        if not 0 <= crf <= 51:
            raise ValueError(f"crf must be in [0, 51], got {crf}")
        self._options = {"crf": str(crf), "preset": preset}
        self._container = None
        self._stream = None
        self._tmp: Path | None = None
        self._shape: tuple[int, ...] | None = None
        self.frames_written = 0
        self.width = 0  # encoded size in pixels (even), set by the first frame
        self.height = 0
        self._finished = False

    def __enter__(self) -> H264Writer:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _start(self, h: int, w: int) -> None:
        import av

        parent = self.path.parent
        if not parent.is_dir():
            raise FileNotFoundError(f"expected an existing output folder, got {parent}")
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{self.path.name}.", suffix=".part")
        os.close(fd)
        self._tmp = Path(tmp)
        try:
            self._container = av.open(
                tmp, mode="w", format="mp4", container_options={"movflags": "+faststart"}
            )
            stream = self._container.add_stream("libx264", rate=self.rate)
            self.width, self.height = w + w % 2, h + h % 2
            stream.width, stream.height = self.width, self.height
            stream.pix_fmt = "yuv420p"
            if self.timed:
                stream.time_base = Fraction(1, _TIMED_CLOCK_HZ)
                stream.codec_context.time_base = Fraction(1, _TIMED_CLOCK_HZ)
            stream.options = self._options
            self._stream = stream
        except BaseException:
            self.abort()
            raise

    def write(self, rgb: np.ndarray, time_s: float | None = None) -> None:
        """Append one frame: (H, W, 3) uint8 RGB, the same size as the first frame; time_s
        (seconds from the start, increasing) is required by a timed writer and ignored otherwise."""
        import av

        if self.timed and not (time_s is not None and np.isfinite(time_s)):
            raise ValueError(f"a timed writer needs each frame's time in seconds, got {time_s!r}")

        if self._finished:
            raise VideoError(f"{self.path.name}: expected an open writer, got one already closed")

        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"frame must be (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
        if self._shape is None:
            if rgb.shape[0] < 2 or rgb.shape[1] < 2:
                raise ValueError(f"frame must be at least 2x2 px, got {rgb.shape[1]}x{rgb.shape[0]}")
            self._start(rgb.shape[0], rgb.shape[1])
            self._shape = rgb.shape
        elif rgb.shape != self._shape:
            raise ValueError(f"frame must be {self._shape} like the first, got {rgb.shape}")
        h, w = rgb.shape[:2]
        if h % 2 or w % 2:
            rgb = np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        if self.timed:
            frame.pts = max(round(float(time_s) * _TIMED_CLOCK_HZ), self._last_pts + 1)
            frame.time_base = Fraction(1, _TIMED_CLOCK_HZ)
        else:
            frame.pts = self.frames_written
        self._last_pts = frame.pts
        self.last_time_s = frame.pts / _TIMED_CLOCK_HZ if self.timed else frame.pts / float(self.rate)
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self) -> None:
        """Flush, finish the file and move it onto `path`. Raises VideoError if nothing was written."""
        if self._finished:
            return
        self._finished = True
        if self._tmp is None:
            raise VideoError(f"{self.path.name}: expected at least one frame to write, got none")
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
            self._container = None
            self._tmp.chmod(0o644)  # mkstemp makes it owner-only; the output is an ordinary file
            os.replace(self._tmp, self.path)  # atomic on one filesystem
            self._tmp = None
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Drop everything written so far; `path` is left as it was."""
        self._finished = True
        if self._container is not None:
            with contextlib.suppress(Exception):  # already failing; the original error matters
                self._container.close()
            self._container = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None
