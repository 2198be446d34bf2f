"""BlazePose full on OpenVINO: MediaPipe 0.10.21's CPU pose graph (`mp.solutions.pose.Pose`,
model_complexity=1) written again in numpy + OpenCV around the two model files the mediapipe
wheel ships, so it gives (nearly) MediaPipe's landmarks at about half the cost a frame.

One frame (`BlazePoseGraph.process`), each step the MediaPipe calculator named in brackets:

1. ROI: the previous frame's, from its two auxiliary landmarks; without one, a detection
   (`_detect`): the frame letterboxed into 224² in [-1, 1] [ImageToTensor, BORDER_ZERO], the
   detector, boxes decoded on 2254 SSD anchors [SsdAnchors, TensorsToDetections], scores above
   min_detection_confidence, the best box's weighted-NMS cluster [NonMaxSuppression WEIGHTED,
   IoU > 0.3], letterbox removed; its hip-centre and full-body keypoints give a rotated square
   [AlignmentPointsRects] grown 1.25x [RectTransformation].
2. The ROI cropped (rotated, bilinear, edges replicated) into 256² in [0, 1] [ImageToTensor]; the
   landmark model (its segmentation and world-landmark heads pruned: unused here, a third of its cost).
3. Pose presence above min_tracking_confidence, else no person and tracking stops
   [ThresholdingCalculator]. The 39 landmarks decoded, visibility through a sigmoid
   [TensorsToLandmarks], x, y refined on the heatmap's 9x9 window [RefineLandmarksFromHeatmap],
   projected back to the frame [LandmarkLetterboxRemoval, LandmarkProjection].
4. Smoothing (video mode): visibility low-pass [VisibilitySmoothing]; x, y, z through one-euro
   filters in pixels, the velocity scaled by the size of the raw auxiliary landmarks' ROI
   [LandmarksSmoothing]; timestamps step 33333 µs a call, as `mp.solutions` simulates 30 fps.
5. The next ROI from the two auxiliary landmarks (smoothed harder) [PoseLandmarksToRoi].

Each step reproduces MediaPipe's to float rounding when fed the same input (checked against its
intermediate streams). What remains: OpenVINO's float32 kernels are not XNNPACK's (~1e-4 px in
the crop); the tracking loop (ROI -> landmarks -> ROI) amplifies such differences, as it does
MediaPipe's own for invisible input noise, so on hard clips the two drift apart by a few percent
of the torso and a presence score near the threshold can fall the other way. Not computed: the
segmentation mask, world landmarks, presence of each landmark.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

#: The mediapipe release whose graph this follows and whose model files it loads.
MEDIAPIPE_VERSION = "0.10.21"
LANDMARK_MODEL = "modules/pose_landmark/pose_landmark_full.tflite"
DETECTION_MODEL = "modules/pose_detection/pose_detection.tflite"

N_LANDMARKS = 33  # pose landmarks returned
N_MODEL_LANDMARKS = 39  # the model's: 33 pose, 2 auxiliary (next ROI), 4 unused
AUX = slice(33, 35)  # auxiliary landmarks: hip centre and a point setting the body's size and tilt
LANDMARK_VALUES = 5  # per model landmark: x, y, z (256-px crop units), visibility, presence logits
LANDMARK_INPUT = 256  # px, side of the landmark model's square input
HEATMAP_SIDE = 64  # cells, side of the landmark model's heatmap
#: cells, side of the refinement window: the graph config says 7, but 0.10.21's binary refines
#: over 9 (the option's default); only 9 reproduces its landmarks (measured)
HEATMAP_KERNEL = 9
HEATMAP_MIN_CONFIDENCE = 0.5  # refine only where the window's peak is this sure (proto default)
LANDMARK_OUTPUTS = ("Identity", "Identity_1", "Identity_3")  # landmarks, pose presence, heatmap

DETECTION_INPUT = 224  # px, side of the detector's square input
DETECTION_STRIDES = (8, 16, 32, 32, 32)  # px per anchor cell of the 5 SSD layers
ANCHORS_PER_CELL = 2  # aspect ratio 1 plus the interpolated-scale anchor (proto default 1.0)
N_ANCHORS = 2254
DETECTION_KEYPOINTS = 4  # hip centre, full-body size/tilt point, shoulder centre, upper-body point
SCORE_CLIP = 100.0  # logit clip before the sigmoid (graph option score_clipping_thresh)
NMS_IOU = 0.3  # boxes overlapping the best one more than this are averaged into it

ROI_SCALE = 1.25  # ROI side over twice the centre-to-scale-point distance (both ROI graphs)
ROI_TARGET_ANGLE = math.pi / 2  # rad: the centre-to-scale-point vector points up in the crop

FRAME_STEP_US = 33333  # µs: mp.solutions' timestamp step a process() call, whatever the frame rate
VISIBILITY_ALPHA = 0.1  # low-pass weight of the new visibility
#: One-euro filters (min_cutoff Hz, beta, derivative cutoff Hz) of the pose graph embedded in
#: mediapipe 0.10.21's binary (the .pbtxt files on GitHub are older: 0.1/40, 1.5x ROIs): the 33
#: landmarks, and the 2 auxiliary ones, smoothed harder to keep the crop steady.
LANDMARK_FILTER = (0.05, 80.0, 1.0)
AUX_FILTER = (0.01, 10.0, 1.0)
MIN_OBJECT_SCALE = 1e-6  # px: below it the one-euro filter passes values through (proto default)

#: One thread a process (the project runs one pose worker per core), not pinned (two workers could
#: land on one core); float32 as XNNPACK computes: bf16 on AMX takes 5.5 instead of 10 ms a frame
#: but moves each frame's landmarks by ~0.7 % of the torso (median, p95 2-8 %; float32: ~0.01 %).
#: Denormals are not flushed: it saved 0.5 ms a frame but sets the calling thread's FTZ/DAZ flags,
#: which then change every numpy computation of the process (numpy warns about it).
OV_CONFIG = MappingProxyType({
    "INFERENCE_NUM_THREADS": 1, "PERFORMANCE_HINT": "LATENCY", "ENABLE_CPU_PINNING": False,
    "INFERENCE_PRECISION_HINT": "f32",
})

log = logging.getLogger(__name__)

_compiled: dict[str, Any] = {}  # model file -> compiled model, shared by the graphs of a process

#: Compiled models kept between processes, under the data folder: a new pose worker (each CLI run
#: starts two) readies both models in ~0.15 s instead of ~0.65 s. OpenVINO checks each entry and
#: compiles again over a damaged one.
MODEL_CACHE_DIR = "openvino-cache"


def mediapipe_dir() -> Path:
    """The installed mediapipe package's folder, found without importing it (~1 s)."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"expected the mediapipe=={MEDIAPIPE_VERSION} package (it ships the pose "
                                "models), got none installed")
    return Path(next(iter(spec.submodule_search_locations)))


