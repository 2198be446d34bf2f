"""Built-in references filmed from another camera place, and how the engine picks among them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from coach import bodymodel as bm
from coach.analysis import analyze_poses, choose_reference
from coach.normalize import robust_scale_px
from coach.references import ReferenceLibrary
from tests.conftest import shared_path

LIB = ReferenceLibrary(user_dir=Path("/nonexistent-form-coach-user-refs"))  # built-ins only


def _torso(xy):
    return xy / robust_scale_px(xy)


def test_floor_camera_films_the_same_motion_from_lower_and_closer():
    std = bm.generate("push_up", "front", jitter_frac=0.0)
    floor = bm.generate("push_up", "front", jitter_frac=0.0, camera="floor")
    np.testing.assert_array_equal(std.world_xyz, floor.world_xyz)  # one performance
    assert floor.poses.meta["camera"] == "floor" and "camera" not in std.poses.meta
    # seen from the floor the hands are far below the shoulders in torso lengths less often:
    # the trunk is foreshortened less than from the higher, farther tripod
    def hands_below(p):
        xy = _torso(p.poses.xy)
        return np.nanmedian(xy[:, [15, 16], 1].mean(axis=1) - xy[:, [11, 12], 1].mean(axis=1))
    assert hands_below(floor) < hands_below(std)
    with pytest.raises(ValueError, match="expected a camera"):
        bm.generate("push_up", "front", camera="ceiling")


def test_builtin_ids_and_the_library_hold_the_variant():
    assert bm.builtin_id("push_up", "front", "floor") == "model-push-up-front-floor"
    assert bm.builtin_id("push_up", "front") == "model-push-up-front"
    assert ("push_up", "front", "floor") in bm.builtin_entries()
    meta = LIB.get("model-push-up-front-floor").meta
    assert (meta.exercise, meta.view) == ("push_up", "front") and "camera on the floor" in meta.name


def test_the_nearest_camera_place_is_chosen_for_a_performance():
    for camera, expected in (("floor", "model-push-up-front-floor"), ("standard", "model-push-up-front")):
        perf = bm.generate("push_up", "front", seed=7, camera=camera)  # another seed than the library's
        assert choose_reference(LIB, "push_up", "front", _torso(perf.poses.xy)).id == expected
    # a side view filmed square on or from the front quarter ("at an angle")
    for camera, expected in (("oblique", "model-push-up-side-oblique"), ("standard", "model-push-up-side")):
        perf = bm.generate("push_up", "side", seed=7, camera=camera)
        assert choose_reference(LIB, "push_up", "side", _torso(perf.poses.xy)).id == expected
    # without a performance: the standard one; a view with one built-in: that one
    assert choose_reference(LIB, "push_up", "front").id == "model-push-up-front"
    assert choose_reference(LIB, "push_up", "side").id == "model-push-up-side"
    squat = bm.generate("squat", "side", seed=7)
    assert choose_reference(LIB, "squat", "side", _torso(squat.poses.xy)).id == "model-squat-side"


def test_the_oblique_camera_stands_half_way_between_side_and_front():
    """One standing performance filmed from the side, the front quarter and the front: the
    shoulders' width in the picture grows from side to oblique to front (a 45 deg turn shows
    ~0.7 of it; a standing torso stays in the picture plane, so it is the unit in all three)."""
    def shoulder_width(camera: str, view: str) -> float:
        p = bm.generate("squat", view, jitter_frac=0.0, camera=camera).poses
        xy = p.xy
        return float(np.median(np.abs(xy[:, 11, 0] - xy[:, 12, 0]) / robust_scale_px(xy)))

    side, oblique, front = (shoulder_width(c, v) for c, v in (("standard", "side"), ("oblique", "side"),
                                                              ("standard", "front")))
    assert side < oblique < front
    assert 0.6 < oblique / front < 0.8, (side, oblique, front)
    meta = LIB.get("model-push-up-side-oblique").meta
    assert (meta.exercise, meta.view) == ("push_up", "side") and "at an angle" in meta.name


@pytest.mark.parametrize("azimuth_deg", [35.0, 45.0, 55.0])
def test_a_push_up_filmed_from_the_front_quarter_is_compared_with_the_angled_reference(monkeypatch, azimuth_deg):
    """A model push-up filmed 35-55 deg from the side towards the head: the pose model sees both
    sides about equally, so the view reads as front. The angled reference is a candidate all the
    same; the performance matches it (99+, against 85-88 with the front-floor reference it got
    before), and the view is settled as a side view at an angle, so the profile-only rules are
    skipped with a warning that says so. Head-on, the front references are kept."""
    from coach.analysis import analyze_poses

    monkeypatch.setattr(bm, "OBLIQUE_AZIMUTH_DEG", azimuth_deg)
    a = analyze_poses(bm.generate("push_up", "side", reps=3, seed=7, camera="oblique").poses,
                      library=LIB, exercise="push_up")
    assert a.reference.id == "model-push-up-side-oblique" and a.score >= 95, (a.reference.id, a.score)
    assert (a.view.view, a.view.oblique) == ("side", True)
    assert any("at an angle" in w for w in a.warnings), a.warnings
    head_on = analyze_poses(bm.generate("push_up", "front", reps=3, seed=7).poses, library=LIB, exercise="push_up")
    assert head_on.reference.id == "model-push-up-front" and head_on.view.view == "front"


@pytest.mark.shared
def test_push_ups_filmed_from_the_floor_are_recognised(tmp_path, monkeypatch):
    """Two real push-up clips filmed by a camera on the ground in front of the performer (pushfit
    wrong88/89): recognised as push-ups and compared with the floor-camera reference."""
    from coach.analysis import analyze_poses, extract_video_poses

    monkeypatch.setenv("FORM_COACH_HOME", str(tmp_path))
    for name in ("wrong88.mp4", "wrong89.mp4"):
        path = shared_path(f"videos/pushfit-riyer8/datasets/videos/wrong/{name}")
        seq, _info, _t = extract_video_poses(path)
        a = analyze_poses(seq, library=LIB, source=name)
        print(name, a.exercise.id, a.reference.id, a.recognition.ranking[:3])
        assert a.exercise.id == "push_up"
        assert a.reference.id == "model-push-up-front-floor"


@pytest.mark.parametrize("fps, warned", [(12.0, True), (18.0, True), (24.0, False), (30.0, False)])
def test_a_clip_under_20_frames_a_second_is_warned_about(fps, warned):
    """The frame rate comes from the frames' spacing, not the container's claim: the model squat
    filmed at 12 or 18 fps gets the low-frame-rate warning, at 24 or 30 fps none; its reps are
    counted either way."""
    a = analyze_poses(bm.generate("squat", "side", reps=3, fps=fps, seed=3).poses, library=LIB, exercise="squat")
    low = [w for w in a.warnings if "frames a second" in w]
    assert len(a.reps.reps) == 3
    assert len(low) == (1 if warned else 0), a.warnings
    if warned:
        assert f"filmed at {fps:.0f} frames a second" in low[0] and "record at 25–30 fps" in low[0]
