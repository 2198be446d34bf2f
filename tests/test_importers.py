"""Keypoint importers: hand-made OpenPose/CSV/npy files first, then the real datasets in
../shared/data/keypoints (skipped when absent)."""

from __future__ import annotations

import csv
import json
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from coach import importers
from coach.errors import InputTooLargeError, KeypointFileError
from coach.importers import (
    OPENPOSE_VISIBILITY_EXPONENT,
    from_layout_array,
    load_coco17_npy,
    load_keypoints,
    load_labeled_frames,
    load_mlkit_samples,
    load_openpose_json_dir,
    load_penn_action_mat,
    load_pose_trainer_npy,
    load_quva_rep_ends,
    read_keypoint_csv,
    to_layout_array,
    write_keypoint_csv,
)
from coach.pose import PoseSequence
from coach.schema import COCO17_TO_MP, LANDMARK_NAMES, N_LANDMARKS, OPENPOSE18_TO_MP, L
from coach.settings import CleanSettings
from tests.conftest import shared_path

# --- builders ------------------------------------------------------------------------------


def coco18_person(dx: float = 0.0, scale: float = 1.0, conf: float = 0.9) -> list[float]:
    """A standing person facing the camera in OpenPose COCO-18 order, as the flat x, y, c list.
    The performer's left side is on the image's right (larger x)."""
    pts = {
        0: (100, 40), 1: (100, 70),                      # nose, neck
        2: (80, 70), 3: (75, 100), 4: (72, 130),         # r shoulder, elbow, wrist
        5: (120, 70), 6: (125, 100), 7: (128, 130),      # l shoulder, elbow, wrist
        8: (90, 140), 9: (90, 190), 10: (90, 240),       # r hip, knee, ankle
        11: (110, 140), 12: (110, 190), 13: (110, 240),  # l hip, knee, ankle
        14: (95, 35), 15: (105, 35), 16: (90, 38), 17: (110, 38),  # r eye, l eye, r ear, l ear
    }
    out: list[float] = []
    for j in range(18):
        x, y = pts[j]
        out += [dx + scale * x, scale * y, conf]
    return out


def body25_person(dx: float = 0.0) -> list[float]:
    """BODY-25: the COCO-18 body plus mid-hip (8) and the six foot points."""
    c18 = np.asarray(coco18_person(dx)).reshape(18, 3)
    b25 = np.zeros((25, 3))
    # BODY-25 index -> COCO-18 index for the shared joints
    shared = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 9: 8, 10: 9, 11: 10, 12: 11, 13: 12,
              14: 13, 15: 14, 16: 15, 17: 16, 18: 17}
    for b, c in shared.items():
        b25[b] = c18[c]
    b25[8] = (dx + 100, 140, 0.9)  # mid-hip
    b25[19] = (dx + 118, 250, 0.8)  # left big toe
    b25[21] = (dx + 108, 248, 0.7)  # left heel
    b25[22] = (dx + 82, 250, 0.8)  # right big toe
    b25[24] = (dx + 92, 248, 0.7)  # right heel
    return b25.ravel().tolist()


