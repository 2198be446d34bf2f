"""The engine gives the same result for a performance filmed from the other side: mirroring the
landmarks (x -> width - x, left and right swapped) changes no count, score, verdict or cue's
joint. What a mirrored *video* changes is MediaPipe's landmarks (bench/mirror_clips.py)."""

from __future__ import annotations

import numpy as np
import pytest

from coach.analysis import analyze_poses
from coach.references import ReferenceLibrary
from coach.schema import MIRROR_INDEX


def _mirrored(poses):
    xyz = np.array(poses.xyz)
    xyz[..., 0] = poses.frame_size[0] - xyz[..., 0]
    return poses.replace(xyz=xyz[:, MIRROR_INDEX], visibility=np.array(poses.visibility)[:, MIRROR_INDEX])


# Side views: a person facing the other way is turned to face like the reference. (A front view
# is compared side for side, so a mirrored user meets the reference's other side: equal only as
# far as the reference is symmetric.)
@pytest.mark.parametrize(("user", "ref"), [("model-squat-side", "model-squat-side"),
                                           ("model-push-up-side", "model-push-up-side"),
                                           ("model-deadlift-side", "model-deadlift-side")])
def test_a_mirrored_performance_gets_the_same_analysis(tmp_path, user, ref):
    library = ReferenceLibrary(user_dir=tmp_path)
    poses = library.get(user).poses
    # a user unlike the reference: slower, with the knees and hips moved off the textbook path
    xyz = np.array(poses.xyz)
    wobble = 0.08 * poses.frame_size[0] * np.sin(np.linspace(0, 6, len(xyz)))[:, None]
    xyz[:, 23:27, 0] += wobble  # hips and knees
    xyz[:, 23:25, 1] += 0.5 * wobble
    poses = poses.replace(xyz=xyz)
    a = analyze_poses(poses, library=library, reference_id=ref, source="a.npz")
    b = analyze_poses(_mirrored(poses), library=library, reference_id=ref, source="b.npz")
    assert a.view.facing != b.view.facing  # it did face the other way
    assert len(a.reps.reps) == len(b.reps.reps) >= 3
    assert a.comparison.score == pytest.approx(b.comparison.score, abs=0.05)
    assert a.comparison.verdict == b.comparison.verdict
    assert a.comparison.score < 99  # the perturbation is seen, so the equality means something
    # the same body parts; a cue names the performer's own side, which mirroring swaps
    def parts(an):
        return [c.body_part.removeprefix("left ").removeprefix("right ") for c in an.cues]

    assert parts(a) == parts(b)
