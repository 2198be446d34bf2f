"""Keypoints from other tools and datasets, converted once, here, into `PoseSequence`.

Everything read from disk is validated; a bad file raises `KeypointFileError` with one line
"<file>: expected X, got Y". Files over the size limits below raise `InputTooLargeError`.

Conventions of the result (see coach.schema): pixels, x right, y down, the performer's own
left/right. A missing keypoint is NaN with visibility 0, never a 0 coordinate: OpenPose and
pose-trainer write (0, 0, 0) for "not found", Penn Action marks unseen joints with
visibility 0; both become NaN. Layouts without depth (COCO-17, OpenPose, Penn) get z = 0
where the point is seen. Landmarks the source layout lacks (e.g. hands, heels for COCO) stay
NaN: nothing is synthesised.

Confidence becomes `visibility` (clipped to [0, 1]): as is for COCO-17 and Penn sources, and
calibrated for OpenPose layouts (COCO-18, BODY-25), whose scores run lower than MediaPipe
visibility: visibility = confidence ** OPENPOSE_VISIBILITY_EXPONENT, which maps OpenPose 0.2 to
our 0.5 cut. Measured on the pose-trainer clips (frame-to-frame jitter, 90th percentile, torso
lengths): 0.063 for points scored 0.2–0.3, 0.048 for 0.3–0.5, 0.034 above 0.5 but 0.18 below 0.1,
so 0.2 is where OpenPose points stop being usable. Exports to those layouts invert it.

Supported inputs (`load_keypoints` dispatches on them):
- `.npz`: our own self-describing format (`PoseSequence.save_npz`);
- `.csv`: our CSV, `frame,time_s,<name>_x,<name>_y,<name>_z,<name>_visibility` for the 33 names
  of `coach.schema.LANDMARK_NAMES` (a subset of names is fine, header case is ignored), with an
  optional first line `# form-coach-keypoints {json}` carrying fps, frame size and meta;
- a folder, or a `.zip` of one, of OpenPose `*_keypoints.json` frames (COCO-18 or BODY-25);
- `.npy` arrays (T, J, C) in a known layout, chosen by J: 33 MediaPipe, 18 OpenPose COCO-18,
  25 BODY-25, 17 COCO-17, 13 Penn Action. Pickled (object) arrays are refused.
Dataset readers for the benchmark: pose-trainer `.npy`, Penn Action `.mat`, exercise-correction
labelled CSV frames, the ML Kit fitness pose samples, QUVA repetition annotations.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import zipfile
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path, PurePosixPath
from typing import Literal

import numpy as np

from coach.errors import InputTooLargeError, KeypointFileError
from coach.pose import PoseSequence
from coach.schema import LANDMARK_NAMES, LAYOUTS, N_LANDMARKS, SCHEMA_VERSION, L, mp_to_layout

log = logging.getLogger(__name__)

# --- limits and constants ----------------------------------------------------------------

MAX_FRAMES = 200_000  # frames per sequence (~1.9 h at 30 fps); more is refused, not truncated
MAX_FILE_BYTES = 400_000_000  # bytes of one keypoint file (a 200 000-frame CSV is ~300 MB)
MAX_JSON_FRAME_BYTES = 20_000_000  # bytes of one OpenPose JSON frame (face + hands + crowd fit)
FRAME_SIZE_MARGIN = 0.05  # inferred frame size = ceil(max coordinate * (1 + margin)), pixels
MAX_CONFIDENCE = 1.5  # OpenPose heatmap peaks exceed 1 a little (1.02 seen); clipped to 1. More = not a score
PENN_PLACEHOLDER_PX = 1.0  # Penn Action puts out-of-frame joints at about (0.75, 0.75): x, y <= this
PENN_OCCLUDED_VISIBILITY = 0.5  # visibility of Penn joints annotated in frame but flagged occluded
DEFAULT_FPS = 30.0  # used when a source states no frame rate (recorded in meta["fps_source"])
#: OpenPose confidence c becomes visibility c ** this: 0.2 -> 0.5 (see the module docstring).
OPENPOSE_VISIBILITY_EXPONENT = math.log(0.5) / math.log(0.2)
_OPENPOSE_LAYOUTS = ("openpose18", "body25")

Layout = Literal["coco17", "openpose18", "body25", "penn13", "mediapipe33"]
LAYOUT_NAMES: tuple[str, ...] = (*LAYOUTS, "mediapipe33")
ThirdColumn = Literal["z", "confidence"]

#: Number of joints of each layout, used to recognise .npy files by shape.
LAYOUT_BY_JOINTS: dict[int, str] = {N_LANDMARKS: "mediapipe33"} | {
    len(v): k for k, v in LAYOUTS.items()
}

CSV_HEADER_TAG = "# form-coach-keypoints"
CSV_CHANNELS = ("x", "y", "z", "visibility")
_CHANNEL_OF_SUFFIX = {"x": 0, "y": 1, "z": 2, "visibility": 3, "vis": 3, "v": 3}
_COLUMN_RE = re.compile(r"^(?P<name>[a-z0-9_]+?)_(?P<ch>x|y|z|visibility|vis|v)$")
_LANDMARK_INDEX = {name: i for i, name in enumerate(LANDMARK_NAMES)}

#: pose-trainer exercise names -> the manifest's normalised exercise names.
POSE_TRAINER_EXERCISES = {
    "bicep": "bicep_curl",
    "frontraise": "front_raise",
    "shoulderpress": "shoulder_press",
    "shouldershrug": "shrug",
}
_POSE_TRAINER_NAME_RE = re.compile(r"^(?P<ex>[a-z]+?)_?(?P<form>good|bad)_?(?P<n>\d+)$")
_OPENPOSE_LAYOUT_BY_LEN = {54: "openpose18", 75: "body25"}


# --- arrays in a known layout <-> PoseSequence -------------------------------------------


def _layout_index(layout: str) -> np.ndarray:
    """For each joint of ``layout``, our landmark index (-1 where none)."""
    if layout == "mediapipe33":
        return np.arange(N_LANDMARKS, dtype=np.intp)
    if layout not in LAYOUTS:
        raise ValueError(f"expected a layout in {sorted(LAYOUT_NAMES)}, got {layout!r}")
    return mp_to_layout(layout)


def from_layout_array(
    arr: np.ndarray,
    layout: str,
    *,
    fps: float,
    frame_size: tuple[int, int] | None = None,
    confidence: np.ndarray | None = None,
    third: ThirdColumn | None = None,
    zero_is_missing: bool = True,
    meta: dict | None = None,
    name: str = "keypoint array",
) -> PoseSequence:
    """Map (T, J, C) keypoints of a known layout onto the 33-landmark schema.

    arr: (T, J, 2) x, y; (T, J, 3) x, y and a third column that must be named with
    ``third`` ("z" = MediaPipe-style depth, "confidence" = OpenPose-style score in [0, 1]);
    or (T, J, 4) x, y, z, confidence. Pixels, x right, y down. ``third`` is ignored for 2 or 4
    columns.
    confidence: (T, J) scores in [0, 1] (alternative to a confidence column); OpenPose's slight
    overshoots (up to MAX_CONFIDENCE) are clipped to 1, anything larger or negative is refused.
    A point is missing where x or y is NaN, where its confidence is 0, or, with
    ``zero_is_missing``, where x == y == 0 (OpenPose's "not found"). Missing points become NaN
    with visibility 0; landmarks the layout lacks stay NaN. Seen points get visibility =
    confidence, or 1 without one, and z = 0 when the source has no depth.
    frame_size: (width, height); inferred from the keypoint extent when None.
    Timestamps are frame index / fps. Raises KeypointFileError (naming ``name``) on bad input.
    """
    index = _layout_index(layout)
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"expected a positive fps, got {fps!r}")
    n_joints = index.size
    a = np.asarray(arr)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) and not np.iscomplexobj(a)):
        raise KeypointFileError(f"{name}: expected a numeric keypoint array, got dtype {a.dtype}")
    if a.ndim != 3 or a.shape[1] != n_joints or a.shape[2] not in (2, 3, 4):
        raise KeypointFileError(
            f"{name}: expected shape (frames, {n_joints}, 2|3|4) for layout {layout}, got {a.shape}"
        )
    a = a.astype(np.float64)
    n_frames, _, n_cols = a.shape
    _check_frame_count(n_frames, name)
    if np.isinf(a).any():
        t = int(np.argwhere(np.isinf(a))[0][0])
        raise KeypointFileError(f"{name}: expected finite coordinates or NaN, got inf (frame {t})")

    z = None
    conf = None
    if n_cols == 3:
        if third == "z":
            z = a[..., 2]
        elif third == "confidence":
            conf = a[..., 2]
        else:
            raise ValueError(f"arr has 3 columns: expected third='z' or third='confidence', got {third!r}")
    elif n_cols == 4:
        z, conf = a[..., 2], a[..., 3]
    if confidence is not None:
        if conf is not None:
            raise ValueError("confidence given twice: as a column of arr and as confidence=")
        conf = np.asarray(confidence, dtype=np.float64)
        if conf.shape != (n_frames, n_joints):
            raise KeypointFileError(
                f"{name}: expected confidence of shape ({n_frames}, {n_joints}), got {conf.shape}"
            )
    x, y = a[..., 0], a[..., 1]
    missing = ~(np.isfinite(x) & np.isfinite(y))
    if zero_is_missing:
        missing |= (x == 0) & (y == 0)
    if conf is not None:
        bad = np.isfinite(conf) & ((conf < 0) | (conf > MAX_CONFIDENCE))
        if bad.any():
            t, j = (int(v) for v in np.argwhere(bad)[0])
            raise KeypointFileError(
                f"{name}: expected confidence in [0, 1], got {conf[t, j]:g} (frame {t}, joint {j})"
            )
        missing |= ~np.isfinite(conf) | (conf <= 0)

    xyz = np.full((n_frames, N_LANDMARKS, 3), np.nan, dtype=np.float32)
    vis = np.zeros((n_frames, N_LANDMARKS), dtype=np.float32)
    src = np.flatnonzero(index >= 0)
    dst = index[src]
    seen = ~missing[:, src]
    block = np.stack([x[:, src], y[:, src], np.zeros_like(x[:, src]) if z is None else z[:, src]], axis=-1)
    if z is not None:  # a seen point without depth keeps its x, y (depth 0, like 2-D sources)
        block[..., 2] = np.where(np.isfinite(block[..., 2]), block[..., 2], 0.0)
    block[~seen] = np.nan
    xyz[:, dst] = block
    if conf is not None:
        score = np.clip(conf[:, src], 0.0, 1.0)
        if layout in _OPENPOSE_LAYOUTS:
            score = score**OPENPOSE_VISIBILITY_EXPONENT
    vis[:, dst] = np.where(seen, 1.0 if conf is None else score, 0.0)
    if frame_size is None:
        frame_size = _infer_frame_size(xyz, name)
    info = {"source": name, "layout": layout, "dims": 3 if z is not None else 2}
    info.update(meta or {})
    return PoseSequence(
        xyz=xyz,
        visibility=vis,
        timestamps_s=np.arange(n_frames, dtype=np.float64) / float(fps),
        fps=float(fps),
        frame_size=frame_size,
        meta=info,
    )


def to_layout_array(seq: PoseSequence, layout: str) -> np.ndarray:
    """(T, J, 3) float32 of x, y, visibility in ``layout``'s joint order (pixels).

    OpenPose-18 / BODY-25 "neck" is the mid-shoulder and BODY-25 "mid-hip" the mid-hip (seen
    only when both sides are; visibility = the lower of the two). Joints without a counterpart
    (BODY-25 small toes) and missing points are NaN with visibility 0 — never zeros. OpenPose
    layouts get OpenPose-scale confidences (the inverse of the import calibration).
    """
    index = _layout_index(layout)
    t = seq.n_frames
    out = np.full((t, index.size, 3), np.nan, dtype=np.float32)
    out[..., 2] = 0.0
    have = index >= 0
    out[:, have, :2] = seq.xy[:, index[have]]
    out[:, have, 2] = seq.visibility[:, index[have]]
    if layout in _OPENPOSE_LAYOUTS:
        out[:, 1] = _midpoint(seq, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    if layout == "body25":
        out[:, 8] = _midpoint(seq, L.LEFT_HIP, L.RIGHT_HIP)
    seen = np.isfinite(out[..., 0]) & np.isfinite(out[..., 1])
    out[~seen] = (np.nan, np.nan, 0.0)
    if layout in _OPENPOSE_LAYOUTS:  # back to OpenPose's own score scale
        out[..., 2] = out[..., 2] ** (1.0 / OPENPOSE_VISIBILITY_EXPONENT)
    return out


def _midpoint(seq: PoseSequence, a: int, b: int) -> np.ndarray:
    xy = (seq.xy[:, a] + seq.xy[:, b]) / 2  # NaN unless both are seen
    v = np.minimum(seq.visibility[:, a], seq.visibility[:, b])
    return np.concatenate([xy, v[:, None]], axis=1)


def _infer_frame_size(xyz: np.ndarray, name: str) -> tuple[int, int]:
    """(width, height) = ceil(max x, max y with a margin); at least 1 pixel."""
    xy = xyz[..., :2]
    if not np.isfinite(xy).any():
        raise KeypointFileError(f"{name}: expected at least one keypoint seen, got none in any frame")
    mx = np.nanmax(xy[..., 0])
    my = np.nanmax(xy[..., 1])
    w = max(1, math.ceil(float(mx) * (1 + FRAME_SIZE_MARGIN)))
    h = max(1, math.ceil(float(my) * (1 + FRAME_SIZE_MARGIN)))
    return w, h


def _check_frame_count(n: int, name: str) -> None:
    if n > MAX_FRAMES:
        raise InputTooLargeError(f"{name}: expected at most {MAX_FRAMES} frames, got {n}")
    if n < 2:
        raise KeypointFileError(f"{name}: expected at least 2 frames, got {n}")


def _check_sequence(seq: PoseSequence, name: str) -> PoseSequence:
    """Sanity checks every loader applies to its result."""
    _check_frame_count(seq.n_frames, name)
    if np.isinf(seq.xyz).any():
        raise KeypointFileError(f"{name}: expected finite coordinates or NaN, got inf")
    if not seq.mask.any():
        raise KeypointFileError(f"{name}: expected at least one keypoint seen, got none in any frame")
    return seq


# --- reading bytes safely ------------------------------------------------------------------


def _read_bytes(path: Path, *, limit: int = MAX_FILE_BYTES) -> bytes:
    try:
        size = path.stat().st_size
        if size > limit:
            raise InputTooLargeError(f"{path.name}: expected at most {limit:,} bytes, got {size:,}")
        data = path.read_bytes()
    except OSError as exc:
        raise KeypointFileError(f"{path.name}: cannot read ({exc.strerror or exc})") from exc
    if not data:
        raise KeypointFileError(f"{path.name}: expected keypoint data, got an empty file")
    return data


def _load_npy(path: Path) -> np.ndarray:
    """A numeric .npy array; object (pickled) and structured arrays are refused."""
    data = _read_bytes(path)
    if not data.startswith(b"\x93NUMPY"):
        raise KeypointFileError(f"{path.name}: expected a NumPy .npy array, got data in another format")
    try:
        a = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise KeypointFileError(
                f"{path.name}: expected a numeric .npy array, got a pickled object array (refused)"
            ) from exc
        raise KeypointFileError(f"{path.name}: expected a .npy array, got unreadable data ({exc})") from exc
    except (OSError, EOFError) as exc:
        raise KeypointFileError(f"{path.name}: expected a .npy array, got unreadable data ({exc})") from exc
    if a.dtype.fields is not None or not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
        raise KeypointFileError(f"{path.name}: expected a numeric array, got dtype {a.dtype}")
    return a


# --- OpenPose JSON -------------------------------------------------------------------------

_FRAME_NO_RE = re.compile(r"(\d+)(?=\D*$)")


def _frame_number(name: str) -> int:
    stem = PurePosixPath(name).name[: -len("_keypoints.json")]
    m = _FRAME_NO_RE.search(stem)
    if m is None:
        raise KeypointFileError(
            f"{PurePosixPath(name).name}: expected a frame number in the name "
            f"(like clip_000000000012_keypoints.json), got none"
        )
    return int(m.group(1))


def _parse_openpose_frame(data: bytes, name: str) -> tuple[np.ndarray, str | None]:
    """(P, J, 3) people of one frame (x, y, c; zeros = not found) and its layout (None if empty)."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeypointFileError(f"{name}: expected OpenPose JSON, got invalid JSON ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("people"), list):
        raise KeypointFileError(f"{name}: expected an object with a 'people' list, got {type(doc).__name__}")
    people = []
    layout = None
    for k, person in enumerate(doc["people"]):
        if not isinstance(person, dict):
            raise KeypointFileError(f"{name}: expected people[{k}] to be an object, got {type(person).__name__}")
        kp = person.get("pose_keypoints_2d", person.get("pose_keypoints"))
        if kp is None:
            raise KeypointFileError(f"{name}: expected people[{k}].pose_keypoints_2d, got no such key")
        if not isinstance(kp, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in kp
        ):
            raise KeypointFileError(f"{name}: expected people[{k}].pose_keypoints_2d to be a list of numbers")
        if not kp:  # OpenPose writes [] for a person found only by the face/hand detector
            continue
        this = _OPENPOSE_LAYOUT_BY_LEN.get(len(kp))
        if this is None:
            raise KeypointFileError(
                f"{name}: expected 54 (COCO-18) or 75 (BODY-25) values in people[{k}].pose_keypoints_2d, "
                f"got {len(kp)}"
            )
        if layout is not None and this != layout:
            raise KeypointFileError(f"{name}: expected one keypoint layout per frame, got {layout} and {this}")
        layout = this
        arr = np.asarray(kp, dtype=np.float64).reshape(-1, 3)
        if not np.isfinite(arr).all():
            raise KeypointFileError(f"{name}: expected finite numbers in people[{k}], got NaN or inf")
        people.append(arr)
    if not people:
        return np.empty((0, 0, 3)), None
    return np.stack(people), layout


