"""What the annotated video shows: per-frame joint severity, the reference ghost scaled to the
user's own limb lengths and time-aligned by the DTW path, and a caption line."""

from __future__ import annotations

import numpy as np

from coach.analysis import Analysis
from coach.compare import ANGLE_PART
from coach.kinematics import ANGLE_BY_NAME
from coach.normalize import MID_HIP, body_frame, midpoint, mirror, robust_scale_px
from coach.schema import BODY_PARTS, N_LANDMARKS, L, Landmark

# Skeleton tree for retargeting: child -> parent (the root is the mid-hip, handled apart).
_PARENT: dict[Landmark, Landmark | None] = {
    L.LEFT_HIP: None, L.RIGHT_HIP: None,
    L.LEFT_SHOULDER: L.LEFT_HIP, L.RIGHT_SHOULDER: L.RIGHT_HIP,
    L.LEFT_ELBOW: L.LEFT_SHOULDER, L.RIGHT_ELBOW: L.RIGHT_SHOULDER,
    L.LEFT_WRIST: L.LEFT_ELBOW, L.RIGHT_WRIST: L.RIGHT_ELBOW,
    L.LEFT_INDEX: L.LEFT_WRIST, L.RIGHT_INDEX: L.RIGHT_WRIST,
    L.LEFT_PINKY: L.LEFT_WRIST, L.RIGHT_PINKY: L.RIGHT_WRIST,
    L.LEFT_THUMB: L.LEFT_WRIST, L.RIGHT_THUMB: L.RIGHT_WRIST,
    L.LEFT_KNEE: L.LEFT_HIP, L.RIGHT_KNEE: L.RIGHT_HIP,
    L.LEFT_ANKLE: L.LEFT_KNEE, L.RIGHT_ANKLE: L.RIGHT_KNEE,
    L.LEFT_HEEL: L.LEFT_ANKLE, L.RIGHT_HEEL: L.RIGHT_ANKLE,
    L.LEFT_FOOT_INDEX: L.LEFT_ANKLE, L.RIGHT_FOOT_INDEX: L.RIGHT_ANKLE,
}
_HEAD = tuple(BODY_PARTS["head"])
_ORDER = [lm for lm in _PARENT if _PARENT[lm] is None] + [lm for lm in _PARENT if _PARENT[lm] is not None]


def _segment_lengths(xy_body: np.ndarray) -> dict[Landmark, float]:
    """Robust (90th percentile) 2-D length of each tree segment, torso lengths."""
    out = {}
    for child, parent in _PARENT.items():
        if parent is None:
            d = np.linalg.norm(xy_body[:, child], axis=-1)  # hip from the mid-hip
        else:
            d = np.linalg.norm(xy_body[:, child] - xy_body[:, parent], axis=-1)
        d = d[np.isfinite(d)]
        out[child] = float(np.percentile(d, 90)) if d.size else float("nan")
    return out


def retarget(ref_pose: np.ndarray, ref_len: dict[Landmark, float], user_len: dict[Landmark, float]) -> np.ndarray:
    """Keep the reference's segment directions, use the user's segment lengths (33, 2)."""
    out = np.full((N_LANDMARKS, 2), np.nan)
    for lm in _ORDER:
        parent = _PARENT[lm]
        base = np.zeros(2) if parent is None else out[parent]
        vec = ref_pose[lm] - (np.zeros(2) if parent is None else ref_pose[parent])
        n = np.linalg.norm(vec)
        ul = user_len.get(lm, np.nan)
        if not np.isfinite(ul):
            ul = ref_len.get(lm, n)
        if np.isfinite(n) and n > 1e-9 and np.all(np.isfinite(base)):
            out[lm] = base + vec / n * ul
    # the head rides on the mid-shoulder
    sh_ref = (ref_pose[L.LEFT_SHOULDER] + ref_pose[L.RIGHT_SHOULDER]) / 2
    sh_out = (out[L.LEFT_SHOULDER] + out[L.RIGHT_SHOULDER]) / 2
    for lm in _HEAD:
        out[lm] = sh_out + (ref_pose[lm] - sh_ref)
    return out


