"""The one frozen keypoint schema: MediaPipe Pose's 33 landmarks.

Conventions, stated once for the whole package:
- image coordinates: x to the right, y down, in pixels of the (rotation-corrected) frame;
  z is MediaPipe's relative depth, scaled like x (pixels), and is the least reliable axis;
- angles are degrees in [0, 180]; 180 means a straight limb;
- time is seconds from the first frame;
- left/right are the performer's own sides (MediaPipe's convention), not the viewer's.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from types import MappingProxyType

import numpy as np

SCHEMA_VERSION = 1


class Landmark(IntEnum):
    """MediaPipe Pose landmark indices (0-based)."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


L = Landmark
N_LANDMARKS = len(Landmark)
LANDMARK_NAMES: tuple[str, ...] = tuple(lm.name.lower() for lm in Landmark)

Edges = tuple[tuple[Landmark, Landmark], ...]

#: Skeleton edges drawn and used for limb lengths (face detail omitted on purpose).
EDGES: Edges = (
    (L.LEFT_EAR, L.LEFT_EYE),
    (L.LEFT_EYE, L.NOSE),
    (L.NOSE, L.RIGHT_EYE),
    (L.RIGHT_EYE, L.RIGHT_EAR),
    (L.LEFT_SHOULDER, L.RIGHT_SHOULDER),
    (L.LEFT_SHOULDER, L.LEFT_ELBOW),
    (L.LEFT_ELBOW, L.LEFT_WRIST),
    (L.RIGHT_SHOULDER, L.RIGHT_ELBOW),
    (L.RIGHT_ELBOW, L.RIGHT_WRIST),
    (L.LEFT_WRIST, L.LEFT_INDEX),
    (L.RIGHT_WRIST, L.RIGHT_INDEX),
    (L.LEFT_SHOULDER, L.LEFT_HIP),
    (L.RIGHT_SHOULDER, L.RIGHT_HIP),
    (L.LEFT_HIP, L.RIGHT_HIP),
    (L.LEFT_HIP, L.LEFT_KNEE),
    (L.LEFT_KNEE, L.LEFT_ANKLE),
    (L.RIGHT_HIP, L.RIGHT_KNEE),
    (L.RIGHT_KNEE, L.RIGHT_ANKLE),
    (L.LEFT_ANKLE, L.LEFT_HEEL),
    (L.LEFT_HEEL, L.LEFT_FOOT_INDEX),
    (L.LEFT_ANKLE, L.LEFT_FOOT_INDEX),
    (L.RIGHT_ANKLE, L.RIGHT_HEEL),
    (L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX),
    (L.RIGHT_ANKLE, L.RIGHT_FOOT_INDEX),
)


def _build_mirror() -> Mapping[Landmark, Landmark]:
    out: dict[Landmark, Landmark] = {}
    for lm in Landmark:
        name = lm.name
        if name.startswith("LEFT_"):
            out[lm] = Landmark["RIGHT_" + name[5:]]
        elif name.startswith("RIGHT_"):
            out[lm] = Landmark["LEFT_" + name[6:]]
        elif name == "MOUTH_LEFT":
            out[lm] = L.MOUTH_RIGHT
        elif name == "MOUTH_RIGHT":
            out[lm] = L.MOUTH_LEFT
        else:
            out[lm] = lm
    return MappingProxyType(out)


#: Read-only left<->right map (self for the nose).
MIRROR: Mapping[Landmark, Landmark] = _build_mirror()
#: The same as an index array: ``xyz[:, MIRROR_INDEX]`` swaps sides.
MIRROR_INDEX: np.ndarray = np.array([MIRROR[lm] for lm in Landmark], dtype=np.intp)
MIRROR_INDEX.setflags(write=False)

