"""Pose sequences and the one seam to the pose model.

`PoseSequence` is what every later stage consumes. The pose model (BlazePose full, the model
file bundled in mediapipe 0.10.21) runs only inside `MediaPipeEstimator`, through one of two
backends (`pose_backend`): MediaPipe's own graph, or the same pipeline on OpenVINO
(`coach.blazepose`). Neither is imported before an estimator is made, so the rest of the
package (and most tests) run without them.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import math
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from coach.errors import KeypointFileError, PoseError
from coach.schema import CORE_LANDMARKS, LANDMARK_NAMES, N_LANDMARKS, SCHEMA_VERSION, L

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]
"""progress(done, total): frames done so far and the expected total (0 when unknown)."""


@dataclass(frozen=True)
class PoseSequence:
    """Landmarks of one performer over time.

    xyz: (T, 33, 3) float32, pixels of the upright frame (x right, y down); NaN = not seen.
    visibility: (T, 33) float32 in [0, 1]; 0 where the landmark is missing.
    timestamps_s: (T,) float64 seconds from the first frame.
    fps: nominal frames per second of the source.
    frame_size: (width, height) in pixels of the frames the landmarks refer to.
    meta: free-form, JSON-serialisable description of the source (file name, model, ...).
    """

    xyz: np.ndarray
    visibility: np.ndarray
    timestamps_s: np.ndarray
    fps: float
    frame_size: tuple[int, int]
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        xyz = np.asarray(self.xyz, dtype=np.float32)
        vis = np.asarray(self.visibility, dtype=np.float32)
        ts = np.asarray(self.timestamps_s, dtype=np.float64)
        if xyz.ndim != 3 or xyz.shape[1:] != (N_LANDMARKS, 3):
            raise ValueError(f"xyz must have shape (T, {N_LANDMARKS}, 3), got {xyz.shape}")
        t = xyz.shape[0]
        if vis.shape != (t, N_LANDMARKS):
            raise ValueError(f"visibility must have shape ({t}, {N_LANDMARKS}), got {vis.shape}")
        if ts.shape != (t,):
            raise ValueError(f"timestamps_s must have shape ({t},), got {ts.shape}")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be a positive number, got {self.fps!r}")
        if t > 1 and not np.all(np.diff(ts) > 0):
            raise ValueError("timestamps_s must be strictly increasing")
        for a in (xyz, vis, ts):
            a.setflags(write=False)
        object.__setattr__(self, "xyz", xyz)
        object.__setattr__(self, "visibility", vis)
        object.__setattr__(self, "timestamps_s", ts)
        object.__setattr__(self, "fps", float(self.fps))
        object.__setattr__(self, "frame_size", (int(self.frame_size[0]), int(self.frame_size[1])))

    @property
    def n_frames(self) -> int:
        return int(self.xyz.shape[0])

    @property
    def duration_s(self) -> float:
        if self.n_frames == 0:
            return 0.0
        return float(self.timestamps_s[-1] - self.timestamps_s[0]) + 1.0 / self.fps

    @property
    def mask(self) -> np.ndarray:
        """(T, 33) bool: True where the landmark was seen."""
        return np.isfinite(self.xyz[..., 0])

    @property
    def xy(self) -> np.ndarray:
        """(T, 33, 2) view of x, y."""
        return self.xyz[..., :2]

    def replace(self, **changes) -> PoseSequence:
        return dataclasses.replace(self, **changes)

    def slice(self, start: int, stop: int) -> PoseSequence:
        """Frames [start, stop), with timestamps kept relative to the original first frame."""
        return self.replace(
            xyz=self.xyz[start:stop],
            visibility=self.visibility[start:stop],
            timestamps_s=self.timestamps_s[start:stop],
        )

    # --- persistence: a self-describing .npz (no pickle) -----------------------------------
    def to_npz_bytes(self) -> bytes:
        header = {
            "schema_version": SCHEMA_VERSION,
            "keypoints": list(LANDMARK_NAMES),
            "fps": self.fps,
            "frame_size": list(self.frame_size),
            "meta": self.meta,
        }
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            xyz=self.xyz,
            visibility=self.visibility,
            timestamps_s=self.timestamps_s,
            header=np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8),
        )
        return buf.getvalue()

    def save_npz(self, path: str | Path) -> None:
        """Write atomically: a partial file never replaces a good one."""
        path = Path(path)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(self.to_npz_bytes())
        tmp.replace(path)

    @classmethod
    def from_npz_bytes(cls, data: bytes, *, name: str = "keypoint file") -> PoseSequence:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                missing = {"xyz", "visibility", "timestamps_s", "header"} - set(z.files)
                if missing:
                    raise KeypointFileError(
                        f"{name}: expected arrays xyz, visibility, timestamps_s, header; "
                        f"missing {sorted(missing)}"
                    )
                header = json.loads(bytes(z["header"].astype(np.uint8)).decode("utf-8"))
                xyz, vis, ts = z["xyz"], z["visibility"], z["timestamps_s"]
        except KeypointFileError:
            raise
        except Exception as exc:  # zipfile/ValueError/JSON errors: all mean "corrupt"
            raise KeypointFileError(f"{name}: not a readable Form Coach .npz ({exc})") from exc
        if not isinstance(header, dict) or header.get("schema_version") != SCHEMA_VERSION:
            raise KeypointFileError(
                f"{name}: expected schema_version {SCHEMA_VERSION}, "
                f"got {header.get('schema_version') if isinstance(header, dict) else header!r}"
            )
        if list(header.get("keypoints", [])) != list(LANDMARK_NAMES):
            raise KeypointFileError(f"{name}: keypoint names differ from the MediaPipe-33 schema")
        try:
            return cls(
                xyz=xyz,
                visibility=vis,
                timestamps_s=ts,
                fps=float(header["fps"]),
                frame_size=tuple(header["frame_size"]),
                meta=dict(header.get("meta", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise KeypointFileError(f"{name}: {exc}") from exc

    @classmethod
    def load_npz(cls, path: str | Path) -> PoseSequence:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise KeypointFileError(f"{path}: cannot read ({exc.strerror})") from exc
        return cls.from_npz_bytes(data, name=path.name)


# --- the estimator seam -------------------------------------------------------------------


class PoseEstimator(Protocol):
    """Turns RGB frames of one video into landmarks. Stateful (tracks between frames):
    make a new one per video or stream."""

    name: str

    def process(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """rgb: (H, W, 3) uint8. Returns (xyz (33, 3) pixels, visibility (33,)) or None."""
        ...

    def close(self) -> None: ...


def quiet_native_stderr() -> bool:
    """For a command-line process: point file descriptor 2 at /dev/null for the rest of the run
    and keep Python's `sys.stderr` (messages, progress, logging, tracebacks) on a copy of the real
    one. MediaPipe's TFLite and absl code write start-up notes straight to fd 2, from the graph's
    own threads and when a model first runs (for a clip with no one in view: whenever something is
    first detected), which no log level reaches. Not for a server: it silences every thread's
    native output. Child processes inherit the quiet fd 2. Returns False when there is no stderr."""
    try:
        real = os.dup(2)
    except OSError:
        return False
    if sys.stderr is not None:
        sys.stderr.flush()
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    sys.stderr = io.TextIOWrapper(open(real, "wb", buffering=0), encoding=encoding,
                                  errors="backslashreplace", write_through=True)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    return True


#: How landmarks are extracted, in the keypoint cache key: bump it when a change to extraction
#: would give other landmarks or meta, so clips cached before are extracted again (3: the
#: other-person checks in meta["others"]; 4: those checks on the clip's clock, so a clip split
#: between two workers gets no extra ones).
POSE_REVISION = 4

#: The pose backends: the same model file and pipeline, run by OpenVINO (`coach.blazepose`:
#: MediaPipe's pose graph written again around the model; the model runs ~2x faster on a CPU) or
#: by MediaPipe's own graph. FORM_COACH_POSE_BACKEND picks one for a deployment.
POSE_BACKENDS = {"openvino": "blazepose-full-openvino", "mediapipe": "mediapipe-pose-full-0.10.21"}
DEFAULT_POSE_BACKEND = "openvino"
POSE_BACKEND_ENV = "FORM_COACH_POSE_BACKEND"


def pose_backend() -> str:
    """The backend estimators use unless told: FORM_COACH_POSE_BACKEND, else the default (MediaPipe's
    graph where the openvino package is not installed, e.g. a platform it has no wheel for)."""
    import importlib.util

    value = os.environ.get(POSE_BACKEND_ENV, "").strip().lower()
    if not value:
        value = DEFAULT_POSE_BACKEND if importlib.util.find_spec("openvino") is not None else "mediapipe"
    if value not in POSE_BACKENDS:
        raise PoseError(f"{POSE_BACKEND_ENV}: expected one of {', '.join(POSE_BACKENDS)}, got {value!r}")
    return value


def pose_cache_tag() -> str:
    """The backend's part of the keypoint cache key: landmarks of one backend are not the other's.
    Empty for MediaPipe's graph, so the entries cached before there was a choice stay valid."""
    backend = pose_backend()
    return "" if backend == "mediapipe" else f"-{backend}"


