"""Built-in references filmed from another camera place, and how the engine picks among them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from coach import bodymodel as bm
from coach.analysis import choose_reference
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
    # without a performance: the standard one; a view with one built-in: that one
    assert choose_reference(LIB, "push_up", "front").id == "model-push-up-front"
    side = bm.generate("push_up", "side", seed=7)
    assert choose_reference(LIB, "push_up", "side", _torso(side.poses.xy)).id == "model-push-up-side"


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