#: Body-part groups used by deviations and feedback. Every landmark belongs to exactly one.
BODY_PARTS: Mapping[str, tuple[Landmark, ...]] = MappingProxyType(
    {
        "head": (
            L.NOSE, L.LEFT_EYE_INNER, L.LEFT_EYE, L.LEFT_EYE_OUTER, L.RIGHT_EYE_INNER,
            L.RIGHT_EYE, L.RIGHT_EYE_OUTER, L.LEFT_EAR, L.RIGHT_EAR, L.MOUTH_LEFT, L.MOUTH_RIGHT,
        ),
        "left_arm": (L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST),
        "right_arm": (L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST),
        "left_hand": (L.LEFT_PINKY, L.LEFT_INDEX, L.LEFT_THUMB),
        "right_hand": (L.RIGHT_PINKY, L.RIGHT_INDEX, L.RIGHT_THUMB),
        "hips": (L.LEFT_HIP, L.RIGHT_HIP),
        "left_leg": (L.LEFT_KNEE, L.LEFT_ANKLE),
        "right_leg": (L.RIGHT_KNEE, L.RIGHT_ANKLE),
        "left_foot": (L.LEFT_HEEL, L.LEFT_FOOT_INDEX),
        "right_foot": (L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX),
    }
)
PART_OF: Mapping[Landmark, str] = MappingProxyType(
    {lm: part for part, lms in BODY_PARTS.items() for lm in lms}
)

#: Landmarks that carry the movement (hands/feet detail and face left out). Used for DTW/cosine.
CORE_LANDMARKS: tuple[Landmark, ...] = (
    L.NOSE,
    L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_ELBOW, L.RIGHT_ELBOW, L.LEFT_WRIST, L.RIGHT_WRIST,
    L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE,
    L.LEFT_HEEL, L.RIGHT_HEEL, L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX,
)

# --- Other keypoint layouts, mapped to ours (None = no counterpart) -------------------------

#: COCO-17 order (PoseNet, MoveNet, YOLO-pose).
COCO17_TO_MP: tuple[Landmark, ...] = (
    L.NOSE, L.LEFT_EYE, L.RIGHT_EYE, L.LEFT_EAR, L.RIGHT_EAR,
    L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_ELBOW, L.RIGHT_ELBOW, L.LEFT_WRIST, L.RIGHT_WRIST,
    L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE,
)

#: OpenPose COCO-18 order; index 1 ("neck") has no MediaPipe landmark (mid-shoulder).
OPENPOSE18_TO_MP: tuple[Landmark | None, ...] = (
    L.NOSE, None, L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST,
    L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST, L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE,
    L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE, L.RIGHT_EYE, L.LEFT_EYE, L.RIGHT_EAR, L.LEFT_EAR,
)

#: OpenPose BODY-25 order (neck 1 and mid-hip 8 have no landmark of their own).
BODY25_TO_MP: tuple[Landmark | None, ...] = (
    L.NOSE, None, L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST,
    L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST, None, L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE,
    L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE, L.RIGHT_EYE, L.LEFT_EYE, L.RIGHT_EAR, L.LEFT_EAR,
    L.LEFT_FOOT_INDEX, None, L.LEFT_HEEL, L.RIGHT_FOOT_INDEX, None, L.RIGHT_HEEL,
)

#: Penn Action 13 joints.
PENN13_TO_MP: tuple[Landmark, ...] = (
    L.NOSE, L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_ELBOW, L.RIGHT_ELBOW,
    L.LEFT_WRIST, L.RIGHT_WRIST, L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_KNEE, L.RIGHT_KNEE,
    L.LEFT_ANKLE, L.RIGHT_ANKLE,
)

LAYOUTS: Mapping[str, tuple[Landmark | None, ...]] = MappingProxyType(
    {
        "coco17": COCO17_TO_MP,
        "openpose18": OPENPOSE18_TO_MP,
        "body25": BODY25_TO_MP,
        "penn13": PENN13_TO_MP,
    }
)


def mp_to_layout(layout: str) -> np.ndarray:
    """Index array: for each joint of ``layout``, our landmark index (-1 where none)."""
    if layout not in LAYOUTS:
        raise ValueError(f"expected a layout in {sorted(LAYOUTS)}, got {layout!r}")
    return np.array([-1 if lm is None else int(lm) for lm in LAYOUTS[layout]], dtype=np.intp)
