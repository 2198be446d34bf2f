"""The frozen keypoint schema is self-consistent."""


import numpy as np
import pytest

from coach.schema import (
    BODY_PARTS,
    EDGES,
    LAYOUTS,
    MIRROR,
    MIRROR_INDEX,
    N_LANDMARKS,
    PART_OF,
    Landmark,
    mp_to_layout,
)


def test_every_left_has_a_right_and_mirror_is_an_involution():
    for lm in Landmark:
        if lm.name.startswith("LEFT_"):
            assert MIRROR[lm] == Landmark["RIGHT_" + lm.name[5:]]
        assert MIRROR[MIRROR[lm]] == lm
    assert MIRROR[Landmark.NOSE] == Landmark.NOSE
    assert np.array_equal(MIRROR_INDEX[MIRROR_INDEX], np.arange(N_LANDMARKS))


def test_edges_in_range_and_mirror_closed():
    edge_set = {frozenset(e) for e in EDGES}
    for a, b in EDGES:
        assert 0 <= a < N_LANDMARKS and 0 <= b < N_LANDMARKS
        assert frozenset((MIRROR[a], MIRROR[b])) in edge_set


def test_body_parts_partition_the_landmarks():
    members = [lm for lms in BODY_PARTS.values() for lm in lms]
    assert sorted(members) == list(Landmark)
    assert set(PART_OF) == set(Landmark)


def test_tables_are_read_only():
    with pytest.raises(TypeError):
        MIRROR[Landmark.NOSE] = Landmark.LEFT_EYE  # type: ignore[index]
    with pytest.raises(ValueError):
        MIRROR_INDEX[0] = 3


@pytest.mark.parametrize("layout,size", [("coco17", 17), ("openpose18", 18), ("body25", 25), ("penn13", 13)])
def test_layout_mappings_keep_sides(layout, size):
    idx = mp_to_layout(layout)
    assert idx.shape == (size,)
    mapped = [Landmark(i) for i in idx if i >= 0]
    assert len(set(mapped)) == len(mapped)  # no landmark used twice
    for lm in mapped:  # mirror-closed: a layout that has a left joint has its right one
        assert MIRROR[lm] in mapped
    assert layout in LAYOUTS


def test_unknown_layout_message():
    with pytest.raises(ValueError, match="expected a layout in"):
        mp_to_layout("coco99")