def model_path(relative: str) -> Path:
    """A model file shipped in the mediapipe wheel."""
    path = mediapipe_dir() / relative
    if not path.is_file():
        raise FileNotFoundError(f"expected MediaPipe's model file at {path} "
                                f"(mediapipe=={MEDIAPIPE_VERSION}), got no such file")
    return path


def _compiled_model(relative: str, outputs: tuple[str, ...] | None = None):
    """The model compiled once per process; outputs: keep only these, so OpenVINO drops the
    layers that feed nothing else."""
    if relative not in _compiled:
        import openvino as ov

        core = ov.Core()
        model = core.read_model(str(model_path(relative)))
        if outputs is not None:
            kept = [o for o in model.outputs if o.get_any_name() in outputs]
            if [o.get_any_name() for o in kept] != list(outputs):
                raise RuntimeError(f"expected outputs {outputs} in {relative}, "
                                   f"got {[o.get_any_name() for o in model.outputs]}")
            model = ov.Model(kept, model.get_parameters(), model.get_friendly_name())
        cache = _model_cache_dir()
        try:
            _compiled[relative] = core.compile_model(model, "CPU", {**OV_CONFIG, **({"CACHE_DIR": cache} if cache else {})})
        except RuntimeError as exc:
            if cache is None:
                raise
            # two new workers writing the same cache entry at once can fail ("cannot set permissions:
            # No such file", 2 of 12 trials of three processes): the cache only saves start-up time
            log.info("compiling %s without the model cache (%s)", relative, str(exc).splitlines()[-1][:200])
            _compiled[relative] = ov.Core().compile_model(model, "CPU", dict(OV_CONFIG))
    return _compiled[relative]