def _seen(person: np.ndarray) -> np.ndarray:
    """(J,) bool: OpenPose keypoints actually found (confidence > 0, not the (0, 0) marker)."""
    return (person[:, 2] > 0) & ~((person[:, 0] == 0) & (person[:, 1] == 0))


def _largest(people: np.ndarray) -> int:
    """Index of the person with the largest keypoint bounding box (ties: higher total confidence)."""
    best, best_key = 0, (-1.0, -1.0)
    for k, p in enumerate(people):
        s = _seen(p)
        if s.sum() >= 2:
            span = p[s, :2].max(axis=0) - p[s, :2].min(axis=0)
            area = float(span[0] * span[1])
        else:
            area = 0.0
        key = (area, float(p[s, 2].sum()))
        if key > best_key:
            best, best_key = k, key
    return best


def _nearest(people: np.ndarray, prev: np.ndarray) -> int:
    """Index of the person closest to ``prev``: mean distance over joints seen in both
    (centroid distance when they share none); the largest person if nothing compares."""
    ps = _seen(prev)
    best, best_d = -1, math.inf
    for k, p in enumerate(people):
        s = _seen(p)
        both = s & ps
        if both.any():
            d = float(np.linalg.norm(p[both, :2] - prev[both, :2], axis=1).mean())
        elif s.any() and ps.any():
            d = float(np.linalg.norm(p[s, :2].mean(axis=0) - prev[ps, :2].mean(axis=0)))
        else:
            continue
        if d < best_d:
            best, best_d = k, d
    return best if best >= 0 else _largest(people)


