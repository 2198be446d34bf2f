"""The reference library: on-disk format, validation with clear messages, built-ins read-only,
atomic user writes, and a listing that survives corrupt files."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from coach import references as refs
from coach.bodymodel import builtin_entries, builtin_id, generate
from coach.errors import ReferenceLibraryError
from coach.references import ReferenceLibrary, load_reference, parse_meta, write_reference
from coach.schema import LANDMARK_NAMES, SCHEMA_VERSION

ROOT = Path(__file__).resolve().parent.parent

_CANARY: list[str] = []


class _Canary:
    """If anything ever unpickled this, the list above would say so."""

    def __reduce__(self):
        return (_CANARY.append, ("unpickled!",))


@pytest.fixture(scope="module")
def poses():
    return generate("bicep_curl", "front", reps=2, fps=10.0, seed=1).poses


@pytest.fixture(scope="module")
def bounds():
    p = generate("bicep_curl", "front", reps=2, fps=10.0, seed=1)
    return [list(b) for b in p.rep_bounds_s]


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("FORM_COACH_HOME", str(h))
    return h


@pytest.fixture
def lib(home) -> ReferenceLibrary:
    return ReferenceLibrary()


def add(lib, poses, bounds, name="My curl", **kw):
    args = dict(name=name, performer="me", exercise="bicep_curl", view="front", facing="camera",
                reps=len(bounds), rep_bounds_s=bounds, source="test", licence="CC-BY-4.0")
    args.update(kw)
    return lib.add(poses, **args)


# --- built-ins ----------------------------------------------------------------------------------


def test_builtins_are_listed_valid_and_small(lib):
    metas = lib.list()
    assert lib.problems == ()
    ids = [m.id for m in metas]
    assert ids == sorted(builtin_id(*entry) for entry in builtin_entries())
    for m in metas:
        assert lib.is_builtin(m.id)
        assert m.procedural and m.licence == "generated, CC0-1.0"
        assert m.reps >= 3 and len(m.rep_bounds_s) == m.reps
        assert (ROOT / "references" / m.keypoints_file).stat().st_size < 1_000_000
        ref = lib.get(m.id)
        assert ref.poses.n_frames == m.n_frames and ref.poses.fps == m.fps


def test_every_exercise_has_a_builtin(lib):
    from coach.exercises import EXERCISE_IDS

    assert {m.exercise for m in lib.list()} == set(EXERCISE_IDS)
    assert [m.id for m in lib.find(exercise="squat", view="side")] == ["model-squat-side"]
    assert {m.view for m in lib.find(exercise="pull_up")} == {"side", "front"}


def test_builtins_are_read_only(lib):
    with pytest.raises(ReferenceLibraryError, match="built-in references are read-only"):
        lib.delete("model-squat-side")
    assert (ROOT / "references" / "model-squat-side.json").is_file()


def test_readme_describes_the_library():
    text = (ROOT / "references" / "README.md").read_text("utf-8")
    assert "procedural" in text.lower() and "CC0-1.0" in text and "python -m coach.bodymodel build" in text


# --- user references ---------------------------------------------------------------------------


def test_add_get_delete_round_trip(lib, home, poses, bounds):
    meta = add(lib, poses, bounds)
    assert meta.id == "my-curl" and not lib.is_builtin(meta.id)
    assert (home / "references" / "my-curl.json").is_file()
    assert meta in lib.list() and lib.problems == ()
    ref = lib.get("my-curl")
    np.testing.assert_array_equal(ref.poses.xyz, poses.xyz)
    assert ref.meta.rep_bounds_s == tuple(tuple(b) for b in bounds)
    assert ref.meta.facing == "camera" and ref.meta.procedural is False
    assert ReferenceLibrary().get("my-curl").meta == meta  # a fresh library reads the same
    lib.delete("my-curl")
    assert "my-curl" not in [m.id for m in lib.list()]
    assert list((home / "references").iterdir()) == []
    with pytest.raises(ReferenceLibraryError, match="expected the id of a reference in the library"):
        lib.get("my-curl")


def test_same_name_gets_a_new_id_and_leaves_the_first_alone(lib, home, poses, bounds):
    first = add(lib, poses, bounds)
    before = (home / "references" / "my-curl.npz").read_bytes(), (home / "references" / "my-curl.json").read_bytes()
    second = add(lib, poses, bounds, name="My  curl!")
    assert (first.id, second.id) == ("my-curl", "my-curl-2")
    after = (home / "references" / "my-curl.npz").read_bytes(), (home / "references" / "my-curl.json").read_bytes()
    assert before == after


def test_a_user_id_never_shadows_a_builtin(lib, poses, bounds):
    meta = add(lib, poses, bounds, name="Model squat side")
    assert meta.id == "model-squat-side-2"


def test_non_ascii_names_get_a_safe_id(lib, poses, bounds):
    meta = add(lib, poses, bounds, name="Curl für Jörg ✓")
    assert meta.id == "curl-fur-jorg" and meta.name == "Curl für Jörg ✓"
    assert add(lib, poses, bounds, name="✓✓").id == "reference"


@pytest.mark.parametrize(
    "name",
    [
        "",  # empty
        "   ",  # only spaces
        "x" * 81,  # too long
        "two\nlines",  # not printable
        42,  # not a string
    ],
)
def test_bad_names_are_refused(lib, home, poses, bounds, name):
    with pytest.raises(ReferenceLibraryError, match="expected a name of 1-80 printable characters"):
        add(lib, poses, bounds, name=name)
    assert not (home / "references").exists() or list((home / "references").iterdir()) == []


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"exercise": "yoga"}, r"expected exercise in \['squat'"),
        ({"view": "top"}, r"expected view in \['front', 'side', 'back', 'oblique'\], got 'top'"),
        ({"facing": "up"}, "expected facing in"),
        ({"reps": 3}, "expected 3 rep bounds"),
        ({"rep_bounds_s": [[2.0, 1.0, 3.0], [3.0, 4.0, 5.0]]}, r"start <= peak <= end"),
        ({"rep_bounds_s": [[0.5, 1.0, 99.0], [3.0, 4.0, 5.0]]}, "within the clip"),
        ({"licence": ""}, "expected a non-blank licence"),
    ],
)
def test_bad_fields_are_refused_before_anything_is_written(lib, home, poses, bounds, kw, match):
    with pytest.raises(ReferenceLibraryError, match=match):
        add(lib, poses, bounds, **kw)
    assert not (home / "references").exists() or list((home / "references").iterdir()) == []


def test_a_crash_while_writing_leaves_no_half_reference(lib, home, poses, bounds, monkeypatch):
    keep = add(lib, poses, bounds, name="Keep me")
    snapshot = {p.name: p.read_bytes() for p in (home / "references").iterdir()}
    real = refs._write_atomic

    def crash_on_json(path, data):
        if path.suffix == ".json":
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(refs, "_write_atomic", crash_on_json)
    with pytest.raises(ReferenceLibraryError, match="No space left on device"):
        add(lib, poses, bounds, name="Doomed")
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in (home / "references").iterdir()} == snapshot
    assert [m.id for m in lib.list() if not lib.is_builtin(m.id)] == [keep.id]


def test_leftover_temp_and_orphan_files_are_ignored(lib, home, poses, bounds):
    add(lib, poses, bounds)
    d = home / "references"
    (d / ".my-curl.json.abc.tmp").write_text("{half")
    (d / "orphan.npz").write_bytes(b"no json for me")
    assert [m.id for m in lib.list() if not lib.is_builtin(m.id)] == ["my-curl"]
    assert lib.problems == ()
    assert add(lib, poses, bounds, name="orphan").id == "orphan-2"  # never overwrites the orphan


def test_write_reference_refuses_to_overwrite(tmp_path, poses, bounds):
    kw = dict(ref_id="r1", name="R1", performer="p", exercise="bicep_curl", view="front",
              reps=2, rep_bounds_s=bounds, source="s", licence="l")
    write_reference(tmp_path, poses, **kw)
    with pytest.raises(FileExistsError):
        write_reference(tmp_path, poses, **kw)
    meta = write_reference(tmp_path, poses, overwrite=True, **kw)
    assert load_reference(tmp_path / "r1.json").meta == meta


def test_data_home_defaults_to_dot_form_coach(monkeypatch, tmp_path):
    monkeypatch.delenv("FORM_COACH_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert refs.data_home() == tmp_path / ".form_coach"
    assert ReferenceLibrary().user_dir == tmp_path / ".form_coach" / "references"


@pytest.mark.parametrize("bad", ["../etc/passwd", "UPPER", "", "a/b", "-dash", None])
def test_ids_must_be_safe_file_names(lib, bad):
    with pytest.raises(ReferenceLibraryError, match="expected an id of a-z, 0-9"):
        lib.get(bad)
    assert lib.is_builtin(bad) is False


# --- corrupt files ------------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path, poses, bounds) -> Path:
    """A valid reference written to tmp_path; returns its .json path."""
    write_reference(tmp_path, poses, ref_id="ok-ref", name="OK", performer="p", exercise="bicep_curl",
                    view="front", facing="camera", reps=2, rep_bounds_s=bounds, source="s", licence="l")
    return tmp_path / "ok-ref.json"


def _edit_json(path: Path, **changes) -> None:
    d = json.loads(path.read_text("utf-8"))
    for k, v in changes.items():
        if v is _DELETE:
            del d[k]
        else:
            d[k] = v
    path.write_text(json.dumps(d), "utf-8")


_DELETE = object()


def _set_npz(json_path: Path, blob: bytes) -> None:
    """Replace the keypoints and make the checksum agree, to reach the checks behind it."""
    (json_path.with_suffix(".npz")).write_bytes(blob)
    _edit_json(json_path, keypoints_sha256=hashlib.sha256(blob).hexdigest())


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # allow_pickle defaults to True when *saving*: object arrays get pickled
    return buf.getvalue()


def _header(**over) -> np.ndarray:
    h = {"schema_version": SCHEMA_VERSION, "keypoints": list(LANDMARK_NAMES), "fps": 10.0,
         "frame_size": [720, 1280], "meta": {}}
    h.update(over)
    return np.frombuffer(json.dumps(h).encode(), dtype=np.uint8)


def _break_bad_json(p):
    p.write_text('{"format": "form-coach-reference", ', "utf-8")


def _break_not_utf8(p):
    p.write_bytes(b"\xff\xfe\x00junk")


def _break_not_object(p):
    p.write_text("[1, 2, 3]", "utf-8")


def _break_missing_key(p):
    _edit_json(p, fps=_DELETE)


def _break_wrong_format(p):
    _edit_json(p, format="something-else")


def _break_schema(p):
    _edit_json(p, schema_version=2)


def _break_wrong_exercise(p):
    _edit_json(p, exercise="yoga")


def _break_wrong_view(p):
    _edit_json(p, view="above")


def _break_reps_type(p):
    _edit_json(p, reps="2")


def _break_bool_as_fps(p):
    _edit_json(p, fps=True)


def _break_procedural_type(p):
    _edit_json(p, procedural="yes")


def _break_bounds_count(p):
    _edit_json(p, reps=3)


def _break_bounds_shape(p):
    _edit_json(p, rep_bounds_s=[[0.5, 1.0], [2.0, 2.5, 3.0]])


def _break_id_mismatch(p):
    _edit_json(p, id="other-ref")


def _break_unsafe_id(p):
    _edit_json(p, id="../../evil")


def _break_keypoints_path(p):
    _edit_json(p, keypoints_file="../elsewhere.npz")


def _break_missing_npz(p):
    p.with_suffix(".npz").unlink()


def _break_checksum(p):
    blob = bytearray(p.with_suffix(".npz").read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    p.with_suffix(".npz").write_bytes(bytes(blob))


def _break_truncated_npz(p):
    _set_npz(p, p.with_suffix(".npz").read_bytes()[:500])


def _break_not_a_zip(p):
    _set_npz(p, b"hello, not a zip at all")


def _break_pickled_npz(p):
    xyz = np.empty((1,), dtype=object)
    xyz[0] = _Canary()
    _set_npz(p, _npz(xyz=xyz, visibility=np.zeros((1, 33), np.float32),
                     timestamps_s=np.zeros(1), header=_header()))


def _break_npz_missing_array(p):
    _set_npz(p, _npz(xyz=np.zeros((2, 33, 3), np.float32), header=_header()))


def _break_frame_count(p):
    _edit_json(p, n_frames=5)


def _break_fps(p):
    _edit_json(p, fps=25.0)


def _break_npz_schema(p):
    _set_npz(p, _npz(xyz=np.zeros((2, 33, 3), np.float32), visibility=np.zeros((2, 33), np.float32),
                     timestamps_s=np.arange(2) / 10.0, header=_header(schema_version=99)))


CORRUPTIONS = [
    (_break_bad_json, "expected JSON, got a syntax error at line 1"),
    (_break_not_utf8, "expected UTF-8 JSON"),
    (_break_not_object, "expected a JSON object, got list"),
    (_break_missing_key, "expected key 'fps', got none"),
    (_break_wrong_format, "expected format 'form-coach-reference', got 'something-else'"),
    (_break_schema, "expected schema_version 1, got 2"),
    (_break_wrong_exercise, r"expected exercise in \[.*\], got 'yoga'"),
    (_break_wrong_view, r"expected view in \[.*\], got 'above'"),
    (_break_reps_type, "expected reps to be an integer, got '2'"),
    (_break_bool_as_fps, "expected fps to be a number, got True"),
    (_break_procedural_type, "expected procedural to be true/false, got 'yes'"),
    (_break_bounds_count, "expected 3 rep bounds"),
    (_break_bounds_shape, r"expected rep_bounds_s\[0\] = \[start, peak, end\]"),
    (_break_id_mismatch, "expected id 'ok-ref' \\(the file name\\), got 'other-ref'"),
    (_break_unsafe_id, "expected an id of a-z"),
    (_break_keypoints_path, "expected keypoints_file as a plain"),
    (_break_missing_npz, "expected keypoints file ok-ref.npz"),
    (_break_checksum, "expected keypoints_sha256 .*, got .*changed or is corrupt"),
    (_break_truncated_npz, "not a readable Form Coach .npz"),
    (_break_not_a_zip, "not a readable Form Coach .npz"),
    (_break_pickled_npz, "not a readable Form Coach .npz .*allow_pickle=False"),
    (_break_npz_missing_array, "missing \\['timestamps_s', 'visibility'\\]"),
    (_break_frame_count, "expected n_frames 5 as in the keypoints, got"),
    (_break_fps, "expected fps 25 as in the keypoints, got 10"),
    (_break_npz_schema, "expected schema_version 1, got 99"),
]


@pytest.mark.parametrize("corrupt, match", CORRUPTIONS, ids=[c.__name__[7:] for c, _ in CORRUPTIONS])
def test_every_corrupt_file_gives_one_clear_line(saved, corrupt, match):
    assert load_reference(saved).meta.id == "ok-ref"
    corrupt(saved)
    with pytest.raises(ReferenceLibraryError, match=match) as info:
        load_reference(saved)
    msg = str(info.value)
    assert msg.startswith("ok-ref.json: ") and "\n" not in msg
    assert "expected" in msg
    assert _CANARY == []  # no pickle was ever executed


def test_listing_survives_a_corrupt_user_file(lib, home, poses, bounds):
    add(lib, poses, bounds, name="Good one")
    add(lib, poses, bounds, name="Bad one")
    (home / "references" / "bad-one.npz").write_bytes(b"garbage")
    (home / "references" / "broken.json").write_text("{oops", "utf-8")
    metas = lib.list()
    user = [m.id for m in metas if not lib.is_builtin(m.id)]
    assert user == ["good-one"]
    assert len([m for m in metas if lib.is_builtin(m.id)]) == len(builtin_entries())
    assert len(lib.problems) == 2
    assert any("bad-one.json" in p and "keypoints_sha256" in p for p in lib.problems)
    assert any("broken.json" in p and "expected JSON" in p for p in lib.problems)
    with pytest.raises(ReferenceLibraryError, match=r"bad-one\.json"):
        lib.get("bad-one")
    lib.delete("bad-one")  # a broken user reference can still be removed
    lib.list()
    assert len(lib.problems) == 1


def test_a_corrupt_builtin_is_skipped_not_fatal(tmp_path, poses, bounds):
    builtin = tmp_path / "builtin"
    for ref_id in ("model-squat-side", "model-lunge-side"):
        for ext in (".json", ".npz"):
            (builtin / f"{ref_id}{ext}").parent.mkdir(exist_ok=True)
            (builtin / f"{ref_id}{ext}").write_bytes((ROOT / "references" / f"{ref_id}{ext}").read_bytes())
    (builtin / "model-lunge-side.npz").write_bytes(b"broken")
    lib = ReferenceLibrary(builtin_dir=builtin, user_dir=tmp_path / "user")
    assert [m.id for m in lib.list()] == ["model-squat-side"]
    assert len(lib.problems) == 1 and "built-in" in lib.problems[0]


def test_changed_files_are_reread(lib, home, poses, bounds):
    add(lib, poses, bounds)
    assert lib.get("my-curl").meta.name == "My curl"
    path = home / "references" / "my-curl.json"
    _edit_json(path, name="Renamed")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10_000_000))
    assert lib.get("my-curl").meta.name == "Renamed"


def test_meta_json_round_trip(saved):
    meta = load_reference(saved).meta
    assert parse_meta(meta.to_json_dict(), where="x") == meta
    assert json.loads(saved.read_text("utf-8"))["format"] == "form-coach-reference"


def test_warm_up_loads_every_usable_reference_and_its_features_and_survives_a_corrupt_one(lib, home, poses, bounds):
    """What the server does while idle: the first upload then finds the references loaded."""
    from coach import analysis

    add(lib, poses, bounds, name="Good one")
    add(lib, poses, bounds, name="Bad one")
    (home / "references" / "bad-one.npz").write_bytes(b"garbage")
    analysis._FEATURE_CACHE.clear()
    n = analysis.warm_up_analysis(lib)
    assert n == len(builtin_entries()) + 1
    ids = {ref_id for ref_id, _sha in analysis._FEATURE_CACHE}
    assert "good-one" in ids and "bad-one" not in ids
    assert all(np.isfinite(f).any() for f in analysis._FEATURE_CACHE.values())
