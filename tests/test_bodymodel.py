"""The model performer: rigid bones, textbook angles at the bottom of each rep, camera conventions,
MediaPipe-like visibility, determinism, and the shipped library matching the generator."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from coach import bodymodel as bm
from coach.bodymodel import BodyProportions, generate
from coach.exercises import EXERCISE_IDS
from coach.schema import EDGES, L

ROOT = Path(__file__).resolve().parent.parent

# Rigid pairs inside one segment (the face and hands move with their segment).
RIGID = (
    *EDGES,
    (L.LEFT_WRIST, L.LEFT_PINKY), (L.LEFT_WRIST, L.LEFT_THUMB), (L.LEFT_INDEX, L.LEFT_PINKY),
    (L.RIGHT_WRIST, L.RIGHT_PINKY), (L.RIGHT_WRIST, L.RIGHT_THUMB), (L.RIGHT_INDEX, L.RIGHT_PINKY),
    (L.NOSE, L.LEFT_EAR), (L.NOSE, L.MOUTH_RIGHT), (L.LEFT_EYE_OUTER, L.RIGHT_EYE_OUTER),
)


@cache
def perf(exercise: str, view: str, reps: int = 3, seed: int = 0, jitter: float = 0.003):
    return generate(exercise, view, reps=reps, seed=seed, jitter_frac=jitter)


def angle(xyz: np.ndarray, a: L, b: L, c: L) -> np.ndarray:
    """Angle at b (degrees) over time, for (T, 33, k) coordinates (any k)."""
    u = xyz[:, a] - xyz[:, b]
    v = xyz[:, c] - xyz[:, b]
    cos = np.sum(u * v, axis=-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def peak_frames(p) -> np.ndarray:
    ts = p.poses.timestamps_s
    return np.array([int(np.argmin(np.abs(ts - b[1]))) for b in p.rep_bounds_s])


def mid(xyz: np.ndarray, a: L, b: L) -> np.ndarray:
    return (xyz[:, a] + xyz[:, b]) / 2


# --- skeleton -----------------------------------------------------------------------------------


@pytest.mark.parametrize("exercise", EXERCISE_IDS)
def test_bones_keep_their_length_in_3d(exercise):
    p = perf(exercise, "side")
    w = p.world_xyz
    # a shrug lifts the shoulder girdle along the trunk: there the shoulders move against the hips
    # (by the designed rise, below) and the head, and nothing else does
    girdle = {L.LEFT_SHOULDER, L.RIGHT_SHOULDER} if exercise == "shrug" else set()
    for a, b in RIGID:
        if len(girdle & {a, b}) == 1:
            continue
        d = np.linalg.norm(w[:, a] - w[:, b], axis=-1)
        assert np.ptp(d) < 1e-6, f"{exercise}: {a.name}-{b.name} varies by {np.ptp(d):.2e} m"
    if girdle:
        from coach.bodymodel import _SHRUG_RISE

        trunk = np.linalg.norm((w[:, L.LEFT_SHOULDER] + w[:, L.RIGHT_SHOULDER]) / 2
                               - (w[:, L.LEFT_HIP] + w[:, L.RIGHT_HIP]) / 2, axis=-1)
        rise = np.ptp(trunk) / p.proportions.m("trunk")
        assert rise == pytest.approx(_SHRUG_RISE, abs=0.011)  # ± the rep-to-rep variation


@pytest.mark.parametrize("exercise", EXERCISE_IDS)
def test_limb_lengths_match_the_proportions(exercise):
    p = perf(exercise, "front")
    pr, w = p.proportions, p.world_xyz
    expect = {
        "thigh": ("HIP", "KNEE"), "shank": ("KNEE", "ANKLE"),
        "upper_arm": ("SHOULDER", "ELBOW"), "forearm": ("ELBOW", "WRIST"),
    }
    for seg, (a, b) in expect.items():
        for side in ("LEFT_", "RIGHT_"):
            d = np.linalg.norm(w[:, L[side + a]] - w[:, L[side + b]], axis=-1)
            np.testing.assert_allclose(d, pr.m(seg), rtol=1e-9, err_msg=f"{exercise} {side}{seg}")
    sw = np.linalg.norm(w[:, L.LEFT_SHOULDER] - w[:, L.RIGHT_SHOULDER], axis=-1)
    np.testing.assert_allclose(sw, pr.m("shoulder_width"), rtol=1e-9)


def test_custom_proportions_are_used():
    pr = BodyProportions(height_m=1.9, thigh=0.26, forearm=0.15)
    p = generate("squat", "side", proportions=pr, jitter_frac=0.0)
    d = np.linalg.norm(p.world_xyz[:, L.RIGHT_HIP] - p.world_xyz[:, L.RIGHT_KNEE], axis=-1)
    np.testing.assert_allclose(d, 0.26 * 1.9, rtol=1e-9)
    assert p.proportions == pr


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"height_m": 0.2}, "height_m"),  # not a person
        ({"thigh": -0.1}, "thigh"),  # negative segment
        ({"hand": float("nan")}, "hand"),  # not a number
    ],
)
def test_bad_proportions_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BodyProportions(**kwargs)


def test_standing_height_adds_up():
    """Standing straight, the eyes sit where the anthropometric tables put them (~0.936 H)."""
    w = bm.pose_at("bicep_curl", 0.0)
    eye_y = (w[L.LEFT_EYE, 1] + w[L.RIGHT_EYE, 1]) / 2
    assert 0.91 * 1.75 < eye_y < 0.95 * 1.75
    assert min(w[L.LEFT_FOOT_INDEX, 1], w[L.LEFT_HEEL, 1]) == pytest.approx(0.006 * 1.75, abs=0.02)


@pytest.mark.parametrize("exercise", EXERCISE_IDS)
def test_projected_lengths_are_plausible(exercise):
    """In 2-D a limb only looks shorter (seen end-on), never much longer than its 3-D length
    (perspective enlarges a limb held towards the camera by up to ~15%)."""
    p = perf(exercise, "side", jitter=0.0)
    xy = p.poses.xy
    torso = np.linalg.norm(mid(xy, L.LEFT_SHOULDER, L.RIGHT_SHOULDER) - mid(xy, L.LEFT_HIP, L.RIGHT_HIP), axis=-1)
    torso_px = np.percentile(torso, 90)
    for seg, a, b in (("thigh", L.RIGHT_HIP, L.RIGHT_KNEE), ("shank", L.RIGHT_KNEE, L.RIGHT_ANKLE),
                      ("upper_arm", L.RIGHT_SHOULDER, L.RIGHT_ELBOW), ("forearm", L.RIGHT_ELBOW, L.RIGHT_WRIST)):
        ratio = np.linalg.norm(xy[:, a] - xy[:, b], axis=-1) / torso_px
        expected = getattr(p.proportions, seg) / p.proportions.trunk
        assert ratio.max() < expected * 1.2, f"{exercise} {seg}: {ratio.max():.2f} vs {expected:.2f}"
        assert np.percentile(ratio, 90) > expected * 0.5, f"{exercise} {seg} hardly ever seen full length"


def test_body_fills_about_two_thirds_of_a_portrait_frame():
    p = perf("bicep_curl", "side")
    w, h = p.poses.frame_size
    assert (w, h) == (720, 1280)
    ys = p.poses.xy[0, :, 1]
    assert 0.55 * h < ys.max() - ys.min() < 0.72 * h


@pytest.mark.parametrize("exercise", EXERCISE_IDS)
@pytest.mark.parametrize("view", ["side", "front"])
def test_every_landmark_in_frame_and_finite(exercise, view):
    p = perf(exercise, view)
    w, h = p.poses.frame_size
    xyz = p.poses.xyz
    assert np.isfinite(xyz).all()
    assert (xyz[..., 0] > 0).all() and (xyz[..., 0] < w).all()
    assert (xyz[..., 1] > 0).all() and (xyz[..., 1] < h).all()
    assert ((p.poses.visibility > 0) & (p.poses.visibility < 1)).all()


@pytest.mark.parametrize("exercise", EXERCISE_IDS)
def test_motion_is_smooth(exercise):
    """No landmark teleports: peak speeds stay human (jumping-jack hands are the fastest)."""
    w = perf(exercise, "side").world_xyz
    speed = np.linalg.norm(np.diff(w, axis=0), axis=-1) * 30.0
    limit = 11.0 if exercise == "jumping_jack" else 3.5  # m/s
    assert speed.max() < limit
    accel = np.linalg.norm(np.diff(w, n=2, axis=0), axis=-1) * 900.0
    assert accel.max() < (250.0 if exercise == "jumping_jack" else 40.0)  # m/s²


# --- planted feet and hands -------------------------------------------------------------------


@pytest.mark.parametrize(
    "exercise, landmarks",
    [
        ("squat", (L.LEFT_HEEL, L.RIGHT_HEEL, L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX)),  # heels down
        ("deadlift", (L.LEFT_HEEL, L.RIGHT_HEEL, L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX)),
        ("bicep_curl", (L.LEFT_ANKLE, L.RIGHT_ANKLE, L.LEFT_HEEL, L.RIGHT_FOOT_INDEX)),
        ("front_raise", (L.LEFT_ANKLE, L.RIGHT_ANKLE, L.LEFT_HIP, L.RIGHT_HIP)),  # feet and torso still
        ("push_up", (L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX, L.LEFT_WRIST, L.RIGHT_WRIST)),  # toes + hands
        ("pull_up", (L.LEFT_WRIST, L.RIGHT_WRIST)),  # hands on the bar
        ("lunge", (L.LEFT_FOOT_INDEX,)),  # the back foot pivots on its toes
    ],
)
def test_planted_points_stay_put(exercise, landmarks):
    w = perf(exercise, "side").world_xyz
    for lm in landmarks:
        assert np.ptp(w[:, lm], axis=0).max() < 1e-6, f"{exercise}: {lm.name} moved"


def test_feet_on_the_floor_push_up_toes_too():
    for exercise in ("squat", "deadlift", "push_up"):
        w = perf(exercise, "side").world_xyz
        assert np.abs(w[:, [L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX], 1] - 0.006 * 1.75).max() < 1e-6


def test_lunge_front_foot_lands_and_stays_during_the_bottom():
    p = perf("lunge", "side")
    w, ts = p.world_xyz, p.poses.timestamps_s
    for _start, peak, _end in p.rep_bounds_s:
        near = (ts > peak - 0.4) & (ts < peak + 0.4)
        assert np.ptp(w[near, L.RIGHT_ANKLE], axis=0).max() < 1e-6
        assert w[near, L.RIGHT_ANKLE, 0].min() > 0.5 * 1.75  # a real step forward
        assert w[near, L.LEFT_HEEL, 1].min() > 0.08  # back heel up


# --- textbook form ------------------------------------------------------------------------------


def test_squat_bottom():
    p = perf("squat", "side", jitter=0.0)
    xy, k = p.poses.xy, peak_frames(p)
    knee = angle(xy, L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE)
    assert 60 <= knee.min() <= 90
    assert ((knee[k] >= 60) & (knee[k] <= 90)).all()
    assert knee[0] > 170  # standing tall before the first rep
    trunk = mid(xy, L.LEFT_SHOULDER, L.RIGHT_SHOULDER) - mid(xy, L.LEFT_HIP, L.RIGHT_HIP)
    lean = np.degrees(np.arctan2(np.abs(trunk[:, 0]), -trunk[:, 1]))
    assert lean.max() <= 45
    # thighs about parallel: the hip joint at most ~12° above the knee joint in the image
    hip_y, knee_y = xy[k, L.RIGHT_HIP, 1], xy[k, L.RIGHT_KNEE, 1]
    assert (knee_y - hip_y < 0.2 * np.linalg.norm(xy[k, L.RIGHT_HIP] - xy[k, L.RIGHT_KNEE], axis=-1)).all()


def test_squat_front_knees_track_over_the_toes():
    p = perf("squat", "front", jitter=0.0)
    xy, k = p.poses.xy, peak_frames(p)
    knees = np.abs(xy[k, L.LEFT_KNEE, 0] - xy[k, L.RIGHT_KNEE, 0])
    ankles = np.abs(xy[k, L.LEFT_ANKLE, 0] - xy[k, L.RIGHT_ANKLE, 0])
    assert (knees >= ankles).all()  # no valgus


def test_push_up_bottom_and_straight_body():
    p = perf("push_up", "side", jitter=0.0)
    xy, k = p.poses.xy, peak_frames(p)
    elbow = angle(xy, L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST)
    assert 70 <= elbow.min() <= 100
    assert ((elbow[k] >= 70) & (elbow[k] <= 100)).all()
    assert elbow[0] > 160  # arms straight at the top
    w = p.world_xyz
    sh, hip = mid(w, L.LEFT_SHOULDER, L.RIGHT_SHOULDER), mid(w, L.LEFT_HIP, L.RIGHT_HIP)
    ank = mid(w, L.LEFT_ANKLE, L.RIGHT_ANKLE)
    u, v = sh - hip, ank - hip
    line = np.degrees(np.arccos(np.sum(u * v, -1) / np.linalg.norm(u, axis=-1) / np.linalg.norm(v, axis=-1)))
    assert line.min() > 175  # no hip sag or pike
    assert (xy[:, L.NOSE, 0] > xy[:, L.RIGHT_ANKLE, 0]).all()  # head towards image-right


def test_lunge_both_knees_near_90():
    p = perf("lunge", "side", jitter=0.0)
    k = peak_frames(p)
    w = p.world_xyz
    front = angle(w, L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE)[k]
    back = angle(w, L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE)[k]
    assert ((front > 80) & (front < 100)).all(), front
    assert ((back > 80) & (back < 100)).all(), back
    assert (w[k, L.LEFT_KNEE, 1] < 0.1 * 1.75).all()  # back knee close to the floor
    front_2d = angle(p.poses.xy, L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE)[k]
    assert ((front_2d > 75) & (front_2d < 100)).all()


def test_curl_range_with_the_elbow_pinned():
    p = perf("bicep_curl", "side", jitter=0.0)
    xy = p.poses.xy
    elbow = angle(xy, L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST)
    assert elbow.min() < 60 and elbow.max() > 155
    upper_arm = angle(xy, L.RIGHT_HIP, L.RIGHT_SHOULDER, L.RIGHT_ELBOW)
    assert upper_arm.max() < 15


def test_shoulder_press_rack_to_lockout():
    p = perf("shoulder_press", "front", jitter=0.0)
    xy, k = p.poses.xy, peak_frames(p)
    elbow = angle(xy, L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST)
    assert 70 <= elbow[0] <= 95  # rack: hands at shoulder height
    assert abs(xy[0, L.RIGHT_WRIST, 1] - xy[0, L.RIGHT_SHOULDER, 1]) < 0.4 * np.ptp(xy[0, :, 1]) / 3
    assert (elbow[k] > 165).all()
    assert (xy[k, L.RIGHT_WRIST, 1] < xy[k, L.NOSE, 1]).all()  # overhead


def test_front_raise_arms_from_the_thighs_to_shoulder_height():
    p = perf("front_raise", "side", jitter=0.0)
    xy, k = p.poses.xy, peak_frames(p)
    upper_arm = angle(xy, L.RIGHT_HIP, L.RIGHT_SHOULDER, L.RIGHT_ELBOW)
    assert upper_arm[0] < 15  # arms down by the thighs
    assert ((upper_arm[k] > 85) & (upper_arm[k] < 100)).all()  # shoulder height at the top
    elbow = angle(xy, L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST)
    assert ((elbow > 155) & (elbow < 175)).all()  # a soft bend all the way
    torso = np.linalg.norm(xy[0, L.RIGHT_SHOULDER] - xy[0, L.RIGHT_HIP])
    assert (np.abs(xy[k, L.RIGHT_WRIST, 1] - xy[k, L.RIGHT_SHOULDER, 1]) < 0.25 * torso).all()
    assert (xy[k, L.RIGHT_WRIST, 0] - xy[k, L.RIGHT_SHOULDER, 0] > 0.9 * torso).all()  # out in front (facing right)


def test_jumping_jack_open_and_closed():
    p = perf("jumping_jack", "front", jitter=0.0)
    xy, k = p.poses.xy, peak_frames(p)
    hips = np.abs(xy[:, L.LEFT_HIP, 0] - xy[:, L.RIGHT_HIP, 0])
    feet = np.abs(xy[:, L.LEFT_ANKLE, 0] - xy[:, L.RIGHT_ANKLE, 0])
    assert feet[0] < hips[0]  # feet together
    assert (feet[k] > 1.6 * hips[k]).all()  # feet wide
    assert (xy[0, [L.LEFT_WRIST, L.RIGHT_WRIST], 1] > xy[0, L.RIGHT_HIP, 1] - 0.1 * hips[0]).all()  # arms down
    assert (xy[k][:, [L.LEFT_WRIST, L.RIGHT_WRIST], 1] < xy[k][:, [L.NOSE], 1]).all()  # overhead


def test_deadlift_start_is_a_hip_hinge_and_the_peak_is_lockout():
    p = perf("deadlift", "side", jitter=0.0)
    xy, k = p.poses.xy, peak_frames(p)
    hip = angle(xy, L.RIGHT_SHOULDER, L.RIGHT_HIP, L.RIGHT_KNEE)
    knee = angle(xy, L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE)
    assert 55 <= hip[0] <= 75 and 115 <= knee[0] <= 145  # bar at mid-shin
    wrist_y, knee_y, ankle_y = xy[0, L.RIGHT_WRIST, 1], xy[0, L.RIGHT_KNEE, 1], xy[0, L.RIGHT_ANKLE, 1]
    assert knee_y < wrist_y < ankle_y
    assert (hip[k] > 170).all() and (knee[k] > 170).all()
    # flat back: the trunk is rigid, so shoulder-hip distance never shrinks
    w = p.world_xyz
    back = np.linalg.norm(mid(w, L.LEFT_SHOULDER, L.RIGHT_SHOULDER) - mid(w, L.LEFT_HIP, L.RIGHT_HIP), axis=-1)
    assert np.ptp(back) < 1e-9


@pytest.mark.parametrize("view", ["side", "front"])
def test_pull_up_dead_hang_to_chin_over_bar(view):
    p = perf("pull_up", view, jitter=0.0)
    xy, k = p.poses.xy, peak_frames(p)
    w = p.world_xyz
    elbow3d = angle(w, L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST)
    assert elbow3d[0] > 165  # dead hang
    assert (elbow3d[k] < 60).all()
    wrists_y = xy[k][:, [L.LEFT_WRIST, L.RIGHT_WRIST], 1].mean(axis=1)
    assert (xy[k, L.NOSE, 1] < wrists_y).all()  # chin over the bar
    assert (w[:, [L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX], 1] > 0.05).all()  # feet off the floor


# --- reps and timing ----------------------------------------------------------------------------


@pytest.mark.parametrize("reps", [1, 3, 5])
def test_rep_bounds_one_per_rep_in_order(reps):
    p = generate("squat", "side", reps=reps, fps=15.0)
    assert p.reps == reps == len(p.rep_bounds_s)
    flat = [t for b in p.rep_bounds_s for t in b]
    assert flat == sorted(flat)
    assert p.rep_bounds_s[0][0] == pytest.approx(0.5)  # still for half a second first
    assert p.poses.duration_s - p.rep_bounds_s[-1][2] == pytest.approx(0.5, abs=1.5 / 15.0)


@pytest.mark.parametrize("exercise", EXERCISE_IDS)
def test_start_pose_held_before_first_and_after_last_rep(exercise):
    p = perf(exercise, "side")
    w, ts = p.world_xyz, p.poses.timestamps_s
    first = ts < p.rep_bounds_s[0][0]
    last = ts > p.rep_bounds_s[-1][2]
    assert first.sum() >= 14 and last.sum() >= 14
    assert np.ptp(w[first], axis=0).max() < 1e-9
    np.testing.assert_allclose(w[last], np.broadcast_to(w[0], w[last].shape), atol=1e-9)


def test_reps_vary_a_little_in_depth_and_tempo():
    p = perf("squat", "side", reps=5, jitter=0.0)
    knee = angle(p.world_xyz, L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE)
    ts = p.poses.timestamps_s
    bottoms = np.array([knee[(ts >= a) & (ts <= e)].min() for a, _, e in p.rep_bounds_s])
    assert 0.3 < np.std(bottoms) < 3.5  # non-zero spread (the engine's tolerance), about ±3°
    durations = np.array([e - a for a, _, e in p.rep_bounds_s])
    assert np.std(durations) > 0.01
    assert (np.abs(durations / 2.6 - 1) < 0.09).all()  # tempo within ±8%


def test_the_main_signal_peaks_at_the_rep_bound():
    p = perf("squat", "side", jitter=0.0)
    hip_y = mid(p.poses.xy, L.LEFT_HIP, L.RIGHT_HIP)[:, 1]
    ts = p.poses.timestamps_s
    for a, peak, e in p.rep_bounds_s:
        sel = (ts >= a) & (ts <= e)
        t_low = ts[sel][np.argmax(hip_y[sel])]  # y down: lowest hips = largest y
        assert abs(t_low - peak) < 0.15


def test_same_seed_same_performance_and_views_share_the_motion():
    a = generate("lunge", "side", seed=3)
    b = generate("lunge", "side", seed=3)
    np.testing.assert_array_equal(a.poses.xyz, b.poses.xyz)
    np.testing.assert_array_equal(a.poses.visibility, b.poses.visibility)
    assert a.rep_bounds_s == b.rep_bounds_s
    c = generate("lunge", "side", seed=4)
    assert a.rep_bounds_s != c.rep_bounds_s
    front = generate("lunge", "front", seed=3)
    np.testing.assert_array_equal(a.world_xyz, front.world_xyz)


def test_jitter_is_small_and_optional():
    clean = perf("bicep_curl", "side", jitter=0.0)
    noisy = perf("bicep_curl", "side")
    height_px = np.ptp(clean.poses.xy[0, :, 1]) / 0.95
    d = (noisy.poses.xy - clean.poses.xy) / height_px
    assert 0.001 < np.std(d) < 0.006  # ~0.3% of body height


# --- camera conventions -------------------------------------------------------------------------


@pytest.mark.parametrize("exercise", EXERCISE_IDS)
def test_side_view_faces_image_right(exercise):
    p = perf(exercise, "side")
    xy = p.poses.xy
    ears = mid(xy, L.LEFT_EAR, L.RIGHT_EAR)
    assert np.median(xy[:, L.NOSE, 0] - ears[:, 0]) > 0
    if exercise == "bench_press":  # lying face up, the forward direction is the ceiling: head on image left
        assert xy[0, L.NOSE, 0] < mid(xy, L.LEFT_HIP, L.RIGHT_HIP)[0, 0]
    else:
        assert xy[0, L.NOSE, 0] > mid(xy, L.LEFT_HIP, L.RIGHT_HIP)[0, 0]
    if exercise != "push_up":  # in a plank the feet point at the floor, heels above the toes
        toes = mid(xy, L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX)
        heels = mid(xy, L.LEFT_HEEL, L.RIGHT_HEEL)
        assert np.median(toes[:, 0] - heels[:, 0]) > 0
    assert p.facing == "right" and p.poses.meta["facing"] == "right"
    # the right side is towards the camera: smaller z (MediaPipe: closer = smaller)
    assert np.median(p.poses.xyz[:, L.RIGHT_SHOULDER, 2]) < np.median(p.poses.xyz[:, L.LEFT_SHOULDER, 2])


@pytest.mark.parametrize("exercise", EXERCISE_IDS)
def test_front_view_shows_the_performers_left_on_image_right(exercise):
    p = perf(exercise, "front", jitter=0.0)
    xy = p.poses.xy
    assert (xy[:, L.LEFT_SHOULDER, 0] > xy[:, L.RIGHT_SHOULDER, 0]).all()
    assert (xy[:, L.LEFT_HIP, 0] > xy[:, L.RIGHT_HIP, 0]).all()
    assert p.facing == "camera"


def test_depth_is_relative_to_the_hips_and_scaled_like_x():
    p = perf("squat", "side", jitter=0.0)
    z = p.poses.xyz[..., 2]
    np.testing.assert_allclose(mid(p.poses.xyz, L.LEFT_HIP, L.RIGHT_HIP)[:, 2], 0.0, atol=1e-3)
    # shoulder half-width seen end-on: in pixels it matches the torso's pixel scale
    xy = p.poses.xy
    torso_px = np.linalg.norm(mid(xy, L.LEFT_SHOULDER, L.RIGHT_SHOULDER) - mid(xy, L.LEFT_HIP, L.RIGHT_HIP), axis=-1)[0]
    half_width = (z[0, L.LEFT_SHOULDER] - z[0, L.RIGHT_SHOULDER]) / 2
    expected = torso_px * 0.5 * p.proportions.shoulder_width / p.proportions.trunk
    assert half_width == pytest.approx(expected, rel=0.1)


def test_visibility_like_mediapipe():
    side = perf("squat", "side")
    v = np.median(side.poses.visibility, axis=0)
    near = [L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE, L.RIGHT_WRIST]
    far = [L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE, L.LEFT_WRIST]
    assert (v[near] >= 0.93).all()
    assert ((v[far] >= 0.5) & (v[far] <= 0.8)).all()
    assert v[L.LEFT_EAR] < v[L.RIGHT_EAR] and v[L.LEFT_EYE] < v[L.RIGHT_EYE]
    front = np.median(perf("squat", "front").poses.visibility, axis=0)
    assert (front >= 0.9).all()


# --- errors and the library ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (("yoga", "side"), {}, r"expected one of \['squat'"),  # unknown exercise
        (("squat", "top"), {}, r"expected one of \['side', 'front'\], got 'top'"),  # unknown view
        (("squat", "side"), {"reps": 0}, "expected reps"),
        (("squat", "side"), {"fps": 0.0}, "expected fps"),
        (("squat", "side"), {"jitter_frac": 1.0}, "expected jitter_frac"),
    ],
)
def test_bad_requests_say_what_was_expected(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate(*args, **kwargs)


def test_generated_sequence_round_trips_through_npz():
    from coach.pose import PoseSequence

    p = perf("pull_up", "front")
    back = PoseSequence.from_npz_bytes(p.poses.to_npz_bytes())
    np.testing.assert_array_equal(back.xyz, p.poses.xyz)
    assert back.meta["generator"] == "coach.bodymodel" and back.meta["procedural"] is True


def test_shipped_library_matches_the_generator(tmp_path):
    """references/ is what `python -m coach.bodymodel build` makes today (regenerate if this fails)."""
    from coach.references import ReferenceLibrary

    metas = bm.build_library(tmp_path)
    assert [m.id for m in metas] == [bm.builtin_id(*entry) for entry in bm.builtin_entries()]
    fresh = ReferenceLibrary(builtin_dir=tmp_path, user_dir=tmp_path / "none")
    shipped = ReferenceLibrary(builtin_dir=ROOT / "references", user_dir=tmp_path / "none")
    assert [m.id for m in shipped.list()] == sorted(m.id for m in metas)
    assert shipped.problems == ()
    for m in metas:
        assert (tmp_path / f"{m.id}.npz").stat().st_size < 1_000_000
        a, b = fresh.get(m.id), shipped.get(m.id)
        assert a.meta.keypoints_sha256 == b.meta.keypoints_sha256, f"{m.id}: run python -m coach.bodymodel build"
        assert a.meta.rep_bounds_s == b.meta.rep_bounds_s
        assert b.meta.procedural and b.meta.licence == "generated, CC0-1.0"
        assert b.meta.reps >= 3


def test_cli_build_writes_the_library(tmp_path, capsys):
    assert bm.main(["build", "--out", str(tmp_path), "--fps", "10"]) == 0
    out = capsys.readouterr().out
    assert "model-squat-side" in out
    assert len(list(tmp_path.glob("*.json"))) == len(bm.builtin_entries())