def _openpose_frames_to_sequence(
    frames: Sequence[tuple[str, bytes]], *, fps: float, frame_size: tuple[int, int] | None, source: str
) -> PoseSequence:
    """frames: (member name, JSON bytes) of every *_keypoints.json of one folder."""
    if not frames:
        raise KeypointFileError(f"{source}: expected OpenPose *_keypoints.json files (one per frame), got none")
    if len(frames) > MAX_FRAMES:
        raise InputTooLargeError(f"{source}: expected at most {MAX_FRAMES} frames, got {len(frames)}")
    numbered = sorted(((_frame_number(n), n, d) for n, d in frames), key=lambda r: r[0])
    for (a, na, _), (b, nb, _) in pairwise(numbered):
        if a == b:
            raise KeypointFileError(
                f"{source}: expected one file per frame number, got {PurePosixPath(na).name} "
                f"and {PurePosixPath(nb).name} for frame {a}"
            )
    first, last = numbered[0][0], numbered[-1][0]
    n_frames = last - first + 1
    _check_frame_count(n_frames, source)
    layout = None
    picked: list[tuple[int, np.ndarray]] = []
    prev = None
    for number, member, data in numbered:
        fname = PurePosixPath(member).name
        people, this = _parse_openpose_frame(data, fname)
        if this is None:
            continue
        if layout is not None and this != layout:
            raise KeypointFileError(f"{fname}: expected {layout} like the earlier frames, got {this}")
        layout = this
        k = _largest(people) if prev is None else _nearest(people, prev)
        prev = people[k]
        picked.append((number - first, prev))
    if layout is None:
        raise KeypointFileError(f"{source}: expected at least one person, got empty 'people' in every frame")
    n_joints = len(LAYOUTS[layout])
    arr = np.zeros((n_frames, n_joints, 3), dtype=np.float64)  # zeros = OpenPose's "not found"
    for i, person in picked:
        arr[i] = person
    gaps = n_frames - len(numbered)
    if gaps:
        log.info("%s: %d frame files missing; those frames are empty", source, gaps)
    seq = from_layout_array(
        arr, layout, fps=fps, frame_size=frame_size, third="confidence", name=source,
        meta={"format": "openpose-json", "first_frame": first, "missing_frame_files": gaps,
              "frames_without_person": n_frames - len(picked)},
    )
    return _check_sequence(seq, source)