def _model_cache_dir() -> str | None:
    """The folder for OpenVINO's compiled-model cache, or None when it cannot be made (a read-only
    data folder only costs start-up time)."""
    from coach.paths import data_home

    path = data_home() / MODEL_CACHE_DIR
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return str(path) if os.access(path, os.W_OK) else None


def _request(relative: str, inputs: np.ndarray, outputs: tuple[str, ...] | None = None):
    """An infer request of the shared compiled model that reads its input from `inputs` in place."""
    import openvino as ov

    request = _compiled_model(relative, outputs).create_infer_request()
    request.set_input_tensor(ov.Tensor(inputs, shared_memory=True))
    return request


@functools.cache
def _anchors() -> np.ndarray:
    """(2254, 2) anchor centres (x, y) in [0, 1] of the detector input, in the model's order:
    layer by layer (the three stride-32 layers merged), row, column, anchor."""
    centres = []
    layer = 0
    while layer < len(DETECTION_STRIDES):
        stride = DETECTION_STRIDES[layer]
        same = DETECTION_STRIDES[layer:].count(stride)  # the equal strides are consecutive
        cells = math.ceil(DETECTION_INPUT / stride)
        grid = (np.arange(cells) + 0.5) / cells  # anchor_offset 0.5: cell centres
        ys, xs = np.meshgrid(grid, grid, indexing="ij")
        centres.append(np.repeat(np.stack([xs.ravel(), ys.ravel()], axis=1), ANCHORS_PER_CELL * same, axis=0))
        layer += same
    anchors = np.concatenate(centres).astype(np.float32)
    if len(anchors) != N_ANCHORS:
        raise RuntimeError(f"expected {N_ANCHORS} SSD anchors, got {len(anchors)}")
    anchors.flags.writeable = False  # shared by every graph
    return anchors


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp(-x) overflows to inf for x << 0: the sigmoid is then 0
        return 1.0 / (1.0 + np.exp(-x))


def _normalize_radians(angle: float) -> float:
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


@dataclass(frozen=True)
class Roi:
    """A rotated rectangle: centre and size as fractions of the frame's width and height,
    rotation in radians (clockwise on screen), as MediaPipe's NormalizedRect."""

    x: float
    y: float
    width: float
    height: float
    rotation: float

    @classmethod
    def from_points(cls, centre: np.ndarray, scale: np.ndarray, w: int, h: int) -> Roi:
        """The ROI MediaPipe builds from two alignment points (normalised x, y): the square of
        `_alignment`, grown by ROI_SCALE (its long side: the square stays square)."""
        x, y, side, rotation = _alignment(centre, scale, w, h)
        side *= ROI_SCALE
        return cls(x / w, y / h, side / w, side / h, rotation)