def write_frame(folder: Path, number: int, people: list[list[float]], *, stem: str = "clip") -> Path:
    p = folder / f"{stem}_{number:012d}_keypoints.json"
    doc = {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": kp} for kp in people]}
    p.write_text(json.dumps(doc))
    return p


def make_seq(t: int = 6, *, seed: int = 0) -> PoseSequence:
    rng = np.random.default_rng(seed)
    xyz = (rng.random((t, N_LANDMARKS, 3)) * [640, 480, 100]).astype(np.float32)
    vis = rng.random((t, N_LANDMARKS)).astype(np.float32)
    xyz[1, L.LEFT_WRIST] = np.nan
    vis[1, L.LEFT_WRIST] = 0.0
    return PoseSequence(
        xyz=xyz, visibility=vis, timestamps_s=np.arange(t) / 30.0, fps=30.0, frame_size=(640, 480),
        meta={"model": "test"},
    )


# --- OpenPose JSON ---------------------------------------------------------------------------


def test_openpose_coco18_folder_maps_sides_and_orders_frames_by_number(tmp_path):
    # written out of order, and 10 sorts before 2 as text: the number decides
    for n in (10, 2, 0, 1, 3, 4, 5, 6, 7, 8, 9):
        write_frame(tmp_path, n, [coco18_person(dx=n)])
    seq = load_openpose_json_dir(tmp_path, fps=25.0)
    assert seq.n_frames == 11
    assert seq.fps == 25.0
    assert np.allclose(seq.timestamps_s, np.arange(11) / 25.0)
    assert seq.meta["layout"] == "openpose18"
    # the performer's left shoulder is COCO-18 index 5 at x = 120 + frame
    assert np.allclose(seq.xyz[:, L.LEFT_SHOULDER, 0], 120 + np.arange(11))
    assert np.allclose(seq.xyz[:, L.RIGHT_SHOULDER, 0], 80 + np.arange(11))
    assert np.allclose(seq.xyz[:, L.LEFT_ANKLE, :2], np.c_[110 + np.arange(11), np.full(11, 240)])
    assert np.allclose(seq.visibility[:, L.NOSE], 0.9**OPENPOSE_VISIBILITY_EXPONENT)  # calibrated
    assert np.all(seq.xyz[seq.mask][:, 2] == 0)  # no depth in 2-D sources
    # no counterpart in COCO-18: NaN with visibility 0
    assert np.isnan(seq.xyz[:, L.LEFT_HEEL]).all() and (seq.visibility[:, L.LEFT_HEEL] == 0).all()
    w, h = seq.frame_size  # inferred from the extent, with a margin
    assert w >= 128 + 10 and h >= 240


def test_openpose_zeros_become_nan_not_coordinates(tmp_path):
    kp = coco18_person()
    kp[7 * 3: 7 * 3 + 3] = [0, 0, 0]  # left wrist not found
    write_frame(tmp_path, 0, [kp])
    write_frame(tmp_path, 1, [coco18_person()])
    seq = load_openpose_json_dir(tmp_path)
    assert np.isnan(seq.xyz[0, L.LEFT_WRIST]).all()
    assert seq.visibility[0, L.LEFT_WRIST] == 0
    assert np.isfinite(seq.xyz[1, L.LEFT_WRIST]).all()


def test_openpose_body25_is_detected_and_maps_the_feet(tmp_path):
    for n in range(3):
        write_frame(tmp_path, n, [body25_person()])
    seq = load_openpose_json_dir(tmp_path)
    assert seq.meta["layout"] == "body25"
    assert np.allclose(seq.xyz[0, L.LEFT_HEEL, :2], (108, 248))
    assert np.allclose(seq.xyz[0, L.RIGHT_FOOT_INDEX, :2], (82, 250))
    assert np.allclose(seq.xyz[0, L.LEFT_HIP, :2], (110, 140))


def test_openpose_two_people_keeps_tracking_the_same_one(tmp_path):
    big_left = coco18_person(dx=0, scale=1.5)
    small_right = coco18_person(dx=400)
    write_frame(tmp_path, 0, [small_right, big_left])  # first frame: the largest person
    for n in range(1, 4):
        # the other person is listed first, and grows larger than ours: nearest still wins
        write_frame(tmp_path, n, [coco18_person(dx=400, scale=2.0), coco18_person(dx=3 * n, scale=1.5)])
    seq = load_openpose_json_dir(tmp_path)
    assert np.allclose(seq.xyz[:, L.NOSE, 0], [150, 153, 156, 159])


def test_openpose_empty_people_gives_a_nan_frame_and_missing_files_too(tmp_path):
    write_frame(tmp_path, 0, [coco18_person()])
    write_frame(tmp_path, 1, [])
    write_frame(tmp_path, 2, [coco18_person()])
    write_frame(tmp_path, 4, [coco18_person()])  # frame 3's file is missing
    seq = load_openpose_json_dir(tmp_path)
    assert seq.n_frames == 5
    assert not seq.mask[1].any() and not seq.mask[3].any()
    assert (seq.visibility[[1, 3]] == 0).all()
    assert seq.mask[[0, 2, 4]].any(axis=1).all()
    assert seq.meta["frames_without_person"] == 2 and seq.meta["missing_frame_files"] == 1


def _zip_folder(folder: Path, zpath: Path, *, prefix: str = "run/", extra: dict[str, bytes] | None = None):
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in sorted(folder.iterdir()):
            zf.write(p, prefix + p.name)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return zpath


def test_openpose_zip_equals_the_folder_and_skips_mac_junk(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    for n in range(4):
        write_frame(frames, n, [coco18_person(dx=n)])
    z = _zip_folder(frames, tmp_path / "run.zip", extra={"__MACOSX/run/._clip_000000000000_keypoints.json": b"\0"})
    a, b = load_openpose_json_dir(frames), load_keypoints(z)
    assert np.array_equal(a.xyz, b.xyz, equal_nan=True)
    assert np.array_equal(a.visibility, b.visibility)


@pytest.mark.parametrize(
    ("member", "pattern"),
    [
        ("../evil_000000000009_keypoints.json", "expected relative member names"),  # path traversal
        ("/abs_000000000009_keypoints.json", "expected relative member names"),  # absolute path
        ("other/clip_000000000009_keypoints.json", "expected the frames of one folder"),  # two folders
    ],
)
def test_openpose_zip_with_bad_member_names_is_refused(tmp_path, member, pattern):
    frames = tmp_path / "frames"
    frames.mkdir()
    for n in range(3):
        write_frame(frames, n, [coco18_person()])
    extra = {member: json.dumps({"people": []}).encode()}
    z = _zip_folder(frames, tmp_path / "bad.zip", extra=extra)
    with pytest.raises(KeypointFileError, match=pattern):
        load_keypoints(z)


def _bad_json(folder: Path) -> None:
    write_frame(folder, 0, [coco18_person()])
    (folder / "clip_000000000001_keypoints.json").write_text("{not json")


def _wrong_length(folder: Path) -> None:
    write_frame(folder, 0, [coco18_person()])
    write_frame(folder, 1, [coco18_person()[:51]])


def _mixed_layouts(folder: Path) -> None:
    write_frame(folder, 0, [coco18_person()])
    write_frame(folder, 1, [body25_person()])


def _strings_in_list(folder: Path) -> None:
    write_frame(folder, 0, [coco18_person()])
    write_frame(folder, 1, [["a"] * 54])


def _no_people_key(folder: Path) -> None:
    write_frame(folder, 0, [coco18_person()])
    (folder / "clip_000000000001_keypoints.json").write_text(json.dumps({"version": 1.3}))


def _nobody_anywhere(folder: Path) -> None:
    write_frame(folder, 0, [])
    write_frame(folder, 1, [])


def _no_frame_number(folder: Path) -> None:
    write_frame(folder, 0, [coco18_person()])
    (folder / "clip_keypoints.json").write_text(json.dumps({"people": []}))


def _duplicate_number(folder: Path) -> None:
    write_frame(folder, 1, [coco18_person()], stem="a")
    write_frame(folder, 1, [coco18_person()], stem="b")


def _one_frame(folder: Path) -> None:
    write_frame(folder, 0, [coco18_person()])


def _no_keypoint_files(folder: Path) -> None:
    (folder / "notes.json").write_text("{}")


@pytest.mark.parametrize(
    ("build", "pattern"),
    [
        (_bad_json, r"clip_000000000001_keypoints\.json: expected OpenPose JSON, got invalid JSON"),
        (_wrong_length, r"expected 54 \(COCO-18\) or 75 \(BODY-25\) values .* got 51"),
        (_mixed_layouts, "expected openpose18 like the earlier frames, got body25"),
        (_strings_in_list, "expected people.0..pose_keypoints_2d to be a list of numbers"),
        (_no_people_key, "expected an object with a 'people' list"),
        (_nobody_anywhere, "expected at least one person"),
        (_no_frame_number, "expected a frame number in the name"),
        (_duplicate_number, "expected one file per frame number"),
        (_one_frame, "expected at least 2 frames, got 1"),
        (_no_keypoint_files, r"expected OpenPose \*_keypoints\.json files, got only notes\.json"),
    ],
    ids=["bad-json", "wrong-length", "mixed-layouts", "strings", "no-people", "nobody", "no-number",
         "duplicate", "one-frame", "no-frames"],
)
def test_bad_openpose_folders_raise_one_line_errors(tmp_path, build, pattern):
    build(tmp_path)
    with pytest.raises(KeypointFileError, match=pattern) as exc:
        load_keypoints(tmp_path)
    assert "\n" not in str(exc.value)


# --- our CSV ------------------------------------------------------------------------------------


def test_csv_round_trip_is_exact(tmp_path):
    seq = make_seq()
    path = tmp_path / "k.csv"
    write_keypoint_csv(seq, path)
    back = read_keypoint_csv(path)
    assert np.array_equal(back.xyz, seq.xyz, equal_nan=True)
    assert np.array_equal(back.visibility, seq.visibility)
    assert np.array_equal(back.timestamps_s, seq.timestamps_s)
    assert (back.fps, back.frame_size, back.meta) == (seq.fps, seq.frame_size, seq.meta)
    header = path.read_text().splitlines()[1].split(",")
    assert header[:6] == ["frame", "time_s", "nose_x", "nose_y", "nose_z", "nose_visibility"]
    assert len(header) == 2 + 4 * N_LANDMARKS
    assert not list(tmp_path.glob("*.part"))
    # the missing wrist is written as empty cells, never zeros
    row = next(r for r in csv.DictReader(path.read_text().splitlines()[1:]) if r["frame"] == "1")
    assert row["left_wrist_x"] == "" and row["left_wrist_visibility"] == "0"


def test_csv_with_a_subset_of_upper_case_columns_and_no_header_line(tmp_path):
    path = tmp_path / "sub.csv"
    path.write_text(
        "frame,time_s,NOSE_x,NOSE_y,LEFT_KNEE_x,LEFT_KNEE_y,LEFT_KNEE_v\n"
        "0,0.0,10,20,30,40,0.8\n"
        "1,0.04,11,21,,,\n"
        "2,0.08,12,22,32,42,0.9\n"
    )
    seq = read_keypoint_csv(path)
    assert seq.n_frames == 3
    assert seq.fps == pytest.approx(25.0)
    assert seq.meta["fps_source"] == "time_s"
    assert np.allclose(seq.xyz[:, L.NOSE], [[10, 20, 0], [11, 21, 0], [12, 22, 0]])
    assert np.allclose(seq.visibility[:, L.NOSE], 1.0)  # no visibility column: seen = 1
    assert np.isnan(seq.xyz[1, L.LEFT_KNEE]).all() and seq.visibility[1, L.LEFT_KNEE] == 0
    assert np.allclose(seq.visibility[[0, 2], L.LEFT_KNEE], [0.8, 0.9])
    assert np.isnan(seq.xyz[:, L.RIGHT_KNEE]).all()  # not in the file
    assert seq.frame_size == (34, 45)  # ceil(max * 1.05): 32 -> 34, 42 -> 45


def test_csv_with_frame_column_only_uses_the_given_fps(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("frame,nose_x,nose_y\n10,1,2\n11,1,2\n13,1,2\n")
    seq = read_keypoint_csv(path, fps=10.0)
    assert np.allclose(seq.timestamps_s, [0.0, 0.1, 0.3])
    assert read_keypoint_csv(path).meta["fps_source"] == "assumed"


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("", "got an empty file"),
        ("nose_x,nose_y\n1,2\n3,4\n", "expected a frame or time_s column"),
        ("frame,time_s\n0,0\n1,0.1\n", "expected landmark columns like nose_x"),
        ("frame,time_s,nose_x,nose_y\n0,0,1,2\n", "expected at least 2 frames, got 1"),
        ("frame,time_s,nose_x,nose_y\n0,0,1,2\n1,0.1,abc,2\n", r"expected numbers in column nose_x, got 'abc' \(data row 2\)"),
        ("frame,time_s,nose_x,nose_y\n0,0,1,2\n1,0.1,inf,2\n", "expected finite numbers in column nose_x, got inf"),
        ("frame,time_s,nose_x,nose_y\n0,0,1,2\n1,0,1,2\n", "expected strictly increasing time_s"),
        ("frame,time_s,left_sholder_x,left_sholder_y\n0,0,1,2\n1,0.1,1,2\n", "got 'left_sholder'"),
        ("frame,time_s,nose_x\n0,0,1\n1,0.1,1\n", "expected nose_y beside nose_x"),
        ("frame,time_s,nose_x,nose_y,nose_visibility\n0,0,1,2,3\n1,0.1,1,2,1\n", r"visibility in \[0, 1\], got 3"),
        ("# form-coach-keypoints {oops\nframe,nose_x,nose_y\n", "expected JSON after # form-coach-keypoints"),
        ('# form-coach-keypoints {"schema_version": 9}\nframe,nose_x,nose_y\n', "expected schema_version 1, got 9"),
    ],
    ids=["empty", "no-time", "no-landmarks", "one-row", "text-cell", "inf", "time-repeats", "typo",
         "x-without-y", "visibility-range", "bad-header-json", "schema-version"],
)
def test_bad_csv_files_raise_one_line_errors(tmp_path, text, pattern):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(KeypointFileError, match=pattern) as exc:
        load_keypoints(path)
    assert str(exc.value).startswith("bad.csv: ") and "\n" not in str(exc.value)


def test_too_many_rows_is_refused_with_a_size_error(tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "MAX_FRAMES", 5)
    path = tmp_path / "long.csv"
    path.write_text("frame,nose_x,nose_y\n" + "".join(f"{i},1,2\n" for i in range(9)))
    with pytest.raises(InputTooLargeError, match="expected at most 5 rows"):
        load_keypoints(path)
    np.save(tmp_path / "long.npy", np.ones((9, 17, 2)))
    with pytest.raises(InputTooLargeError, match="expected at most 5 frames, got 9"):
        load_keypoints(tmp_path / "long.npy")


# --- arrays, layouts and the dispatcher ------------------------------------------------------


def test_mediapipe33_to_coco17_and_back_keeps_the_17_points():
    seq = make_seq()
    arr = to_layout_array(seq, "coco17")
    assert arr.shape == (seq.n_frames, 17, 3)
    back = from_layout_array(arr, "coco17", fps=seq.fps, third="confidence", frame_size=seq.frame_size)
    idx = list(COCO17_TO_MP)
    assert np.array_equal(back.xy[:, idx], seq.xy[:, idx], equal_nan=True)
    assert np.array_equal(back.visibility[:, idx], seq.visibility[:, idx])
    others = [i for i in range(N_LANDMARKS) if i not in idx]
    assert np.isnan(back.xyz[:, others]).all() and (back.visibility[:, others] == 0).all()


def test_openpose_layouts_get_neck_and_mid_hip_as_midpoints():
    seq = make_seq()
    op18 = to_layout_array(seq, "openpose18")
    mid_sh = (seq.xy[:, L.LEFT_SHOULDER] + seq.xy[:, L.RIGHT_SHOULDER]) / 2
    assert np.allclose(op18[:, 1, :2], mid_sh)
    assert np.allclose(op18[:, 5, :2], seq.xy[:, L.LEFT_SHOULDER])  # performer's left = index 5
    b25 = to_layout_array(seq, "body25")
    assert np.allclose(b25[:, 8, :2], (seq.xy[:, L.LEFT_HIP] + seq.xy[:, L.RIGHT_HIP]) / 2)
    assert np.isnan(b25[:, 20, :2]).all() and (b25[:, 20, 2] == 0).all()  # small toe: no counterpart
    # a missing wrist stays NaN (never 0) in the exported layout
    assert np.isnan(op18[1, 7, :2]).all() and op18[1, 7, 2] == 0


def test_openpose_confidence_is_calibrated_to_visibility_and_back():
    arr = np.full((4, 18, 3), 50.0)
    arr[:, :, 2] = [[0.05], [0.2], [0.5], [1.0]]
    seq = from_layout_array(arr, "openpose18", fps=30.0, third="confidence")
    nose = seq.visibility[:, L.NOSE]
    # OpenPose 0.2 sits at the cleaning cut (MediaPipe visibility 0.5); order and 0 / 1 kept
    assert nose[1] == pytest.approx(0.5, abs=1e-6)
    assert nose[0] < 0.5 < nose[2] < nose[3] == pytest.approx(1.0)
    assert (nose >= CleanSettings().min_visibility).tolist() == [False, True, True, True]
    back = to_layout_array(seq, "openpose18")
    assert np.allclose(back[:, 0, 2], arr[:, 0, 2], atol=1e-5)
    # COCO-17 scores (PoseNet, MoveNet) are kept as they are
    coco = from_layout_array(np.full((2, 17, 3), 0.3), "coco17", fps=30.0, third="confidence")
    assert np.allclose(coco.visibility[:, L.NOSE], 0.3)


def test_from_layout_array_treats_zero_and_zero_confidence_as_missing():
    arr = np.full((3, 18, 3), 50.0)
    arr[..., 2] = 0.9
    arr[0, 5] = 0  # OpenPose "not found"
    arr[1, 6, 2] = 0  # confidence 0
    seq = from_layout_array(arr, "openpose18", fps=30.0, third="confidence")
    assert not seq.mask[0, OPENPOSE18_TO_MP[5]] and not seq.mask[1, OPENPOSE18_TO_MP[6]]
    assert seq.visibility[0, OPENPOSE18_TO_MP[5]] == 0
    assert seq.mask[2, OPENPOSE18_TO_MP[5]]


@pytest.mark.parametrize(
    ("arr", "kwargs", "error", "pattern"),
    [
        (np.ones((3, 17, 3)), {}, ValueError, "third='z' or third='confidence'"),  # ambiguous 3rd column
        (np.ones((3, 17, 2)), {"layout": "openpose18"}, KeypointFileError, r"expected shape \(frames, 18"),
        (np.full((3, 17, 3), 5.0), {"third": "confidence"}, KeypointFileError, r"confidence in \[0, 1\], got 5"),
        (np.array([[[np.inf, 1.0]] * 17] * 3), {}, KeypointFileError, "got inf"),
        (np.ones((3, 17, 2)), {"layout": "coco18"}, ValueError, "expected a layout in"),
    ],
    ids=["third-needed", "wrong-joints", "confidence-range", "inf", "unknown-layout"],
)
def test_from_layout_array_rejects_bad_input(arr, kwargs, error, pattern):
    kw = {"layout": "coco17", **kwargs}
    with pytest.raises(error, match=pattern):
        from_layout_array(arr, kw.pop("layout"), fps=30.0, **kw)


@pytest.mark.parametrize(
    ("shape", "layout", "dims"),
    [
        ((4, 33, 4), "mediapipe33", 3),  # x, y, z, visibility
        ((4, 33, 2), "mediapipe33", 2),
        ((4, 18, 3), "openpose18", 2),  # x, y, confidence
        ((4, 25, 3), "body25", 2),
        ((4, 17, 2), "coco17", 2),
        ((4, 13, 3), "penn13", 2),
    ],
)
def test_npy_layout_is_chosen_by_joint_count(tmp_path, shape, layout, dims):
    arr = np.full(shape, 0.5)
    path = tmp_path / "k.npy"
    np.save(path, arr)
    seq = load_keypoints(path, fps=24.0)
    assert (seq.meta["layout"], seq.meta["dims"], seq.fps, seq.n_frames) == (layout, dims, 24.0, 4)


def test_npz_goes_through_the_dispatcher(tmp_path):
    seq = make_seq()
    seq.save_npz(tmp_path / "k.npz")
    back = load_keypoints(tmp_path / "k.npz")
    assert np.array_equal(back.xyz, seq.xyz, equal_nan=True)


def _pickled_npy(p: Path) -> Path:
    np.save(p / "evil.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    return p / "evil.npy"


def _empty(suffix: str):
    def build(p: Path) -> Path:
        (p / f"empty{suffix}").write_bytes(b"")
        return p / f"empty{suffix}"
    return build


def _write(name: str, data: bytes):
    def build(p: Path) -> Path:
        (p / name).write_bytes(data)
        return p / name
    return build


def _missing(p: Path) -> Path:
    return p / "missing.csv"


def _npy(name: str, arr: np.ndarray):
    def build(p: Path) -> Path:
        np.save(p / name, arr)
        return p / name
    return build


@pytest.mark.parametrize(
    ("build", "error", "pattern"),
    [
        (_pickled_npy, KeypointFileError, r"evil\.npy: expected a numeric \.npy array, got a pickled object array"),
        (_write("x.xyz", b"1 2 3"), KeypointFileError,
         r"x\.xyz: expected \.npz, \.csv, \.zip, \.npy or a folder of OpenPose JSON, got \.xyz"),
        (_write("frame_keypoints.json", b"{}"), KeypointFileError, "upload the whole folder as a .zip"),
        (_empty(".npy"), KeypointFileError, "got an empty file"),
        (_empty(".npz"), KeypointFileError, "got an empty file"),
        (_empty(".zip"), KeypointFileError, "got an empty file"),
        (_write("text.npy", b"hello"), KeypointFileError, "expected a NumPy .npy array, got data in another format"),
        (_write("text.zip", b"hello"), KeypointFileError, r"expected a \.zip archive"),
        (_write("text.npz", b"hello"), KeypointFileError, "not a readable Form Coach .npz"),
        (_npy("flat.npy", np.ones(10)), KeypointFileError, r"expected shape \(frames, joints, 2\|3\)"),
        (_npy("j20.npy", np.ones((5, 20, 2))), KeypointFileError, r"got \(5, 20, 2\)"),
        (_npy("one.npy", np.ones((1, 17, 2))), KeypointFileError, "expected at least 2 frames, got 1"),
        (_npy("inf.npy", np.full((3, 17, 2), np.inf)), KeypointFileError, "got inf"),
        (_npy("nan.npy", np.full((3, 17, 2), np.nan)), KeypointFileError, "expected at least one keypoint seen"),
        (_npy("str.npy", np.full((3, 17, 2), "a")), KeypointFileError, "expected a numeric array, got dtype <U1"),
        (_missing, KeypointFileError, "got no such file"),
    ],
    ids=["pickle", "suffix", "single-json", "empty-npy", "empty-npz", "empty-zip", "text-npy", "text-zip",
         "text-npz", "1d", "20-joints", "one-frame", "inf", "all-nan", "strings", "missing"],
)
def test_bad_files_are_refused_with_one_line(tmp_path, build, error, pattern):
    path = build(tmp_path)
    with pytest.raises(error, match=pattern) as exc:
        load_keypoints(path)
    assert "\n" not in str(exc.value)


def test_quva_annotations_must_be_increasing_frame_indices(tmp_path):
    np.save(tmp_path / "ok.npy", np.array([3.0, 7.0, 12.0]))
    assert load_quva_rep_ends(tmp_path / "ok.npy").tolist() == [3, 7, 12]
    np.save(tmp_path / "bad.npy", np.array([5, 3]))
    with pytest.raises(KeypointFileError, match="expected increasing non-negative frame indices"):
        load_quva_rep_ends(tmp_path / "bad.npy")


def test_labeled_frames_need_a_label_column(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("label,nose_x,nose_y,nose_z,nose_v\nup,0.5,0.2,0.1,0.9\ndown,0.5,0.6,0.1,0.8\n")
    xyz, vis, labels = load_labeled_frames(path)
    assert labels == ["up", "down"] and xyz.shape == (2, N_LANDMARKS, 3)
    assert np.allclose(vis[:, L.NOSE], [0.9, 0.8]) and np.isnan(xyz[:, L.LEFT_HIP]).all()
    path.write_text("frame,nose_x,nose_y\n0,1,2\n")
    with pytest.raises(KeypointFileError, match="expected a label column"):
        load_labeled_frames(path)


# --- real datasets (../shared/data/keypoints) ----------------------------------------------------

KP = "keypoints/"


@pytest.mark.shared
def test_pose_trainer_file_loads_with_label_and_performer_sides():
    path = shared_path(KP + "pose-trainer/shouldershrug/shouldershrug_good_1.npy")
    raw = np.load(path, allow_pickle=False)
    seq, label = load_pose_trainer_npy(path)
    assert label == {"exercise": "shrug", "source_exercise": "shouldershrug", "form": "good", "take": 1}
    assert seq.n_frames == raw.shape[0] == 63
    found = ~(raw == 0).all(axis=-1)
    # COCO-18 index 5 is the performer's left shoulder, index 2 the right one
    assert np.array_equal(seq.xy[found[:, 5], L.LEFT_SHOULDER], raw[found[:, 5], 5, :2].astype(np.float32))
    assert np.array_equal(seq.xy[found[:, 2], L.RIGHT_SHOULDER], raw[found[:, 2], 2, :2].astype(np.float32))
    # a shrug is filmed from the front: the left shoulder is on the image's right
    both = seq.mask[:, L.LEFT_SHOULDER] & seq.mask[:, L.RIGHT_SHOULDER]
    assert (seq.xyz[both, L.LEFT_SHOULDER, 0] > seq.xyz[both, L.RIGHT_SHOULDER, 0]).all()


@pytest.mark.shared
def test_pose_trainer_not_found_joints_are_nan_not_zero():
    path = shared_path(KP + "pose-trainer/bicep/bicep_good_1.npy")
    raw = np.load(path, allow_pickle=False)
    seq, label = load_pose_trainer_npy(path)
    assert (label["exercise"], label["form"]) == ("bicep_curl", "good")
    missing = (raw == 0).all(axis=-1)
    assert missing.any()  # this file has OpenPose's all-zero rows
    for j, lm in enumerate(OPENPOSE18_TO_MP):
        if lm is not None:
            assert np.array_equal(seq.mask[:, lm], ~missing[:, j]), j
    assert not (seq.xy == 0).all(axis=-1).any()
    assert (seq.visibility[~seq.mask] == 0).all()


@pytest.mark.shared
def test_every_pose_trainer_file_loads_with_its_label():
    folder = shared_path(KP + "pose-trainer")
    counts: Counter = Counter()
    for path in sorted(folder.glob("*/*.npy")):
        seq, label = load_pose_trainer_npy(path)
        assert 30 <= seq.n_frames <= 200, path.name
        counts[(label["exercise"], label["form"])] += 1
    assert counts == {
        ("bicep_curl", "good"): 5, ("bicep_curl", "bad"): 6, ("front_raise", "good"): 6,
        ("front_raise", "bad"): 6, ("shoulder_press", "good"): 11, ("shoulder_press", "bad"): 10,
        ("shrug", "good"): 6, ("shrug", "bad"): 6,
    }


@pytest.mark.shared
def test_penn_action_files_match_the_index():
    folder = shared_path(KP + "penn-action")
    with open(folder / "index.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 534
    for row in rows:
        seq, info = load_penn_action_mat(folder / "labels" / row["file"])
        assert seq.n_frames == int(row["nframes"]), row["file"]
        assert info == {"action": row["action"], "view": row["view"]}
    seq, info = load_penn_action_mat(folder / "labels" / "0345.mat")
    assert seq.frame_size == (480, 360)  # from `dimensions` (height 360, width 480)
    # the (0.75, 0.75) out-of-frame placeholder never survives as a coordinate
    assert not (seq.xy[seq.mask] <= 1.0).all(axis=-1).any()


@pytest.mark.shared
def test_penn_action_file_flagged_all_invisible_keeps_its_annotated_joints():
    seq, _ = load_penn_action_mat(shared_path(KP + "penn-action/labels/1516.mat"))
    assert seq.mask[:, L.LEFT_SHOULDER].all()
    assert np.allclose(seq.visibility[seq.mask], 0.5)  # annotated but flagged occluded
    strict, _ = load_penn_action_mat(shared_path(KP + "penn-action/labels/0345.mat"), occluded_visibility=0.0)
    assert set(np.unique(strict.visibility[strict.mask])) == {1.0}


@pytest.mark.shared
def test_posenet17_lookup_is_x_then_y():
    path = shared_path(KP + "human-pose-compare-kr1210/lookup_test_punch_side_posenet17.npy")
    seq = load_coco17_npy(path, fps=30.0)
    assert seq.n_frames == 100
    # (x, y) order: the nose is above both ankles (smaller y) in every frame
    assert (seq.xyz[:, L.NOSE, 1] < seq.xyz[:, L.LEFT_ANKLE, 1]).all()
    assert (seq.xyz[:, L.NOSE, 1] < seq.xyz[:, L.RIGHT_ANKLE, 1]).all()
    # bounding-box relative: every frame starts near 0 in both axes
    assert np.nanmin(seq.xy, axis=1).max() < 2.0
    swapped = load_coco17_npy(path, fps=30.0, order="yx")
    assert not (swapped.xyz[:, L.NOSE, 1] < swapped.xyz[:, L.LEFT_ANKLE, 1]).all()


@pytest.mark.shared
@pytest.mark.parametrize(
    ("rel", "n", "labels"),
    [
        ("bicep_model/test.csv", 604, {"C": 339, "L": 265}),
        ("lunge_model/err.test.csv", 1107, {"C": 546, "L": 561}),
        ("lunge_model/stage.test.csv", 1205, {"D": 416, "I": 402, "M": 387}),
        ("plank_model/test.csv", 710, {"C": 234, "H": 241, "L": 235}),
        ("squat_model/train.csv", 4160, {"down": 2127, "up": 2033}),
    ],
)
def test_exercise_correction_csvs_load_with_labels(rel, n, labels):
    xyz, vis, lab = load_labeled_frames(shared_path(KP + "exercise-correction-ngo/core/" + rel))
    assert xyz.shape == (n, N_LANDMARKS, 3) and vis.shape == (n, N_LANDMARKS)
    assert Counter(lab) == labels
    seen = np.isfinite(xyz[..., 0])
    assert seen[:, L.LEFT_SHOULDER].all() and seen[:, L.RIGHT_HIP].all()
    assert np.nanmax(xyz[..., :2]) < 1.5  # normalised image coordinates, not pixels
    assert (vis[~seen] == 0).all()


@pytest.mark.shared
def test_mlkit_samples_load_with_labels():
    xyz, labels = load_mlkit_samples(shared_path(KP + "mlkit-fitness-pose-samples/fitness_pose_samples.csv"))
    assert xyz.shape == (812, N_LANDMARKS, 3)
    assert Counter(labels) == {"squats_down": 225, "pushups_up": 201, "pushups_down": 195, "squats_up": 191}
    assert np.isfinite(xyz).all() and xyz[..., :2].max() > 100  # pixels


@pytest.mark.shared
def test_quva_jump_rope_has_63_rep_ends():
    ends = load_quva_rep_ends(shared_path(KP + "quva-annotations/060_jumping_rope.npy"))
    assert ends.dtype == np.int64 and ends.size == 63 and np.all(np.diff(ends) > 0)


def test_layout_names_cover_the_schema():
    assert set(importers.LAYOUT_NAMES) == {"coco17", "openpose18", "body25", "penn13", "mediapipe33"}
    assert len(LANDMARK_NAMES) == N_LANDMARKS


def _five_joints_of_the_squat_reference():
    """The squat reference's landmarks with only 5 joints kept (nose, right hip, both knees, right
    ankle), as a side view whose far side and arms are hidden: (T, 33, 3) xyz, fps, frame size."""
    from coach.references import ReferenceLibrary

    ref = ReferenceLibrary().get("model-squat-side").poses
    keep = [L.NOSE, L.RIGHT_HIP, L.LEFT_KNEE, L.RIGHT_KNEE, L.RIGHT_ANKLE]
    xyz = np.full_like(ref.xyz, np.nan)
    xyz[:, keep] = ref.xyz[:, keep]
    return xyz, ref.fps, ref.frame_size


def test_a_keypoint_layout_is_not_out_of_frame_for_joints_it_does_not_have():
    """Penn Action has 13 joints and no heels or toes: 5 of them seen is 5 of 13, not 5 of 17.
    The same 5 landmarks from the pose model (which has all 33) are still refused."""
    from coach.analysis import analyze_poses
    from coach.errors import PoseError
    from coach.schema import PENN13_TO_MP

    xyz, fps, size = _five_joints_of_the_squat_reference()
    penn = from_layout_array(xyz[:, [int(j) for j in PENN13_TO_MP], :2], "penn13", fps=fps, frame_size=size)
    a = analyze_poses(penn, exercise="squat", source="penn")
    assert a.reps.count >= 1
    mediapipe = PoseSequence(xyz=xyz.astype(np.float32), visibility=np.where(np.isfinite(xyz[..., 0]), 1.0, 0.0),
                             timestamps_s=penn.timestamps_s, fps=fps, frame_size=size)
    with pytest.raises(PoseError, match="mostly out of frame"):
        analyze_poses(mediapipe, exercise="squat", source="video")


@pytest.mark.shared
def test_penn_action_side_view_squat_with_the_far_side_unannotated_is_analysed():
    """1683.mat (a squat seen from the left; shoulders and far limbs not annotated) was refused as
    "mostly out of frame" and is now recognised as a squat."""
    from coach.analysis import analyze_poses

    seq, info = load_penn_action_mat(shared_path(KP + "penn-action/labels/1683.mat"))
    assert info["action"] == "squat"
    assert analyze_poses(seq, source="1683.mat").exercise.id == "squat"