def _is_junk(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return any(p == "__MACOSX" for p in parts) or PurePosixPath(name).name.startswith(".")


def load_openpose_json_dir(
    folder: str | Path, *, fps: float = DEFAULT_FPS, frame_size: tuple[int, int] | None = None
) -> PoseSequence:
    """OpenPose output: a folder (or a .zip of one) holding one `*_keypoints.json` per frame.

    Frames are ordered by the number in the file name (OpenPose writes
    `<video>_000000000012_keypoints.json`); missing numbers become empty frames. The layout
    (COCO-18: 54 values, BODY-25: 75 values) is detected from `pose_keypoints_2d`. With several
    people, the first frame takes the person with the largest keypoint box and every later
    frame the person nearest (mean joint distance, pixels) to the previous pick. A frame with
    no people is all NaN. frame_size is inferred from the keypoint extent when not given.
    """
    folder = Path(folder)
    if folder.suffix.lower() == ".zip" and folder.is_file():
        return _load_openpose_zip(folder, fps=fps, frame_size=frame_size)
    if not folder.is_dir():
        raise KeypointFileError(f"{folder.name}: expected a folder or .zip of OpenPose JSON, got neither")
    files = [p for p in folder.iterdir() if p.is_file() and p.name.endswith("_keypoints.json")]
    if not files:
        others = [p.name for p in folder.iterdir() if p.suffix.lower() == ".json"]
        got = f"only {others[0]}" if others else "none"
        raise KeypointFileError(f"{folder.name}: expected OpenPose *_keypoints.json files, got {got}")
    if len(files) > MAX_FRAMES:
        raise InputTooLargeError(f"{folder.name}: expected at most {MAX_FRAMES} frames, got {len(files)}")
    frames = [(p.name, _read_bytes(p, limit=MAX_JSON_FRAME_BYTES)) for p in files]
    return _openpose_frames_to_sequence(frames, fps=fps, frame_size=frame_size, source=folder.name)


def _load_openpose_zip(path: Path, *, fps: float, frame_size: tuple[int, int] | None) -> PoseSequence:
    data = _read_bytes(path)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise KeypointFileError(f"{path.name}: expected a .zip archive, got unreadable data ({exc})") from exc
    frames: list[tuple[str, bytes]] = []
    folders: set[str] = set()
    other_json: list[str] = []
    total = 0
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_FRAMES + 1000:
            raise InputTooLargeError(f"{path.name}: expected at most {MAX_FRAMES} files, got {len(infos)}")
        for info in infos:
            name = info.filename
            pp = PurePosixPath(name.replace("\\", "/"))
            if pp.is_absolute() or ".." in pp.parts or (pp.parts and ":" in pp.parts[0]):
                raise KeypointFileError(f"{path.name}: expected relative member names, got {name!r}")
            if info.is_dir() or _is_junk(name):
                continue
            if not pp.name.endswith("_keypoints.json"):
                if pp.suffix.lower() == ".json":
                    other_json.append(pp.name)
                continue
            if info.file_size > MAX_JSON_FRAME_BYTES:
                raise InputTooLargeError(
                    f"{path.name}: expected frames of at most {MAX_JSON_FRAME_BYTES:,} bytes, "
                    f"got {info.file_size:,} for {pp.name}"
                )
            try:
                with zf.open(info) as fh:
                    body = fh.read(MAX_JSON_FRAME_BYTES + 1)
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
                raise KeypointFileError(f"{path.name}: cannot read member {pp.name} ({exc})") from exc
            if len(body) > MAX_JSON_FRAME_BYTES:  # the header lied about the size
                raise InputTooLargeError(f"{path.name}: member {pp.name} is larger than it claims")
            total += len(body)
            if total > MAX_FILE_BYTES:
                raise InputTooLargeError(f"{path.name}: expected at most {MAX_FILE_BYTES:,} bytes unpacked")
            folders.add(str(pp.parent))
            frames.append((str(pp), body))
    if len(folders) > 1:
        shown = ", ".join(sorted(folders)[:3])
        raise KeypointFileError(f"{path.name}: expected the frames of one folder, got several ({shown})")
    if not frames and other_json:
        raise KeypointFileError(
            f"{path.name}: expected OpenPose *_keypoints.json files, got only other JSON ({other_json[0]})"
        )
    return _openpose_frames_to_sequence(frames, fps=fps, frame_size=frame_size, source=path.name)


# --- our CSV -------------------------------------------------------------------------------


def write_keypoint_csv(seq: PoseSequence, path: str | Path) -> None:
    """Write ``seq`` as CSV: a `# form-coach-keypoints {json}` line (fps, frame size, meta), then
    `frame,time_s,<name>_x,<name>_y,<name>_z,<name>_visibility` for the 33 landmarks.
    Coordinates are written with 9 significant digits (exact for float32), times exactly;
    missing values are empty cells. Written atomically."""
    import pandas as pd

    path = Path(path)
    header = {
        "schema_version": SCHEMA_VERSION,
        "fps": seq.fps,
        "frame_size": list(seq.frame_size),
        "meta": seq.meta,
    }
    cols: dict[str, object] = {
        "frame": np.arange(seq.n_frames),
        "time_s": [repr(float(t)) for t in seq.timestamps_s],
    }
    for j, name in enumerate(LANDMARK_NAMES):
        for c, ch in enumerate(CSV_CHANNELS[:3]):
            cols[f"{name}_{ch}"] = seq.xyz[:, j, c]
        cols[f"{name}_visibility"] = seq.visibility[:, j]
    df = pd.DataFrame(cols)
    body = df.to_csv(index=False, float_format="%.9g", na_rep="", lineterminator="\n")
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_text(f"{CSV_HEADER_TAG} {json.dumps(header)}\n{body}", encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _split_csv_header(text: str, name: str) -> tuple[dict, str]:
    """Our optional first comment line -> (header dict, rest of the text)."""
    if not text.startswith(CSV_HEADER_TAG):
        return {}, text
    first, _, rest = text.partition("\n")
    try:
        header = json.loads(first[len(CSV_HEADER_TAG):].strip())
    except json.JSONDecodeError as exc:
        raise KeypointFileError(f"{name}: expected JSON after {CSV_HEADER_TAG}, got invalid JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise KeypointFileError(f"{name}: expected a JSON object after {CSV_HEADER_TAG}, got {type(header).__name__}")
    if header.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        raise KeypointFileError(
            f"{name}: expected schema_version {SCHEMA_VERSION}, got {header.get('schema_version')!r}"
        )
    return header, rest


def _read_csv_frame(text: str, name: str, **kwargs):
    import pandas as pd

    try:
        df = pd.read_csv(
            io.StringIO(text), nrows=MAX_FRAMES + 1, skipinitialspace=True, float_precision="round_trip", **kwargs
        )
    except pd.errors.EmptyDataError as exc:
        raise KeypointFileError(f"{name}: expected CSV with a header row, got no data") from exc
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise KeypointFileError(f"{name}: expected well-formed CSV, got {msg}") from exc
    if len(df) > MAX_FRAMES:
        raise InputTooLargeError(f"{name}: expected at most {MAX_FRAMES} rows, got more")
    return df


def _numeric_column(df, col: str, name: str) -> np.ndarray:
    """A column as float64; a non-numeric cell raises naming the column, row and value."""
    import pandas as pd

    s = df[col]
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        v = s.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        num = pd.to_numeric(s, errors="coerce")
        bad = num.isna() & s.notna() & (s.astype(str).str.strip() != "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise KeypointFileError(
                f"{name}: expected numbers in column {col}, got {str(s.iloc[row])[:30]!r} (data row {row + 1})"
            )
        v = num.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(v).any():
        row = int(np.flatnonzero(np.isinf(v))[0])
        raise KeypointFileError(f"{name}: expected finite numbers in column {col}, got inf (data row {row + 1})")
    return v


def _landmark_columns(columns: Sequence[str], name: str) -> dict[tuple[int, int], str]:
    """{(landmark index, channel 0..3): column} from headers like `left_knee_x` / `LEFT_KNEE_v`."""
    out: dict[tuple[int, int], str] = {}
    for col in columns:
        m = _COLUMN_RE.match(str(col).strip().lower())
        if m is None:
            continue
        lm = m.group("name")
        if lm not in _LANDMARK_INDEX:
            raise KeypointFileError(
                f"{name}: expected landmark names of coach.schema in column {col!r}, got {lm!r}"
            )
        key = (_LANDMARK_INDEX[lm], _CHANNEL_OF_SUFFIX[m.group("ch")])
        if key in out:
            raise KeypointFileError(f"{name}: expected each landmark column once, got {out[key]!r} and {col!r}")
        out[key] = col
    if not out:
        raise KeypointFileError(
            f"{name}: expected landmark columns like nose_x, nose_y, got {_show_columns(columns)}"
        )
    for j, ch in sorted(out):
        if ch in (0, 1) and (j, 1 - ch) not in out:
            present, absent = ("x", "y") if ch == 0 else ("y", "x")
            raise KeypointFileError(
                f"{name}: expected {LANDMARK_NAMES[j]}_{absent} beside {LANDMARK_NAMES[j]}_{present}, got none"
            )
        if ch in (2, 3) and (j, 0) not in out:
            raise KeypointFileError(f"{name}: expected {LANDMARK_NAMES[j]}_x and _y, got only other channels")
    return out


def _show_columns(columns: Sequence[str]) -> str:
    cols = [str(c) for c in columns]
    return ", ".join(cols[:6]) + (", ..." if len(cols) > 6 else "") if cols else "no columns"


def _landmarks_from_df(df, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(xyz (N, 33, 3) float32, visibility (N, 33) float32) from landmark columns of ``df``."""
    cols = _landmark_columns(list(df.columns), name)
    n = len(df)
    xyz = np.full((n, N_LANDMARKS, 3), np.nan, dtype=np.float64)
    vis = np.full((n, N_LANDMARKS), np.nan, dtype=np.float64)
    for (j, ch), col in cols.items():
        v = _numeric_column(df, col, name)
        if ch == 3:
            vis[:, j] = v
        else:
            xyz[:, j, ch] = v
    seen = np.isfinite(xyz[..., 0]) & np.isfinite(xyz[..., 1])
    bad = np.isfinite(vis) & ((vis < 0) | (vis > 1 + 1e-6))
    if bad.any():
        r, j = (int(v) for v in np.argwhere(bad)[0])
        raise KeypointFileError(
            f"{name}: expected {LANDMARK_NAMES[j]} visibility in [0, 1], got {vis[r, j]:g} (data row {r + 1})"
        )
    z = xyz[..., 2]
    xyz[..., 2] = np.where(seen & ~np.isfinite(z), 0.0, z)
    xyz[~seen] = np.nan
    vis = np.where(seen, np.where(np.isfinite(vis), np.clip(vis, 0.0, 1.0), 1.0), 0.0)
    return xyz.astype(np.float32), vis.astype(np.float32)


def _csv_text(path: Path) -> str:
    data = _read_bytes(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KeypointFileError(f"{path.name}: expected UTF-8 text, got binary data") from exc
    if not text.strip():
        raise KeypointFileError(f"{path.name}: expected CSV, got an empty file")
    return text


def read_keypoint_csv(path: str | Path, *, fps: float | None = None) -> PoseSequence:
    """Read our keypoint CSV (see `write_keypoint_csv`). Header names are case-insensitive;
    `_v` / `_vis` are accepted for `_visibility`; a subset of landmarks is fine (the rest NaN);
    empty cells are NaN. A `frame` or `time_s` column is required.
    Timestamps: time_s when present, else (frame - first frame) / fps. fps: the argument, else
    the header line's, else 1 / median time step, else 30 (recorded in meta["fps_source"]).
    frame_size: the header line's, else inferred from the keypoint extent."""
    path = Path(path)
    name = path.name
    header, text = _split_csv_header(_csv_text(path), name)
    df = _read_csv_frame(text, name)
    lower = {str(c).strip().lower(): c for c in df.columns}
    if "time_s" not in lower and "frame" not in lower:
        raise KeypointFileError(
            f"{name}: expected a frame or time_s column (Form Coach keypoint CSV), got {_show_columns(df.columns)}"
        )
    _check_frame_count(len(df), name)
    xyz, vis = _landmarks_from_df(df, name)

    fps_source = "argument"
    if fps is None and header.get("fps") is not None:
        fps, fps_source = float(header["fps"]), "file"
    if "time_s" in lower:
        ts = _numeric_column(df, lower["time_s"], name)
        if not np.isfinite(ts).all():
            row = int(np.flatnonzero(~np.isfinite(ts))[0])
            raise KeypointFileError(f"{name}: expected a time in every row of time_s, got an empty cell (data row {row + 1})")
        if not np.all(np.diff(ts) > 0):
            row = int(np.flatnonzero(np.diff(ts) <= 0)[0]) + 1
            raise KeypointFileError(f"{name}: expected strictly increasing time_s, got {ts[row]!r} after {ts[row - 1]!r}")
        if fps is None:
            fps, fps_source = 1.0 / float(np.median(np.diff(ts))), "time_s"
    else:
        frame = _numeric_column(df, lower["frame"], name)
        if not (np.isfinite(frame).all() and np.all(frame == np.round(frame)) and np.all(np.diff(frame) > 0)):
            raise KeypointFileError(f"{name}: expected increasing whole numbers in column frame, got other values")
        if fps is None:
            fps, fps_source = DEFAULT_FPS, "assumed"
            log.info("%s: no time_s column and no fps given; assuming %.0f fps", name, DEFAULT_FPS)
        ts = (frame - frame[0]) / float(fps)
    if not (np.isfinite(fps) and fps > 0):
        raise KeypointFileError(f"{name}: expected a positive fps, got {fps!r}")

    frame_size = header.get("frame_size")
    if frame_size is not None:
        if not (isinstance(frame_size, list) and len(frame_size) == 2 and all(
                isinstance(v, (int, float)) and v > 0 for v in frame_size)):
            raise KeypointFileError(f"{name}: expected frame_size [width, height] in the header, got {frame_size!r}")
        frame_size = (int(frame_size[0]), int(frame_size[1]))
    else:
        frame_size = _infer_frame_size(xyz, name)
    meta = header.get("meta", {})
    if not isinstance(meta, dict):
        raise KeypointFileError(f"{name}: expected meta to be a JSON object in the header, got {type(meta).__name__}")
    meta = dict(meta)
    if not header:
        meta["source"] = name
    if fps_source != "file":
        meta["fps_source"] = fps_source
    seq = PoseSequence(xyz=xyz, visibility=vis, timestamps_s=ts, fps=fps, frame_size=frame_size, meta=meta)
    return _check_sequence(seq, name)


# --- labelled single frames (exercise-correction, ML Kit samples) ---------------------------


def load_labeled_frames(path: str | Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """exercise-correction-ngo CSV: a `label` column, then `<name>_x,_y,_z,_v` of some landmarks.

    Rows are independent labelled poses (training samples), not a sequence. Coordinates stay
    as in the file: MediaPipe's normalised image coordinates (x, y in 0–1 of the frame width /
    height, z scaled like x), because the frame size is not recorded. Landmarks the file lacks
    are NaN with visibility 0.
    Returns (xyz (N, 33, 3) float32, visibility (N, 33) float32, labels)."""
    path = Path(path)
    name = path.name
    df = _read_csv_frame(_csv_text(path), name, dtype={"label": str})
    lower = {str(c).strip().lower(): c for c in df.columns}
    if "label" not in lower:
        raise KeypointFileError(f"{name}: expected a label column, got {_show_columns(df.columns)}")
    if len(df) == 0:
        raise KeypointFileError(f"{name}: expected at least one row, got none")
    labels_col = df[lower["label"]]
    if labels_col.isna().any():
        row = int(np.flatnonzero(labels_col.isna().to_numpy())[0])
        raise KeypointFileError(f"{name}: expected a label in every row, got an empty cell (data row {row + 1})")
    xyz, vis = _landmarks_from_df(df, name)
    return xyz, vis, [str(v).strip() for v in labels_col]


def load_mlkit_samples(path: str | Path) -> tuple[np.ndarray, list[str]]:
    """ML Kit `fitness_pose_samples.csv`: no header; image name, class, then 33 × (x, y, z) in
    pixels of each sample image (MediaPipe order, z scaled like x).
    Returns (xyz (N, 33, 3) float32, labels such as "pushups_up")."""
    path = Path(path)
    name = path.name
    n_cols = 2 + 3 * N_LANDMARKS
    df = _read_csv_frame(_csv_text(path), name, header=None, dtype={0: str, 1: str})
    if df.shape[1] != n_cols:
        raise KeypointFileError(f"{name}: expected {n_cols} columns (image, class, 33 × x, y, z), got {df.shape[1]}")
    if len(df) == 0:
        raise KeypointFileError(f"{name}: expected at least one row, got none")
    values = np.stack([_numeric_column(df, c, name) for c in df.columns[2:]], axis=1)
    if not np.isfinite(values).all():
        row = int(np.argwhere(~np.isfinite(values))[0][0])
        raise KeypointFileError(f"{name}: expected 99 numbers in every row, got an empty cell (data row {row + 1})")
    labels = df[df.columns[1]]
    if labels.isna().any():
        raise KeypointFileError(f"{name}: expected a class in every row, got an empty cell")
    return values.reshape(-1, N_LANDMARKS, 3).astype(np.float32), [str(v).strip() for v in labels]


# --- dataset loaders ------------------------------------------------------------------------


def load_pose_trainer_npy(path: str | Path, fps: float = DEFAULT_FPS) -> tuple[PoseSequence, dict]:
    """pose-trainer `<exercise>_<good|bad>_<n>.npy` (shoulder press files omit the underscores):
    (frames, 18, 3) OpenPose COCO-18 x, y pixels + confidence; all-zero = not found.
    Returns (sequence, {"exercise": normalised name, "source_exercise", "form": "good"|"bad",
    "take": n})."""
    path = Path(path)
    m = _POSE_TRAINER_NAME_RE.match(path.stem.lower())
    if m is None:
        raise KeypointFileError(f"{path.name}: expected a name like bicep_good_1.npy, got {path.name}")
    arr = _load_npy(path)
    if arr.ndim != 3 or arr.shape[1:] != (18, 3):
        raise KeypointFileError(f"{path.name}: expected shape (frames, 18, 3), got {arr.shape}")
    ex = m.group("ex")
    label = {
        "exercise": POSE_TRAINER_EXERCISES.get(ex, ex),
        "source_exercise": ex,
        "form": m.group("form"),
        "take": int(m.group("n")),
    }
    seq = from_layout_array(
        arr, "openpose18", fps=fps, third="confidence", name=path.name,
        meta={"format": "pose-trainer", **label},
    )
    return _check_sequence(seq, path.name), label


def load_penn_action_mat(
    path: str | Path, fps: float = DEFAULT_FPS, *, occluded_visibility: float = PENN_OCCLUDED_VISIBILITY
) -> tuple[PoseSequence, dict]:
    """Penn Action `.mat`: `x`, `y`, `visibility` (frames × 13), `action`, `pose` (the view),
    `dimensions` (height, width, frames).

    Penn's visibility flag is 1 (visible) or 0, and 0 means two things: joints outside the
    frame sit at a placeholder near (0.75, 0.75) (12 % of the gym-class joints) and become NaN;
    joints inside the frame marked 0 (10 %) were placed by the annotator but are occluded: they
    keep their coordinates with visibility ``occluded_visibility`` (0 turns them into NaN too).
    One file (1516.mat) flags every joint 0 although its upper body is annotated.
    Returns (sequence, {"action": ..., "view": ...})."""
    if not 0.0 <= occluded_visibility <= 1.0:
        raise ValueError(f"expected occluded_visibility in [0, 1], got {occluded_visibility!r}")
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    path = Path(path)
    name = path.name
    data = _read_bytes(path)
    try:
        m = loadmat(io.BytesIO(data))
    except (MatReadError, ValueError, TypeError, NotImplementedError, OSError, EOFError) as exc:
        raise KeypointFileError(f"{name}: expected a MATLAB .mat file, got unreadable data ({exc})") from exc
    missing = [k for k in ("x", "y", "visibility", "action", "pose") if k not in m]
    if missing:
        raise KeypointFileError(f"{name}: expected fields x, y, visibility, action, pose; missing {missing}")
    x, y, v = (np.asarray(m[k]) for k in ("x", "y", "visibility"))
    for k, a in (("x", x), ("y", y), ("visibility", v)):
        if a.ndim != 2 or a.shape[1] != 13 or not np.issubdtype(a.dtype, np.number):
            raise KeypointFileError(f"{name}: expected {k} of shape (frames, 13), got {a.shape} {a.dtype}")
    if not (x.shape == y.shape == v.shape):
        raise KeypointFileError(f"{name}: expected x, y, visibility of one shape, got {x.shape}, {y.shape}, {v.shape}")
    frame_size = None
    if "dimensions" in m:
        dims = np.asarray(m["dimensions"]).ravel()
        if dims.size != 3:
            raise KeypointFileError(f"{name}: expected dimensions (height, width, frames), got {dims.tolist()}")
        if int(dims[2]) != x.shape[0]:
            raise KeypointFileError(f"{name}: expected {int(dims[2])} frames (dimensions), got {x.shape[0]} rows")
        frame_size = (int(dims[1]), int(dims[0]))
    info = {"action": _mat_str(m["action"], "action", name), "view": _mat_str(m["pose"], "pose", name)}
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    outside = ((x <= PENN_PLACEHOLDER_PX) & (y <= PENN_PLACEHOLDER_PX)) | (x < 0) | (y < 0)
    if frame_size is not None:
        outside |= (x >= frame_size[0]) | (y >= frame_size[1])
    vis = np.where(v > 0, 1.0, np.where(outside, 0.0, occluded_visibility))
    seq = from_layout_array(
        np.stack([x, y], axis=-1), "penn13", fps=fps, frame_size=frame_size,
        confidence=vis, zero_is_missing=False, name=name, meta={"format": "penn-action", **info},
    )
    return _check_sequence(seq, name), info


def _mat_str(value, field: str, name: str) -> str:
    a = np.asarray(value).ravel()
    if a.size != 1 or not isinstance(a[0], str):
        raise KeypointFileError(f"{name}: expected a string in {field}, got {a.tolist()[:3]!r}")
    return a[0].strip()


def load_coco17_npy(
    path: str | Path,
    fps: float = DEFAULT_FPS,
    *,
    frame_size: tuple[int, int] | None = None,
    order: Literal["xy", "yx"] = "xy",
) -> PoseSequence:
    """(T, 17, 2) COCO-17 keypoints (PoseNet, MoveNet, YOLO-pose order), or (T, 17, 3) with a
    confidence column. ``order="yx"`` for raw PoseNet/MoveNet exports, which store (y, x).

    The human-pose-compare-kr1210 file `lookup_test_punch_side_posenet17.npy` is already (x, y):
    that project swaps PoseNet's (y, x) before saving; its nose is at the top (smallest second
    column) and the ankles at the bottom. Its coordinates are pixels of the clip resized to
    372 × 495, relative to each frame's keypoint bounding box (the min corner, truncated to an
    integer, is subtracted), so they are translation-normalised, not frame positions.
    """
    path = Path(path)
    arr = _load_npy(path)
    if arr.ndim != 3 or arr.shape[1] != 17 or arr.shape[2] not in (2, 3):
        raise KeypointFileError(f"{path.name}: expected shape (frames, 17, 2|3), got {arr.shape}")
    if order not in ("xy", "yx"):
        raise ValueError(f"expected order 'xy' or 'yx', got {order!r}")
    arr = arr.astype(np.float64)
    if order == "yx":
        arr[..., [0, 1]] = arr[..., [1, 0]]
    seq = from_layout_array(
        arr, "coco17", fps=fps, frame_size=frame_size,
        third="confidence" if arr.shape[2] == 3 else None, name=path.name,
        meta={"format": "coco17-npy", "order": order},
    )
    return _check_sequence(seq, path.name)


def load_quva_rep_ends(path: str | Path) -> np.ndarray:
    """QUVA repetition annotation `.npy`: the frame index where each repetition ends.
    Returns a strictly increasing int64 array (may be empty for a clip without reps)."""
    path = Path(path)
    a = _load_npy(path)
    if a.ndim != 1:
        raise KeypointFileError(f"{path.name}: expected a 1-D array of frame indices, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.integer):
        if not (np.isfinite(a).all() and np.all(a == np.round(a))):
            raise KeypointFileError(f"{path.name}: expected whole frame indices, got dtype {a.dtype} with fractions")
    out = a.astype(np.int64)
    if out.size and (out.min() < 0 or not np.all(np.diff(out) > 0)):
        raise KeypointFileError(f"{path.name}: expected increasing non-negative frame indices, got {out[:5].tolist()}...")
    return out


# --- the one dispatcher ----------------------------------------------------------------------

_SUPPORTED = "expected .npz, .csv, .zip, .npy or a folder of OpenPose JSON"


def load_npy_keypoints(path: str | Path, *, fps: float | None = None) -> PoseSequence:
    """A (T, J, C) .npy in the layout its joint count names: 33 MediaPipe (C = 2 x, y; 3 x, y, z;
    4 x, y, z, visibility), 18 OpenPose COCO-18, 25 BODY-25, 17 COCO-17, 13 Penn Action
    (C = 2 x, y; 3 x, y, confidence). Zeros are "not found" (OpenPose convention)."""
    path = Path(path)
    arr = _load_npy(path)
    if arr.ndim != 3 or arr.shape[1] not in LAYOUT_BY_JOINTS:
        joints = ", ".join(f"{j} ({lay})" for j, lay in sorted(LAYOUT_BY_JOINTS.items()))
        raise KeypointFileError(f"{path.name}: expected shape (frames, joints, 2|3) with joints {joints}, got {arr.shape}")
    layout = LAYOUT_BY_JOINTS[arr.shape[1]]
    cols = arr.shape[2]
    if cols not in ((2, 3, 4) if layout == "mediapipe33" else (2, 3)):
        raise KeypointFileError(f"{path.name}: expected 2 or 3 values per {layout} joint, got {cols}")
    third: ThirdColumn | None = None
    if cols == 3:
        third = "z" if layout == "mediapipe33" else "confidence"
    meta = {"format": "npy"}
    if fps is None:
        fps = DEFAULT_FPS
        meta["fps_source"] = "assumed"
    seq = from_layout_array(arr, layout, fps=fps, third=third, name=path.name, meta=meta)
    return _check_sequence(seq, path.name)


def load_keypoints(path: str | Path, *, fps: float | None = None) -> PoseSequence:
    """Load any supported keypoint file as a PoseSequence (see the module docstring).

    fps: the frame rate of sources that do not state one (OpenPose JSON, .npy, CSV without
    time_s; 30 when None); .npz files carry their own and ignore it."""
    path = Path(path)
    if path.is_dir():
        return load_openpose_json_dir(path, fps=fps or DEFAULT_FPS)
    if not path.exists():
        raise KeypointFileError(f"{path.name}: expected a keypoint file, got no such file")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        seq = PoseSequence.from_npz_bytes(_read_bytes(path), name=path.name)
        if fps is not None and abs(fps - seq.fps) > 1e-6:
            log.info("%s: file states %.3f fps; ignoring fps=%.3f", path.name, seq.fps, fps)
        return _check_sequence(seq, path.name)
    if suffix == ".csv":
        return read_keypoint_csv(path, fps=fps)
    if suffix == ".zip":
        return load_openpose_json_dir(path, fps=fps or DEFAULT_FPS)
    if suffix == ".npy":
        return load_npy_keypoints(path, fps=fps)
    if suffix == ".json":
        raise KeypointFileError(
            f"{path.name}: expected a folder of OpenPose *_keypoints.json frames, got a single JSON file; "
            f"upload the whole folder as a .zip"
        )
    raise KeypointFileError(f"{path.name}: {_SUPPORTED}, got {suffix or 'no suffix'}")