# --- someone else in the picture -------------------------------------------------------------

#: Another person counts when they stand at least this share of the tracked person's height
#: (people far behind in a gym are smaller; a sparring partner or a spotter is not).
OTHER_PERSON_MIN_HEIGHT = 0.4


def mask_person(rgb: np.ndarray, xy: np.ndarray, *, pad: float = 0.35) -> tuple[np.ndarray, float] | None:
    """(a copy of rgb with the tracked person's box greyed out, the core landmarks' height in px)
    or None when fewer than 4 core landmarks are known. xy: (33, 2) pixels of rgb; the box spans
    the core landmarks, widened by `pad` of its size and 20 px on every side: with 0.15 the barbell
    and back left beside a narrower box drew the detector, which then found no one (a second copy
    of a lifter side by side was found on 1 of 3 frames, now 3 of 3)."""
    core = np.array([int(j) for j in CORE_LANDMARKS])
    pts = np.asarray(xy, dtype=np.float64)[core, :2]
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) < 4:
        return None
    h, w = rgb.shape[:2]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    margin = pad * (hi - lo) + 20
    x0, y0 = np.clip(lo - margin, 0, [w, h]).astype(int)
    x1, y1 = np.clip(hi + margin, 0, [w, h]).astype(int)
    out = rgb.copy()
    out[y0:y1, x0:x1] = 127
    return out, float(hi[1] - lo[1])


def other_height(xyz: np.ndarray, vis: np.ndarray, tracked_height_px: float) -> float | None:
    """Height (core landmarks) of a detection relative to the tracked person's, or None when the
    detection is not a person: fewer than 8 core landmarks with visibility over 0.5 (a half-hidden
    remnant of the masked person, a poster)."""
    core = np.array([int(j) for j in CORE_LANDMARKS])
    seen = np.asarray(vis)[core] > 0.5
    if seen.sum() < 8 or not tracked_height_px > 0:
        return None
    y = np.asarray(xyz)[core][seen, 1]
    return float((y.max() - y.min()) / tracked_height_px)