def _alignment(centre: np.ndarray, scale: np.ndarray, w: int, h: int) -> tuple[float, float, float, float]:
    """(x, y, side, rotation) of MediaPipe's alignment-points square, pixels and radians: centred on
    `centre`, side twice |scale - centre|, turned so that centre -> scale points up."""
    x0, y0 = float(centre[0]) * w, float(centre[1]) * h
    x1, y1 = float(scale[0]) * w, float(scale[1]) * h
    side = 2.0 * math.hypot(x1 - x0, y1 - y0)
    return x0, y0, side, _normalize_radians(ROI_TARGET_ANGLE - math.atan2(-(y1 - y0), x1 - x0))


def _crop(rgb: np.ndarray, roi_px: tuple[float, ...], side: int, border: int) -> np.ndarray:
    """(side, side, 3) uint8: the rotated rectangle (centre x, y, width, height in pixels, rotation
    in radians) warped onto the square, bilinear, as MediaPipe's OpenCV ImageToTensor converter
    (the same corner correspondence, so the same sub-pixel sampling)."""
    import cv2

    cx, cy, w, h, rot = roi_px
    src = cv2.boxPoints(((cx, cy), (w, h), rot * 180.0 / math.pi))
    dst = np.array([[0, side], [0, 0], [side, 0], [side, side]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(src.astype(np.float32), dst)
    return cv2.warpPerspective(rgb, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=border)


def _pad_roi(w: float, h: float) -> tuple[float, float, float, float]:
    """The ROI widened to the square input's aspect (keep_aspect_ratio): (width, height,
    horizontal padding, vertical padding), paddings as fractions of the input side."""
    aspect = h / w
    if aspect < 1.0:
        return w, w, 0.0, (1.0 - aspect) / 2.0
    return h, h, (1.0 - 1.0 / aspect) / 2.0, 0.0


class _LowPass:
    """MediaPipe's LowPassFilter, element-wise; state kept in float32 as its floats."""

    def __init__(self) -> None:
        self.raw: np.ndarray | None = None
        self.value: np.ndarray | None = None

    def reset(self) -> None:
        self.raw = self.value = None

    def apply(self, x: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if self.value is None:
            out = x.copy()
        else:
            a = np.asarray(alpha, dtype=np.float32).astype(np.float64)
            out = (a * x + (1.0 - a) * self.value).astype(np.float32)
        self.raw, self.value = x, out
        return out


class _OneEuro:
    """MediaPipe's OneEuroFilter over an array of values sharing timestamps and value scale."""

    def __init__(self, min_cutoff: float, beta: float, derivative_cutoff: float) -> None:
        self.min_cutoff, self.beta, self.derivative_cutoff = min_cutoff, beta, derivative_cutoff
        self._x, self._dx = _LowPass(), _LowPass()
        self._last_us: int | None = None

    def reset(self) -> None:
        self._x.reset()
        self._dx.reset()
        self._last_us = None

    @staticmethod
    def _alpha(cutoff: np.ndarray | float, frequency: float) -> np.ndarray:
        tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff, dtype=np.float64))
        return 1.0 / (1.0 + tau * frequency)

    def apply(self, t_us: int, value_scale: float, x: np.ndarray) -> np.ndarray:
        if self._last_us is not None and t_us <= self._last_us:
            return np.asarray(x, dtype=np.float32)  # MediaPipe passes such values through
        if self._last_us is None:  # first value: passed through, derivative starts at 0
            self._last_us = t_us
            self._dx.apply(np.zeros_like(x, dtype=np.float32), 1.0)
            return self._x.apply(x, 1.0)
        frequency = 1e6 / (t_us - self._last_us)
        self._last_us = t_us
        dx = (np.asarray(x, dtype=np.float64) - self._x.raw) * value_scale * frequency
        edx = self._dx.apply(dx, self._alpha(self.derivative_cutoff, frequency))
        cutoff = self.min_cutoff + self.beta * np.abs(edx.astype(np.float64))
        return self._x.apply(x, self._alpha(cutoff, frequency))


def _smooth(f: _OneEuro, t_us: int, object_scale: float, values: np.ndarray) -> np.ndarray:
    """One-euro smoothing with velocities per object size; values pass as they are (and the filter
    keeps its state) when the object is too small to measure, as MediaPipe."""
    if object_scale < MIN_OBJECT_SCALE:
        return values
    return f.apply(t_us, 1.0 / object_scale, values)


class BlazePoseGraph:
    """MediaPipe Pose (full model) with MediaPipe's tracking and smoothing, on OpenVINO."""

    name = "blazepose-full-openvino"

    def __init__(self, *, static_image_mode: bool = False, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, smooth_landmarks: bool = True) -> None:
        import cv2

        self.static_image_mode = static_image_mode
        self.min_detection_confidence = float(min_detection_confidence)
        self.min_tracking_confidence = float(min_tracking_confidence)
        self.smooth_landmarks = smooth_landmarks and not static_image_mode  # as mp.solutions
        self._replicate, self._zero = cv2.BORDER_REPLICATE, cv2.BORDER_CONSTANT
        self._landmark_input = np.empty((1, LANDMARK_INPUT, LANDMARK_INPUT, 3), dtype=np.float32)
        self._landmark_request = _request(LANDMARK_MODEL, self._landmark_input, LANDMARK_OUTPUTS)
        self._detection_input = np.empty((1, DETECTION_INPUT, DETECTION_INPUT, 3), dtype=np.float32)
        self._detection_request = None  # made on the first detection
        self._t_us = 0  # mp.solutions' simulated clock; reset() does not rewind it either
        self._visibility = _LowPass()
        self._landmark_filter = _OneEuro(*LANDMARK_FILTER)
        self._aux_filter = _OneEuro(*AUX_FILTER)
        self._roi: Roi | None = None  # from the last frame's landmarks: where to look next

    # --- public ----------------------------------------------------------------------------

    def process(self, rgb: np.ndarray) -> np.ndarray | None:
        """rgb (H, W, 3) uint8. Returns (33, 4) float32: x / width, y / height, z (MediaPipe's
        normalised z, same scale as x), visibility in [0, 1] — the same values as mediapipe's
        results.pose_landmarks — or None when no person is found."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
        if self._landmark_request is None:
            raise RuntimeError("expected an open BlazePoseGraph, got one closed")
        rgb = np.ascontiguousarray(rgb)
        self._t_us += FRAME_STEP_US
        roi = None if self.static_image_mode else self._roi
        self._roi = None
        if roi is None:
            roi = self._detect(rgb)
        found = None if roi is None else self._landmarks(rgb, roi)
        if found is None:
            # no landmarks at this timestamp: the coordinate filters restart; the visibility
            # low-pass does not (MediaPipe runs it only on frames with landmarks)
            self._landmark_filter.reset()
            self._aux_filter.reset()
            return None
        pose, aux = found
        h, w = rgb.shape[:2]
        size = np.array([w, h, w], dtype=np.float32)  # the filters work in pixels, z scaled as x
        # velocities are relative to the body's size: the side of the raw auxiliary landmarks'
        # square (MediaPipe's OBJECT_SCALE_ROI, width and height averaged)
        object_scale = _alignment(aux[0], aux[1], w, h)[2]
        if not self.static_image_mode:
            aux_xyz = _smooth(self._aux_filter, self._t_us, object_scale, aux[:, :3] * size) / size
            self._roi = Roi.from_points(aux_xyz[0], aux_xyz[1], w, h)
        out = pose[:, :4].copy()
        if self.smooth_landmarks:
            out[:, 3] = self._visibility.apply(pose[:, 3], VISIBILITY_ALPHA)
            out[:, :3] = _smooth(self._landmark_filter, self._t_us, object_scale, pose[:, :3] * size) / size
        return out

    def reset(self) -> None:
        """Forget tracking and filters, as mediapipe's Pose.reset() (which restarts its graph)."""
        self._roi = None
        self._visibility.reset()
        self._landmark_filter.reset()
        self._aux_filter.reset()

    def close(self) -> None:
        self._landmark_request = self._detection_request = None
        self._roi = None

    def __enter__(self) -> BlazePoseGraph:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- detection ---------------------------------------------------------------------------

    def _detect(self, rgb: np.ndarray) -> Roi | None:
        """The ROI of the most confident person detection, or None below min_detection_confidence."""
        h, w = rgb.shape[:2]
        side, _, pad_x, pad_y = _pad_roi(float(w), float(h))
        img = _crop(rgb, (w / 2.0, h / 2.0, side, side, 0.0), DETECTION_INPUT, self._zero)
        np.multiply(img, np.float32(2.0 / 255.0), out=self._detection_input[0])  # [-1, 1]
        self._detection_input -= np.float32(1.0)
        if self._detection_request is None:
            self._detection_request = _request(DETECTION_MODEL, self._detection_input)
        req = self._detection_request
        req.infer()
        raw = req.get_output_tensor(0).data[0]  # (2254, 12): box x, y, w, h, 4 keypoints x, y (px)
        logits = req.get_output_tensor(1).data[0, :, 0]
        scores = _sigmoid(np.clip(logits.astype(np.float64), -SCORE_CLIP, SCORE_CLIP))
        anchors = _anchors()
        ok = scores >= self.min_detection_confidence
        ok &= (raw[:, 2] >= 0) & (raw[:, 3] >= 0)  # MediaPipe drops boxes of negative size
        if not ok.any():
            return None
        idx = np.flatnonzero(ok)
        raw, scores, anchors = raw[idx], scores[idx], anchors[idx]
        centre = raw[:, 0:2] / DETECTION_INPUT + anchors
        half = raw[:, 2:4] / DETECTION_INPUT / 2.0
        boxes = np.concatenate([centre - half, centre + half], axis=1)  # xmin, ymin, xmax, ymax
        keypoints = raw[:, 4:4 + 2 * DETECTION_KEYPOINTS].reshape(-1, DETECTION_KEYPOINTS, 2)
        keypoints = keypoints / DETECTION_INPUT + anchors[:, None, :]
        # weighted NMS: only its first detection (the best score's cluster) is used downstream
        best = int(np.argmax(scores))
        iou = _iou(boxes, boxes[best])
        members = iou > NMS_IOU
        if members.any():
            weight = scores[members].astype(np.float64)
            kp = (keypoints[members] * weight[:, None, None]).sum(axis=0) / weight.sum()
        else:
            kp = keypoints[best].astype(np.float64)
        # letterbox removal: from the padded square back to the frame
        kp = (kp - np.array([pad_x, pad_y])) / (1.0 - 2.0 * np.array([pad_x, pad_y]))
        return Roi.from_points(kp[0], kp[1], w, h)

    # --- landmarks ---------------------------------------------------------------------------

    def _landmarks(self, rgb: np.ndarray, roi: Roi) -> tuple[np.ndarray, np.ndarray] | None:
        """(33, 5) pose and (2, 5) auxiliary landmarks (x, y normalised to the frame, z as x,
        visibility, presence) in the ROI, or None when the model says no pose is there."""
        h, w = rgb.shape[:2]
        if not (roi.width > 0 and roi.height > 0):
            return None
        side_w, side_h, pad_x, pad_y = _pad_roi(roi.width * w, roi.height * h)
        roi_px = (roi.x * w, roi.y * h, side_w, side_h, roi.rotation)
        img = _crop(rgb, roi_px, LANDMARK_INPUT, self._replicate)
        np.multiply(img, np.float32(1.0 / 255.0), out=self._landmark_input[0])  # [0, 1]
        req = self._landmark_request
        req.infer()
        presence = float(req.get_output_tensor(1).data.reshape(-1)[0])
        if not presence > self.min_tracking_confidence:
            return None
        raw = req.get_output_tensor(0).data.reshape(N_MODEL_LANDMARKS, LANDMARK_VALUES)
        lm = np.empty((N_MODEL_LANDMARKS, 5), dtype=np.float32)
        lm[:, :3] = raw[:, :3] / np.float32(LANDMARK_INPUT)
        lm[:, 3:] = _sigmoid(raw[:, 3:])  # visibility, presence
        _refine_on_heatmap(lm, req.get_output_tensor(2).data[0])
        # letterbox removal, then from the crop's unit square to the frame (rotation about the
        # ROI centre); z keeps the crop's scale, times the ROI width as x
        x = (lm[:, 0] - pad_x) / (1.0 - 2.0 * pad_x) - 0.5
        y = (lm[:, 1] - pad_y) / (1.0 - 2.0 * pad_y) - 0.5
        cos, sin = math.cos(roi.rotation), math.sin(roi.rotation)
        lm[:, 0] = (cos * x - sin * y) * roi.width + roi.x
        lm[:, 1] = (sin * x + cos * y) * roi.height + roi.y
        lm[:, 2] *= roi.width
        return lm[:N_LANDMARKS], lm[AUX]


def _iou(boxes: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Intersection over union of each (xmin, ymin, xmax, ymax) box with one box; 0 without
    overlap or area."""
    lo = np.maximum(boxes[:, :2], box[:2])
    hi = np.minimum(boxes[:, 2:], box[2:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=1)
    area = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    union = area + np.prod(box[2:] - box[:2]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


_HALF_KERNEL = (HEATMAP_KERNEL - 1) // 2
_KERNEL_OFFSETS = np.arange(-_HALF_KERNEL, _HALF_KERNEL + 1)


def _refine_on_heatmap(lm: np.ndarray, heatmap: np.ndarray) -> None:
    """Replaces x, y (in the crop's unit square) of lm (39, >=2) with the sigmoid-weighted mean
    cell of the heatmap (64, 64, 39 logits) in the 9x9 window around each landmark, where the
    window's peak is at least HEATMAP_MIN_CONFIDENCE; as MediaPipe, landmarks off the heatmap are
    left alone, cells outside it weigh nothing, and the mean uses cell indices (not centres)."""
    n = lm.shape[0]
    col = (lm[:, 0] * np.float32(HEATMAP_SIDE)).astype(np.int64)  # C++ float -> int truncates
    row = (lm[:, 1] * np.float32(HEATMAP_SIDE)).astype(np.int64)
    usable = (col >= 0) & (col < HEATMAP_SIDE) & (row >= 0) & (row < HEATMAP_SIDE)
    rows = row[:, None] + _KERNEL_OFFSETS  # (n, 9)
    cols = col[:, None] + _KERNEL_OFFSETS
    row_in, col_in = (rows >= 0) & (rows < HEATMAP_SIDE), (cols >= 0) & (cols < HEATMAP_SIDE)
    inside = row_in[:, :, None] & col_in[:, None, :]
    r = np.clip(rows, 0, HEATMAP_SIDE - 1)[:, :, None]
    c = np.clip(cols, 0, HEATMAP_SIDE - 1)[:, None, :]
    logits = heatmap[r, c, np.arange(n)[:, None, None]]  # (n, 9, 9)
    conf = np.where(inside, _sigmoid(logits), np.float32(0.0))
    total = conf.sum(axis=(1, 2))
    peak = conf.max(axis=(1, 2))
    refine = usable & (peak >= HEATMAP_MIN_CONFIDENCE) & (total > 0)
    if refine.any():
        wc = (conf * cols[:, None, :]).sum(axis=(1, 2))
        wr = (conf * rows[:, :, None]).sum(axis=(1, 2))
        safe = np.where(refine, total, np.float32(1.0))
        lm[:, 0] = np.where(refine, wc / HEATMAP_SIDE / safe, lm[:, 0])
        lm[:, 1] = np.where(refine, wr / HEATMAP_SIDE / safe, lm[:, 1])