def overlay_tracks(a: Analysis) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Per original user frame: severity (T, 33) (NaN = not judged), ghost (T, 33, 2) pixels, captions."""
    comp = a.comparison
    t = a.poses.n_frames
    an_of_frame = np.clip(np.searchsorted(comp.user_frames, np.arange(t), side="right") - 1, 0, len(comp.user_frames) - 1)

    sev = np.full((t, N_LANDMARKS), np.nan)
    for k, name in enumerate(comp.angle_names):
        if name not in comp.judged_angles:
            continue
        if name == "trunk_lean":
            lms = [L.LEFT_SHOULDER, L.RIGHT_SHOULDER]
        else:
            ja = ANGLE_BY_NAME[name]
            lms = [ja.vertex]
            if comp.mirrored:  # the comparison's "left" is the user's right
                from coach.schema import MIRROR

                lms = [MIRROR[lm] for lm in lms]
        z = comp.angle_z[an_of_frame, k]
        for lm in lms:
            sev[:, lm] = np.fmax(sev[:, lm], z)
    sev[~a.poses.mask] = np.nan  # hidden joints are drawn grey, never scored

    ref_xy = a.reference_poses.xy
    rb = body_frame(ref_xy)
    ub = body_frame(a.poses.xy)
    if comp.mirrored:
        rb = mirror(rb)
    ref_len = _segment_lengths(rb)
    user_len = _segment_lengths(ub)
    scale = robust_scale_px(a.poses.xy)
    centre = midpoint(np.asarray(a.poses.xy, dtype=np.float64), MID_HIP)
    tt = np.arange(t)
    for c in range(2):
        ok = np.isfinite(centre[:, c])
        if ok.any() and not ok.all():
            centre[:, c] = np.interp(tt, tt[ok], centre[ok, c])
    ghost = np.full((t, N_LANDMARKS, 2), np.nan)
    ref_frames = comp.ref_frames[an_of_frame]
    # the ghost follows the person: none over a title card or while they are out of view (the
    # hip centre above is only carried across frames where other joints are seen)
    person = np.isfinite(np.asarray(a.poses.xy)[..., 0]).any(axis=1)
    for f in np.flatnonzero(person):
        pose = retarget(rb[ref_frames[f]], ref_len, user_len)
        ghost[f] = centre[f] + pose * scale

    # the reps counted (the video motion's where it replaced the pose's count), by time
    rep_at = np.zeros(t, dtype=int)
    ts = np.asarray(a.poses.timestamps_s)[:t]
    for rep in (a.flow_reps or a.reps).reps:
        rep_at[(ts >= rep.start_s) & (ts <= rep.end_s)] = rep.index
    captions = []
    for f in range(t):
        s = comp.similarity[an_of_frame[f]]
        sim = f"similarity {s:.2f}" if np.isfinite(s) else "similarity -"
        rep = f"rep {rep_at[f]}/{a.rep_count}" if rep_at[f] else f"reps {a.rep_count}"
        captions.append(f"{rep}  {sim}")
    return sev, ghost, captions


def write_annotated_video(a: Analysis, out_path, *, video_path=None, progress=None) -> None:
    """H.264 clip: the user's video (or a dark canvas for keypoint input) with skeleton,
    deviating joints and the reference ghost."""
    from coach import render

    sev, ghost, captions = overlay_tracks(a)
    uneven = bool(a.poses.meta.get("even_clock_added_frames"))
    if video_path is not None:
        render.render_annotated_video(
            video_path, a.poses.xy, out_path, severity=sev, ghost_xy=ghost, captions=captions, progress=progress,
            # pose frame i is not video frame i: every n-th frame analysed, or empty frames added
            # where the recording dropped some (then its frames are uneven in time)
            timestamps_s=a.poses.timestamps_s if a.poses.meta.get("frame_stride", 1) > 1 or uneven else None,
            keep_frame_times=uneven,
        )
    else:
        render.render_pose_video(
            a.poses.xy, a.poses.fps, a.poses.frame_size, out_path,
            severity=sev, ghost_xy=ghost, captions=captions, progress=progress,
        )


__all__ = ["ANGLE_PART", "overlay_tracks", "retarget", "write_annotated_video"]