class OtherPersonSchedule:
    """When the other-person check runs: at 0.25 s and 1 s of the clip (two looks even in a clip
    of 1.3 s), then every 5 s, and every 30 s after 6 checks, so a long clip costs little (each
    check runs the detection graph once, ~50 ms). The times are the clip's, not a run's: a worker
    that analyses the second half of a clip looks only where one process would have looked, so
    splitting a clip neither adds looks nor changes the warning's "k of n"."""

    FIRST_S = (0.25, 1.0)
    EVERY_S = 5.0
    SPARSE_AFTER = 6  # checks
    SPARSE_EVERY_S = 30.0

    def __init__(self) -> None:
        self._passed: int | None = None  # schedule times passed by the last frame seen
        self._pending = False

    @classmethod
    def passed(cls, t_s: float) -> int:
        """How many scheduled times lie at or before t_s (seconds from the clip's first frame)."""
        a, b = cls.FIRST_S
        if t_s < a:
            return 0
        if t_s < b:
            return 1
        dense_end = b + cls.EVERY_S * (cls.SPARSE_AFTER - 2)
        if t_s < dense_end + cls.EVERY_S:
            return 2 + int((t_s - b) // cls.EVERY_S)
        return cls.SPARSE_AFTER + int((t_s - dense_end) // cls.SPARSE_EVERY_S)

    def due(self, t_s: float, *, person: bool = True, look: bool = True) -> bool:
        """Call for every frame in order. True once per scheduled time: for the first frame with
        a person (person) at or after it. look=False for frames another worker reports (a
        warm-up): they move the clock on without a look. The first frame a schedule sees sets
        the clock: times before it were another run's."""
        k = self.passed(t_s)
        if self._passed is not None and k > self._passed:
            self._pending = look
        elif not look:
            self._pending = False
        self._passed = k
        if self._pending and person and look:
            self._pending = False
            return True
        return False


def others_in_view(heights: list[float | None] | None) -> tuple[int, int]:
    """(checks that found another person of at least OTHER_PERSON_MIN_HEIGHT, checks made) from
    a sequence's meta["others"]; (0, 0) when the source made none (keypoint files, old caches)."""
    if not heights:
        return 0, 0
    hits = sum(1 for v in heights if v is not None and v >= OTHER_PERSON_MIN_HEIGHT)
    return hits, len(heights)


class TrackingGuard:
    """Catches a pose tracker that has latched onto the wrong thing.

    MediaPipe looks for the body where the previous frame's landmarks were. Now and then that
    region drifts onto an object beside the person (a barbell plate at a deadlift's lockout) and
    the skeleton folds onto it: the 2-D torso (mid-shoulder to mid-hip) shrinks to a third of its
    length and its depth runs wild, and tracking stays there until the person moves away. Which
    clips it hits is a matter of chance: the same clip mirrored can fail where the original does
    not. A frame is suspicious when, for `persist` frames in a row (1: at once, since the frames
    before a late flag still split a rep), its torso is under `short` x, or its 3-D torso over
    `long` x, the median of the last `history` accepted frames. A fresh detection of the frame is preferred when its own torso is typical
    (within `typical` of the median, 3-D under `long` x) and its core joints lie more than `apart`
    torso lengths from the tracked ones. A person under `min_torso_px` tall in torso is left alone:
    there the landmarks' jitter is as large as a collapse, and restarting the tracker loses a small
    person more often than it finds one. Pure NumPy; the estimator runs the detection."""

    CORE = (L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP,
            L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE)

    def __init__(self, *, history: int = 60, min_history: int = 10, short: float = 0.5, long: float = 2.5,
                 typical: tuple[float, float] = (0.75, 1.33), apart: float = 0.5, cooldown: int = 5,
                 persist: int = 1, min_torso_px: float = 20.0) -> None:
        self.history, self.min_history, self.cooldown, self.persist = history, min_history, cooldown, persist
        self.short, self.long, self.typical, self.apart = short, long, typical, apart
        self.min_torso_px = min_torso_px
        # (2-D, 3-D) torso of the last `history` accepted frames
        self._lengths: deque[tuple[float, float]] = deque(maxlen=history)
        self._wait = 0
        self._odd = 0  # suspicious frames in a row

    @staticmethod
    def torso(xyz: np.ndarray) -> tuple[float, float]:
        """(2-D, 3-D) length from mid-shoulder to mid-hip of one frame's (33, 3) landmarks."""
        d = (xyz[L.LEFT_SHOULDER] + xyz[L.RIGHT_SHOULDER] - xyz[L.LEFT_HIP] - xyz[L.RIGHT_HIP]) / 2
        return float(np.hypot(d[0], d[1])), float(np.linalg.norm(d))

    def _typical(self) -> tuple[float, float]:
        return tuple(np.median(np.asarray(self._lengths), axis=0)) if self._lengths else (0.0, 0.0)

    def _ratios(self, xyz: np.ndarray) -> tuple[float, float] | None:
        if len(self._lengths) < self.min_history:
            return None
        typ2, typ3 = self._typical()
        t2, t3 = self.torso(xyz)
        if not (typ2 >= self.min_torso_px and typ3 > 0 and np.isfinite(t2) and np.isfinite(t3)):
            return None
        return t2 / typ2, t3 / typ3

    def suspicious(self, xyz: np.ndarray) -> bool:
        if self._wait > 0:
            self._wait -= 1
            return False
        r = self._ratios(xyz)
        self._odd = self._odd + 1 if r is not None and (r[0] < self.short or r[1] > self.long) else 0
        return self._odd >= self.persist

    def prefer(self, fresh: np.ndarray, tracked: np.ndarray) -> bool:
        """Whether the fresh detection should replace the tracked skeleton. When the detection's torso
        is not typical either, checks pause for `cooldown` frames: a torso really seen end-on, as in
        a bow to the camera, stays short for a while."""
        r = self._ratios(fresh)
        typ2 = float(self._typical()[0])
        core = list(self.CORE)
        gap = float(np.nanmedian(np.linalg.norm(fresh[core, :2] - tracked[core, :2], axis=1)))
        typical = r is not None and self.typical[0] <= r[0] <= self.typical[1] and r[1] <= self.long
        ok = typical and gap > self.apart * typ2
        if not typical:
            self._wait = self.cooldown  # the detection sees the short torso too: look again later
        if not ok:
            self._odd = 0
        return ok

    def accept(self, xyz: np.ndarray) -> None:
        """Record the frame kept (tracked or fresh): the typical torso follows the person."""
        t = self.torso(xyz)
        if np.isfinite(t[0]) and np.isfinite(t[1]):
            self._lengths.append(t)


class _MediaPipeGraph:
    """MediaPipe's own pose graph (legacy solutions API, model_complexity=1: the model bundled in
    mediapipe 0.10.21, so it runs offline; complexities 0 and 2 would download), answering as
    `coach.blazepose.BlazePoseGraph` does."""

    def __init__(self, *, static_image_mode: bool, **options) -> None:
        import mediapipe as mp  # heavy import kept behind the seam

        self._pose = mp.solutions.pose.Pose(static_image_mode=static_image_mode, model_complexity=1,
                                            smooth_landmarks=True, enable_segmentation=False, **options)

    def process(self, rgb: np.ndarray) -> np.ndarray | None:
        res = self._pose.process(rgb)
        if res.pose_landmarks is None:
            return None
        return np.array([(p.x, p.y, p.z, p.visibility) for p in res.pose_landmarks.landmark], dtype=np.float32)

    def reset(self) -> None:
        self._pose.reset()

    def close(self) -> None:
        self._pose.close()


class MediaPipeEstimator:
    """BlazePose full, MediaPipe's pose model and pipeline, on the backend `pose_backend` names
    (or `backend`): MediaPipe's graph or the same pipeline on OpenVINO.

    In tracking mode a `TrackingGuard` watches the skeleton; on a suspicious frame a second,
    detection-only graph (made on first need) looks again, and when it finds the body elsewhere
    its landmarks stand in for the tracked ones; after `RESTART_AFTER` such frames in a row the
    tracker restarts from a detection. `refound` counts the frames stood in for."""

    RESTART_AFTER = 5  # frames

    def __init__(self, *, static_image_mode: bool = False, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, guard: bool = True, backend: str | None = None) -> None:
        if backend is not None and backend not in POSE_BACKENDS:
            raise ValueError(f"expected a pose backend in {', '.join(POSE_BACKENDS)}, got {backend!r}")
        self.backend = backend or pose_backend()
        self.name = POSE_BACKENDS[self.backend]
        self._options = {"min_detection_confidence": min_detection_confidence,
                         "min_tracking_confidence": min_tracking_confidence}
        self._pose = self._graph(static_image_mode)
        self._guard = TrackingGuard() if guard and not static_image_mode else None
        self._fresh = None  # detection-only graph for the guard's second look
        self.refound = 0
        self._off = 0  # frames in a row the tracker was off the body

    def _graph(self, static_image_mode: bool):
        if self.backend == "openvino":
            from coach.blazepose import BlazePoseGraph

            return BlazePoseGraph(static_image_mode=static_image_mode, smooth_landmarks=True, **self._options)
        return _MediaPipeGraph(static_image_mode=static_image_mode, **self._options)

    @staticmethod
    def _landmarks(graph, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        arr = graph.process(rgb)
        if arr is None:
            return None
        h, w = rgb.shape[:2]
        xyz = np.empty((N_LANDMARKS, 3), dtype=np.float32)
        xyz[:, 0] = arr[:, 0] * w
        xyz[:, 1] = arr[:, 1] * h
        xyz[:, 2] = arr[:, 2] * w  # the model's z uses roughly the same scale as x
        return xyz, arr[:, 3]

    def process(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        out = self._landmarks(self._pose, rgb)
        guard = self._guard
        if out is None or guard is None:
            return out
        if guard.suspicious(out[0]):
            if self._fresh is None:
                self._fresh = self._graph(True)
            fresh = self._landmarks(self._fresh, rgb)
            if fresh is not None and guard.prefer(fresh[0], out[0]):
                # the detection stands in for this frame. The tracker restarts from a detection
                # only once it has been off for RESTART_AFTER frames in a row: restarted on one
                # odd frame mid-movement, it was seen to drift off for good
                out = fresh
                self.refound += 1
                self._off += 1
                if self._off >= self.RESTART_AFTER:
                    self._pose.reset()
                    self._off = 0
            else:
                self._off = 0
        else:
            self._off = 0
        guard.accept(out[0])
        return out

    def other_person(self, rgb: np.ndarray, xyz: np.ndarray) -> float | None:
        """Another person in rgb, the tracked one (xyz, pixels) masked out: their height relative
        to the tracked person's (`other_height`), or None. Runs the detection-only graph, which
        keeps no state between frames, so tracking is not touched."""
        masked = mask_person(rgb, xyz)
        if masked is None:
            return None
        if self._fresh is None:
            self._fresh = self._graph(True)
        found = self._landmarks(self._fresh, masked[0])
        return None if found is None else other_height(found[0], found[1], masked[1])

    def close(self) -> None:
        self._pose.close()
        if self._fresh is not None:
            self._fresh.close()

    def __enter__(self) -> MediaPipeEstimator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def default_estimator() -> PoseEstimator:
    return MediaPipeEstimator()


# --- a far or small person: look for them in a zoomed window ----------------------------------

Window = tuple[float, float, float, float]
"""(x0, y0, x1, y1) of a crop as fractions of the upright frame's width and height."""

#: Below this share of frames with a person, the clip is searched for a zoomed window.
SEARCH_BELOW_PERSON_SHARE = 0.5


class _MappedEstimator:
    """An estimator run on a transformed frame, its landmarks mapped back to the frame's pixels."""

    def __init__(self, inner: PoseEstimator) -> None:
        self._inner = inner
        self.name = getattr(inner, "name", type(inner).__name__)

    def _transform(self, rgb: np.ndarray) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
        """(the image the model sees, a map of its pixel xyz back to rgb's pixels)."""
        raise NotImplementedError

    def process(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        img, back = self._transform(rgb)
        out = self._inner.process(np.ascontiguousarray(img))
        if out is None:
            return None
        xyz, vis = out
        return back(np.array(xyz, dtype=np.float32)), vis

    def close(self) -> None:
        self._inner.close()


class WindowEstimator(_MappedEstimator):
    """Runs an estimator on a crop of each frame and returns landmarks in the whole frame's pixels.

    MediaPipe's person detector sees the frame letterboxed to ~224 px, so a person a third of the
    frame high in a wide shot is ~40 px to it and often not found; the same person in a crop is
    found (QUVA's backlit gym clips: 0 -> 399 of 404 frames)."""

    def __init__(self, inner: PoseEstimator, window: Window) -> None:
        x0, y0, x1, y1 = window
        if not (0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0):
            raise ValueError(f"expected a window 0 <= x0 < x1 <= 1, 0 <= y0 < y1 <= 1, got {window}")
        super().__init__(inner)
        self.window = window

    def _transform(self, rgb):
        h, w = rgb.shape[:2]
        x0, y0, x1, y1 = self.window
        a, b = round(x0 * w), round(y0 * h)

        def back(xyz: np.ndarray) -> np.ndarray:
            xyz[:, 0] += a
            xyz[:, 1] += b
            return xyz

        return rgb[b : round(y1 * h), a : round(x1 * w)], back


class RotatedEstimator(_MappedEstimator):
    """Runs an estimator on each frame turned `quarter_turns` x 90 degrees counter-clockwise and
    returns landmarks in the upright frame's pixels (a rotation keeps the body's left and right).

    MediaPipe's person detector is trained on roughly upright people; a lifter filmed from the
    feet end of a bench, bar over the face, can be missed for seconds upright and found in every
    frame turned a quarter (one such clip: 0 -> 11 of 11 sampled frames)."""

    def __init__(self, inner: PoseEstimator, quarter_turns: int) -> None:
        if quarter_turns not in (1, 2, 3):
            raise ValueError(f"expected 1, 2 or 3 quarter turns, got {quarter_turns!r}")
        super().__init__(inner)
        self.quarter_turns = quarter_turns

    def _transform(self, rgb):
        h, w = rgb.shape[:2]
        return np.rot90(rgb, self.quarter_turns), lambda xyz: unrotate_xy(xyz, self.quarter_turns, w, h)


def unrotate_xy(xyz: np.ndarray, quarter_turns: int, width: float, height: float) -> np.ndarray:
    """Pixel coordinates found on `np.rot90(frame, quarter_turns)` back in the (width x height)
    frame (x, y in the first two columns of the last axis; other columns kept)."""
    out = np.array(xyz, dtype=np.float32)
    x, y = xyz[..., 0], xyz[..., 1]
    k = quarter_turns % 4
    if k == 1:  # rot90 ccw: upright (x, y) -> (y, width - x)
        out[..., 0], out[..., 1] = width - y, x
    elif k == 2:
        out[..., 0], out[..., 1] = width - x, height - y
    elif k == 3:  # rot90 cw: upright (x, y) -> (height - y, x)
        out[..., 0], out[..., 1] = y, height - x
    return out


def search_rotation(
    frames: Sequence[np.ndarray], *, estimator_factory: Callable[[], PoseEstimator] | None = None
) -> int | None:
    """The number of quarter turns (1-3) that lets the detector find a person in the most of
    `frames` (upright samples where tracking found nobody), judged frame by frame; None unless
    it finds one in at least half of them and in more than upright does. One estimator serves
    every turn (a still-image one keeps nothing between frames), and a turn stops being tried
    once it can no longer win: most clips that get here are upright ones with the person out of
    view for a while, where every turn fails."""
    if not frames:
        return None
    est = (estimator_factory or (lambda: MediaPipeEstimator(static_image_mode=True)))()
    try:
        def hits(k: int, need: int) -> int:
            """Frames with a person, turned k quarter turns; stops under `need` once out of reach."""
            run = RotatedEstimator(est, k) if k else est  # not closed: est is, once, below
            found = 0
            for i, f in enumerate(frames):
                found += run.process(f) is not None
                if found + len(frames) - i - 1 < need:
                    break
            return found

        upright = hits(0, 0)
        best_k, best = None, max(upright + 1, -(-len(frames) // 2)) - 1
        for k in (1, 2, 3):
            h = hits(k, best + 1)
            if h > best:
                best_k, best = k, h
        return best_k
    finally:
        est.close()


#: Detection and tracking confidence of the re-run on a chosen window. The search has already seen
#: a person there, so a dim or partly hidden one (a backlit lifter bent over the bar) is kept where
#: MediaPipe's default 0.5 drops them.
WINDOW_MIN_CONFIDENCE = 0.3


def window_estimator(window: Window) -> WindowEstimator:
    """MediaPipe on `window` of every frame, at `WINDOW_MIN_CONFIDENCE`."""
    return WindowEstimator(
        MediaPipeEstimator(min_detection_confidence=WINDOW_MIN_CONFIDENCE, min_tracking_confidence=WINDOW_MIN_CONFIDENCE),
        window,
    )


def candidate_windows(width: int, height: int) -> list[Window]:
    """Square-ish crops that zoom a person 1.5-3x for the detector: squares of the short side
    along the long side (half-overlapping), then squares of 2/3 and 1/2 of the short side on a
    half-overlapping grid. Largest first."""
    if width <= 0 or height <= 0:
        raise ValueError(f"expected a positive frame size, got {width}x{height}")
    short = min(width, height)
    out: list[Window] = []
    for frac in (1.0, 2 / 3, 1 / 2):
        side = frac * short
        nx = max(1, math.ceil((width - side) / (side / 2)) + 1) if width > side * 1.05 else 1
        ny = max(1, math.ceil((height - side) / (side / 2)) + 1) if height > side * 1.05 else 1
        if nx == 1 and ny == 1:
            continue  # the whole frame: already tried
        for j in range(ny):
            for i in range(nx):
                x0 = 0.0 if nx == 1 else i * (width - side) / (nx - 1)
                y0 = 0.0 if ny == 1 else j * (height - side) / (ny - 1)
                w_ = side if nx > 1 else width
                h_ = side if ny > 1 else height
                out.append((x0 / width, y0 / height, (x0 + w_) / width, (y0 + h_) / height))
    return out


def person_share(seq: PoseSequence) -> float:
    """Share of frames (0..1) where the pose model found a person."""
    return float(seq.mask.any(axis=1).mean()) if seq.n_frames else 0.0


def _hits(make: Callable[[], PoseEstimator], wrap: Callable[[PoseEstimator], PoseEstimator] | None,
          frames: Sequence[np.ndarray]) -> int:
    """In how many of `frames` a fresh estimator (wrapped, e.g. in a window) finds a person."""
    est = make()
    try:
        run = wrap(est) if wrap is not None else est
        return sum(run.process(f) is not None for f in frames)
    finally:
        est.close()


def search_person_window(
    frames: Sequence[np.ndarray],
    *,
    estimator_factory: Callable[[], PoseEstimator] | None = None,
    progress: ProgressFn | None = None,
) -> Window | None:
    """The crop in which a person is found in the most of `frames` (upright RGB samples of one
    clip), or None when no crop finds one in more frames than the whole frame does.

    Each frame is judged alone (a fresh estimator per window, static detection), so a window is
    chosen on evidence from across the clip, not on tracking. progress(done, total) counts windows."""
    if not frames:
        return None
    h, w = frames[0].shape[:2]
    make = estimator_factory or (lambda: MediaPipeEstimator(static_image_mode=True))

    def hits(window: Window | None) -> int:
        return _hits(make, (lambda e: WindowEstimator(e, window)) if window is not None else None, frames)

    windows = candidate_windows(w, h)
    best, best_hits = None, hits(None)
    for k, win in enumerate(windows):
        if progress is not None:
            progress(k, len(windows))
        n = hits(win)
        if n > best_hits:  # ties keep the larger window (listed first)
            best, best_hits = win, n
        if best_hits >= 0.8 * len(frames):
            break
    if progress is not None:
        progress(len(windows), len(windows))
    return best


def extract_poses(
    frames: Iterable[tuple[float, np.ndarray]],
    *,
    fps: float,
    frame_size: tuple[int, int],
    estimator: PoseEstimator | None = None,
    total_frames: int = 0,
    progress: ProgressFn | None = None,
    meta: dict | None = None,
) -> PoseSequence:
    """Run the estimator over (time_s, rgb) frames, streaming; returns a PoseSequence.

    frame_size is (width, height) of the original upright frames; landmarks found on
    downscaled frames are scaled back to it so pixels stay in the video's own units.
    Frames without a person get NaN landmarks and zero visibility.
    """
    own = estimator is None
    est = default_estimator() if own else estimator
    xyzs: list[np.ndarray] = []
    viss: list[np.ndarray] = []
    times: list[float] = []
    nan_xyz = np.full((N_LANDMARKS, 3), np.nan, dtype=np.float32)
    zero_vis = np.zeros(N_LANDMARKS, dtype=np.float32)
    look = getattr(est, "other_person", None)
    schedule = OtherPersonSchedule()
    others: list[float | None] = []
    try:
        for i, (t, rgb) in enumerate(_iter_checked(frames)):
            out = est.process(rgb)
            if schedule.due(t - (times[0] if times else t), person=out is not None) and look is not None:
                others.append(look(rgb, out[0]))
            if out is None:
                xyzs.append(nan_xyz)
                viss.append(zero_vis)
            else:
                xyz, vis = out
                scale = frame_size[0] / rgb.shape[1]
                xyzs.append((xyz * scale).astype(np.float32))
                viss.append(np.asarray(vis, dtype=np.float32))
            times.append(float(t))
            if progress is not None:
                progress(i + 1, total_frames)
    finally:
        if own:
            est.close()
    if not times:
        raise PoseError("expected at least one frame, got none")
    ts = np.asarray(times, dtype=np.float64)
    ts = ts - ts[0]
    return PoseSequence(
        xyz=np.stack(xyzs),
        visibility=np.stack(viss),
        timestamps_s=_monotonic(ts, fps),
        fps=fps,
        frame_size=frame_size,
        meta={"model": getattr(est, "name", type(est).__name__),
              **({"others": _rounded(others)} if look is not None else {}), **(meta or {})},
    )


def _rounded(heights: list[float | None]) -> list[float | None]:
    return [None if v is None else round(float(v), 2) for v in heights]


def _iter_checked(frames: Iterable[tuple[float, np.ndarray]]) -> Iterator[tuple[float, np.ndarray]]:
    for t, rgb in frames:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"frames must be (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
        yield t, rgb


def _monotonic(ts: np.ndarray, fps: float) -> np.ndarray:
    """Container timestamps can repeat or step back; fall back to the frame clock there."""
    if ts.size < 2 or np.all(np.diff(ts) > 0):
        return ts
    log.info("non-increasing timestamps; using frame index / fps")
    return np.arange(ts.size, dtype=np.float64) / fps


# --- both cores: split a video in two contiguous halves, one MediaPipe process each --------------

MIN_PARALLEL_FRAMES = 120  # below ~4 s one process is as fast (two workers tie at ~80 frames)
#: Analysed frames the second worker runs before its part and drops, so tracking has locked on at
#: the cut: started cold there, MediaPipe lost the person or the rep in some clips (a push-up clip
#: lost its only rep; 10 frames gave back the one-process landmarks on all four clips tried).
WARMUP_FRAMES = 15


def _worker_env() -> dict[str, str]:
    """The caller's environment with this package importable (it may not be installed)."""
    import os

    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("GLOG_minloglevel", "2")
    return env


class PosePool:
    """Warm pose workers (`python -m coach.pose_worker --serve`) kept by a long-running process
    such as the dashboard: an analysis then skips the ~0.5 s a cold worker spends on start-up,
    MediaPipe's import and its graph before the first frame (most of the time of a 3 s clip).
    Each job still gets a fresh graph, so its landmarks equal a cold worker's.

    One analysis at a time: `acquire` returns None while another holds the workers (the caller
    then starts cold workers, as without a pool); a worker that died is replaced."""

    def __init__(self, size: int = 2) -> None:
        import threading

        if size < 1:
            raise ValueError(f"expected at least 1 worker, got {size}")
        self.size = size
        self._lock = threading.Lock()
        self._procs = [self._spawn() for _ in range(size)]
        self._closed = False
        self.served = 0  # analyses that ran on the pool
        try:
            self.backend = pose_backend()  # the workers' environment is copied when they start
        except PoseError:  # a misspelt backend: the analysis says so, not the app's start
            self.backend = None

    @staticmethod
    def _spawn():
        import subprocess
        import sys

        # stderr to nowhere: a long-lived pipe nobody reads would fill with MediaPipe's logging
        return subprocess.Popen(
            [sys.executable, "-m", "coach.pose_worker", "--serve"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1, env=_worker_env(),
        )

    @property
    def free(self) -> bool:
        """No analysis holds the workers now (a hint: `acquire` decides)."""
        return not self._closed and not self._lock.locked()

    def acquire(self, n: int) -> list | None:
        """n live workers for one analysis, or None when the pool is busy or closed; give them
        back with `release`."""
        if n > self.size or self._closed or self.backend is None or self.backend != pose_backend():
            return None
        if not self._lock.acquire(blocking=False):
            return None
        for k, p in enumerate(self._procs):
            if p.poll() is not None:  # died (killed, out of memory): a cold one this time
                self._procs[k] = self._spawn()
        self.served += 1
        return self._procs[:n]

    def wait_ready(self) -> bool:
        """Block until every worker has its first graph (a benchmark times warm analyses only);
        False when one died first."""
        with self._lock:
            for p in self._procs:
                for line in p.stdout:
                    if line.startswith("ready"):
                        break
                else:
                    return False
        return True

    def release(self, procs: list, *, broken: bool = False) -> None:
        if broken:  # a job failed midway: its worker's state is unknown
            for k, p in enumerate(self._procs):
                if p in procs:
                    p.kill()
                    p.wait()
                    self._procs[k] = self._spawn()
        self._lock.release()

    def close(self) -> None:
        self._closed = True
        for p in self._procs:
            try:
                p.stdin.close()  # the worker's loop ends with its input
                p.wait(timeout=5)
            except Exception:
                p.kill()
            p.stdout.close()


_POOL: dict[str, PosePool] = {}  # "pool" -> this process's warm workers, once started


def start_pose_pool(size: int = 2) -> PosePool:
    """Start (once per process) the warm workers `extract_video_parallel` uses from then on."""
    import atexit

    pool = _POOL.get("pool")
    if pool is None or pool._closed:
        pool = _POOL["pool"] = PosePool(size)
        atexit.register(pool.close)
    return pool


def stop_pose_pool() -> None:
    pool = _POOL.pop("pool", None)
    if pool is not None:
        pool.close()


class _ColdJob:
    """A pose_worker run in a new process (see `_WarmJob` for the pool's)."""

    def __init__(self, args: list[str]) -> None:
        import subprocess
        import sys

        self._p = subprocess.Popen([sys.executable, "-m", "coach.pose_worker", *args], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=_worker_env())

    def lines(self) -> Iterator[str]:
        yield from self._p.stdout

    def kill(self) -> None:
        if self._p.poll() is None:
            self._p.kill()

    def finish(self) -> str | None:
        """Waits; the error message or None."""
        self._p.wait()
        err = None
        if self._p.returncode != 0:
            lines = [ln for ln in self._p.stderr.read().strip().splitlines() if ln.startswith("error:")]
            err = lines[-1][7:] if lines else f"worker exit code {self._p.returncode}"
        self._p.stderr.close()
        self._p.stdout.close()
        return err


class _WarmJob:
    """A job sent to a `PosePool` worker: the same protocol on stdout, ended by "done RC"."""

    def __init__(self, proc, args: list[str]) -> None:
        import json

        self._p = proc
        self._error: str | None = None
        self._rc: int | None = None
        try:
            proc.stdin.write(json.dumps(args) + "\n")
            proc.stdin.flush()
        except OSError as exc:
            self._error = f"pool worker gone ({exc})"
            self._rc = -1

    def lines(self) -> Iterator[str]:
        if self._rc is not None:
            return
        for line in self._p.stdout:
            if line.startswith("done "):
                self._rc = int(line.split()[1])
                return
            if line.startswith("error:"):
                self._error = line.strip()[7:]
            yield line
        self._rc = -1  # stdout ended: the worker died mid-job
        self._error = self._error or f"pool worker exit code {self._p.wait()}"

    def finish(self) -> str | None:
        if self._rc is None:  # drain (the caller stopped reading early)
            for _ in self.lines():
                pass
        if self._rc != 0 and self._error is None:
            self._error = f"worker exit code {self._rc}"
        return self._error

    @property
    def broken(self) -> bool:
        return self._rc is None or self._rc < 0


def _run_jobs(jobs: list[list[str]], total: int, progress: ProgressFn | None) -> str | None:
    """pose_worker jobs at once (on the pool's warm workers when it is free, else new
    processes), progress summed over them; the first error or None."""
    import threading

    pool = _POOL.get("pool")
    workers = pool.acquire(len(jobs)) if pool is not None else None
    runs = [_WarmJob(w, a) for w, a in zip(workers, jobs, strict=True)] if workers else [_ColdJob(a) for a in jobs]
    done = [0] * len(jobs)
    lock = threading.Lock()
    errors: list[str | None] = [None] * len(jobs)

    def pump(k: int) -> None:
        for line in runs[k].lines():
            if line.startswith("progress "):
                with lock:
                    done[k] = int(line.split()[1])
        errors[k] = runs[k].finish()

    threads = [threading.Thread(target=pump, args=(k,), daemon=True) for k in range(len(jobs))]
    try:
        for t in threads:
            t.start()
        # Report from the caller's thread: a UI's progress bar may only be touched from there.
        reported = -1
        while any(t.is_alive() for t in threads):
            # wait on a running thread: joining a finished one returns at once and would spin,
            # taking CPU from the worker still running
            next((t for t in threads if t.is_alive()), threads[0]).join(timeout=0.2)
            with lock:
                total_done = sum(done)
            if progress is not None and total_done != reported:
                reported = total_done
                progress(total_done, total)
        for t in threads:
            t.join()
    finally:
        # interrupted (a UI stopping the script raises out of progress): nothing may keep running
        if workers:
            pool.release(workers, broken=any(t.is_alive() for t in threads) or any(r.broken for r in runs))
        else:
            for r in runs:
                r.kill()
    return next((e for e in errors if e is not None), None)


def extract_video_parallel(
    path: str | Path,
    *,
    fps: float,
    frame_size: tuple[int, int],
    frames_estimate: int,
    max_side: int,
    progress: ProgressFn | None = None,
    meta: dict | None = None,
    window: Window | None = None,
    stride: int = 1,
    quarter_turns: int = 0,
) -> PoseSequence:
    """Landmarks of a video on two processes (two contiguous parts; the second runs the model on
    `WARMUP_FRAMES` frames before its part and drops them, so MediaPipe's tracking has locked on
    at the split). Falls back to one process for short clips.
    window: run the model on this crop of every frame (`WindowEstimator`); stride: analyse every
    stride-th frame, fps is then the analysed rate; quarter_turns: on every frame turned that many
    quarter turns (`RotatedEstimator`)."""
    import tempfile

    from coach.video import iter_frames, prefetch, split_at_keyframe

    total = -(-frames_estimate // stride)  # frames analysed
    short = total < MIN_PARALLEL_FRAMES
    if short and not ("pool" in _POOL and _POOL["pool"].free):
        est: PoseEstimator = window_estimator(window) if window else MediaPipeEstimator()
        if quarter_turns:
            est = RotatedEstimator(est, quarter_turns)
        try:
            return extract_poses(
                prefetch(iter_frames(path, max_side=max_side, stride=stride), size=4), fps=fps, frame_size=frame_size,
                estimator=est, total_frames=total, progress=progress, meta=meta,
            )
        finally:
            est.close()
    # Separate interpreters (not multiprocessing): no re-import of the caller's __main__, and a
    # crash in the model cannot take the app down with it.
    # halves: the warm-up costs the second worker ~0.3 s, but moving the split moves where
    # tracking restarts. Balancing it (first part longer by half the warm-up) saved <= 0.07 s on
    # a 5 s clip and moved the shared clips' rep MAE 0.053 -> 0.067 (one process: 0.060).
    split = frames_estimate // 2
    # a short clip on one warm worker: as one process, without its start-up
    ranges = [(0, -1)] if short else [(0, split), (split, -1)]
    # Cut at a keyframe when the file allows it: the second worker then decodes from there instead
    # of decoding and dropping the whole first half (0.5 s of a 41 s clip, ~9 s of a 10-minute one,
    # ~1 s of a 10 s 1080p clip at 55 fps, analysed every 2nd frame: the cut lies on that grid).
    cuts = None if short else split_at_keyframe(path, stride=stride, warmup=WARMUP_FRAMES)
    with tempfile.TemporaryDirectory(prefix="formcoach-pose-") as tmp:
        outs = [Path(tmp) / f"part{k}.npz" for k in range(len(ranges))]
        jobs = [
            [str(path), str(max_side), str(a), str(b), str(float(frame_size[0])), str(out),
             ",".join(map(repr, window)) if window else "-", str(stride), str(quarter_turns),
             cuts[k].arg() if cuts else "-", str(WARMUP_FRAMES if k else 0)]
            for k, ((a, b), out) in enumerate(zip(ranges, outs, strict=True))
        ]
        error = _run_jobs(jobs, total, progress)
        if error is None:
            parts = []
            for out in outs:
                with np.load(out, allow_pickle=False) as z:
                    others = z["others"] if "others" in z.files else np.zeros(0)
                    parts.append((z["xyz"], z["visibility"], z["timestamps_s"], others))
    if error is not None:
        raise PoseError(f"{Path(path).name}: pose extraction failed ({error})")
    xyz = np.concatenate([p[0] for p in parts])
    vis = np.concatenate([p[1] for p in parts])
    ts = np.concatenate([p[2] for p in parts])
    if len(ts) == 0:
        raise PoseError(f"{Path(path).name}: expected at least one frame, got none")
    if progress is not None:
        progress(len(ts), len(ts))
    ts = ts - ts[0]
    return PoseSequence(
        xyz=xyz, visibility=vis, timestamps_s=_monotonic(ts, fps), fps=fps, frame_size=frame_size,
        meta={"model": POSE_BACKENDS[pose_backend()], "workers": len(parts),
              **({} if window or quarter_turns else
                 {"others": _rounded([None if np.isnan(v) else float(v) for p in parts for v in p[3]])}),
              **({"split": "keyframe" if cuts else "halves", "parts": [len(p[2]) for p in parts]}
                 if len(parts) > 1 else {}),
              **({"window": list(window)} if window else {}),
              **(meta or {})},
    )
