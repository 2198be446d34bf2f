"""bench/accuracy.py: the statistics on hand-checkable cases, then the whole harness as a
subprocess on a tiny manifest written in tmp_path (real short clips from ../shared/data reached by
relative paths, one text file posing as a video, two pose-trainer files and two Penn Action clips
copied into tmp_path/.../keypoints/)."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, shared_path


def _load_bench(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


acc = _load_bench("accuracy")


@pytest.mark.parametrize(
    ("pos", "neg", "expected"),
    [
        ([3, 4], [1, 2], 1.0),  # perfectly separated
        ([1, 2], [3, 4], 0.0),  # perfectly reversed
        ([1, 2], [1, 2], 0.5),  # identical: 2 ties of 4 pairs + 1 win + 1 loss
        ([2], [1, 2, 3], 0.5),  # one win, one tie, one loss
        ([1, float("nan")], [0], 1.0),  # NaN scores are dropped
    ],
)
def test_auc_is_the_mann_whitney_statistic_with_ties_as_half(pos, neg, expected):
    assert acc.auc(pos, neg) == pytest.approx(expected)


def test_auc_is_undefined_without_both_classes():
    assert acc.auc([1.0], []) is None
    assert acc.auc([], [1.0]) is None


def test_rep_figures_on_known_counts():
    # (pred, true): exact, off by one, off by two on a 2-rep clip, a false rep on a 0-rep clip
    f = acc.rep_figures([(5, 5), (4, 5), (4, 2), (1, 0)])
    assert f["mae"] == pytest.approx((0 + 0.2 + 1.0 + 1.0) / 4, abs=1e-4)
    assert f["obo"] == pytest.approx(3 / 4, abs=1e-4)
    assert f["exact"] == pytest.approx(1 / 4, abs=1e-4)
    assert f["obo_2plus"] == pytest.approx(2 / 3, abs=1e-4)  # the 0-rep clip is not in the 2+ group
    assert f["clips"] == 4
    assert acc.rep_figures([])["mae"] is None


def test_manifest_without_the_required_columns_is_refused(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("file,exercise\nx.mp4,squat\n")
    with pytest.raises(SystemExit, match="missing"):
        acc.read_manifest(p)


# --- the harness end to end ----------------------------------------------------------------

CLIPS = [
    # (path under ../shared/data, why it is here)
    "videos/pose-estimation-jintao/pose_gif/Squat.mp4",  # defined exercise, 1 rep, front view
    "videos/compubox-shangar21/cross_hook.mp4",  # punch: no definition -> generic counter
    "videos/deadlift-visual-analyzer/Dataset_small/Good/000002.mp4",  # form: correct
    "videos/deadlift-visual-analyzer/Dataset_small/Bad/000001.mp4",  # form: incorrect
]
POSE_TRAINER = ["shoulderpress/shoulderpressgood13.npy", "shoulderpress/shoulderpressbad10.npy"]
PENN = ["1561.mat", "1563.mat"]  # situp rows (not an exercise we define) are skipped


def _write_manifest(tmp_path: Path, shared: Path) -> Path:
    with open(shared / "manifest.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames
        rows = {r["path"]: r for r in reader}
    folder = tmp_path / "bench_manifest"
    folder.mkdir()
    out = []
    for rel in CLIPS:
        row = dict(rows[rel])
        row["path"] = os.path.relpath(shared / rel, folder)  # relative to the manifest's folder
        out.append(row)
    (folder / "not_a_video.mp4").write_text("this is text, not a video\n")
    bad = dict.fromkeys(fields, "")
    bad.update(path="not_a_video.mp4", exercise="squat", view="side", reps="3")
    out.append(bad)
    missing = dict(bad, path="nowhere/missing.mp4")
    out.append(missing)
    with open(folder / "manifest.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(out)
    # keypoint-only data in the same layout, copied (never into the repository)
    for rel in POSE_TRAINER:
        dst = folder / "keypoints" / "pose-trainer" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shared / "keypoints" / "pose-trainer" / rel, dst)
    penn_src = shared / "keypoints" / "penn-action"
    penn = folder / "keypoints" / "penn-action"
    (penn / "labels").mkdir(parents=True)
    with open(penn_src / "index.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        idx_fields = reader.fieldnames
        index = list(reader)
    keep = [r for r in index if r["action"] == "squat"][:2] + [r for r in index if r["file"] in PENN]
    with open(penn / "index.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=idx_fields)
        w.writeheader()
        w.writerows(keep)
    for r in keep:
        shutil.copy(penn_src / "labels" / r["file"], penn / "labels" / r["file"])
    return folder / "manifest.csv"


@pytest.fixture(scope="module")
def harness_run(tmp_path_factory):
    shared = shared_path("manifest.csv").parent
    for rel in CLIPS:
        shared_path(rel)
    shared_path("keypoints/penn-action/index.csv")
    tmp_path = tmp_path_factory.mktemp("bench")
    manifest = _write_manifest(tmp_path, shared)
    home = tmp_path / "home"
    out_json, out_md = tmp_path / "acc.json", tmp_path / "report.md"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "accuracy.py"), "--manifest", str(manifest), "--json", str(out_json),
         "--out", str(out_md), "--cache-dir", str(home)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False,
    )
    return proc, manifest, home, out_json, out_md


@pytest.mark.shared
@pytest.mark.slow
def test_harness_exits_0_and_writes_the_documented_figures(harness_run):
    proc, _m, _h, out_json, out_md = harness_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out_json.read_text())
    assert set(data["reps"]) >= {"mae", "obo", "exact", "obo_2plus", "clips"}
    assert set(data["form"]) >= {"auc", "accuracy", "clips"}
    assert set(data["recognition"]) >= {"accuracy", "clips"}
    assert {"pose-trainer", "penn-action"} <= set(data["keypoints"])
    assert data["reps"]["clips"] == len(CLIPS)
    assert data["reps"]["generic_only"]["clips"] == len(CLIPS)  # the fallback on every labelled clip
    assert data["form"]["clips"] == 2  # one correct and one incorrect deadlift
    assert data["form"]["auc"] in (0.0, 0.5, 1.0)
    assert "| clip |" in out_md.read_text() and "| clip |" in proc.stdout


@pytest.mark.shared
@pytest.mark.slow
def test_bad_rows_are_reported_as_errors_not_crashes(harness_run):
    proc, _m, _h, out_json, _md = harness_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out_json.read_text())
    assert data["errors"] == 2
    bad = {e["path"]: e["error"] for e in data["error_rows"]}
    assert "not_a_video.mp4" in bad and "nowhere/missing.mp4" in bad
    assert "not found" in bad["nowhere/missing.mp4"]
    assert "## Errors: 2" in proc.stdout


@pytest.mark.shared
@pytest.mark.slow
def test_rep_counts_match_the_engines_own_count(harness_run, monkeypatch):
    from coach.analysis import count_exercise_reps, extract_video_poses
    from coach.clean import clean_poses
    from coach.exercises import EXERCISES
    from coach.settings import DEFAULT_SETTINGS

    proc, manifest, home, out_json, _md = harness_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    monkeypatch.setenv("FORM_COACH_HOME", str(home))  # the run's cache: no pose model needed here
    clips = {c["path"]: c for c in json.loads(out_json.read_text())["clips"]}
    for row in csv.DictReader(open(manifest, newline="")):
        if row["path"] not in clips or clips[row["path"]]["error"]:
            continue
        seq, _info, t = extract_video_poses(manifest.parent / row["path"], use_cache=True)
        assert t["pose"] == 0.0  # served from the harness's cache
        ex = EXERCISES.get(row["exercise"])
        res = count_exercise_reps(clean_poses(seq, DEFAULT_SETTINGS.clean).poses, ex, DEFAULT_SETTINGS)
        got = clips[row["path"]]
        assert got["pred_reps"] == res.count, row["path"]
        assert got["rep_counter"] == ("exercise" if ex else "generic")
        generic = count_exercise_reps(clean_poses(seq, DEFAULT_SETTINGS.clean).poses, None, DEFAULT_SETTINGS)
        assert got["generic_reps"] == generic.count, row["path"]


compare = _load_bench("compare_runs")


@pytest.mark.shared
@pytest.mark.slow
def test_compare_runs_names_the_clips_that_moved_and_which_way(harness_run, tmp_path):
    proc, _m, _h, out_json, _md = harness_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = compare.load_run(out_json)
    assert compare.clip_changes(run, run) == []  # a run against itself
    moved = json.loads(out_json.read_text())
    counted = next(c for c in moved["clips"] if c.get("true_reps") and c.get("pred_reps") is not None)
    judged = next(c for c in moved["clips"] if c.get("form") == "correct" and c.get("score") is not None)
    counted["pred_reps"] = counted["true_reps"] + 3  # further off than any real count
    judged["score"] = judged["score"] - 50
    judged["verdict"] = "fail"
    assert isinstance(judged["rule_faults"], list)  # the rules broken, recorded per clip
    judged["rule_faults"] = sorted({*judged["rule_faults"], "made_up_rule"})
    moved["reps"]["mae"] = run["reps"]["mae"] + 0.1
    after = tmp_path / "after.json"
    after.write_text(json.dumps(moved))
    changes = {c.path: c for c in compare.clip_changes(run, compare.load_run(after))}
    assert set(changes) == {counted["path"], judged["path"]}
    assert ("reps", -1) in changes[counted["path"]].effects
    assert any(ch.startswith("faults ") and "+made_up_rule" in ch for ch in changes[judged["path"]].changes)
    worse = compare.tally(list(changes.values()))
    assert worse["reps"] == (0, 1) and worse["score"] == (0, 1)
    # a correct clip failed: worse unless it already failed before
    assert worse["verdict"] == ((0, 0) if run_verdict(run, judged["path"]) == "fail" else (0, 1))
    text = compare.report(run, compare.load_run(after))
    assert "| rep MAE |" in text and "(worse)" in text and counted["path"] in text


def run_verdict(run: dict, path: str) -> str | None:
    return next(c.get("verdict") for c in run["clips"] if c["path"] == path)


@pytest.mark.parametrize(("content", "says"), [
    ("not json", "unreadable JSON"),
    ("[1, 2]", "expected a JSON object, got list"),
    ('{"reps": {}, "form": {}}', "without recognition, clips"),
])
def test_compare_runs_refuses_what_is_not_an_accuracy_run(tmp_path, capsys, content, says):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert compare.main([str(bad), str(bad)]) == 2
    assert says in capsys.readouterr().err


@pytest.mark.shared
@pytest.mark.slow
def test_keypoint_datasets_next_to_the_manifest_are_measured(harness_run):
    proc, _m, _h, out_json, _md = harness_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    kp = json.loads(out_json.read_text())["keypoints"]
    pt = kp["pose-trainer"]
    assert pt["clips"] == 2 and not pt["errors"], pt
    assert pt["per_exercise"]["shoulder_press"]["clips"] == 2  # both scored: AUC defined
    assert pt["auc"] in (0.0, 0.5, 1.0)
    penn = kp["penn-action"]
    assert penn["recognition"]["clips"] == 2 and not penn["errors"], penn  # the squats; sit-ups skipped


@pytest.mark.shared
def test_labelled_single_frames_check_the_rules_measures():
    """exercise-correction-ngo frames labelled correct or with one fault: the measure behind the
    engine's rule for that fault ranks the faulty frames above the correct ones."""
    folder = shared_path("keypoints/exercise-correction-ngo")
    out = acc.eval_labelled_frames(folder)
    assert not out["errors"], out["errors"]
    form = out["form"]
    assert set(form) == {"plank:hip_sag", "plank:hip_pike", "bicep:curl_swing", "lunge:lunge_knee_over_toe"}
    for key, f in form.items():
        assert f["fault_frames"] > 100 and f["correct_frames"] > 100, key
        assert f["auc"] >= 0.95, (key, f)  # measured 1.000, 0.998, 1.000, 0.959


def test_labelled_frames_of_another_folder_are_skipped_not_fatal(tmp_path):
    (tmp_path / "core" / "plank_model").mkdir(parents=True)
    (tmp_path / "core" / "plank_model" / "test.csv").write_text("label,nose_x\nC,abc\n")
    out = acc.eval_labelled_frames(tmp_path)
    assert out["form"] == {} and len(out["errors"]) == 2  # both plank checks read the bad file
    assert "plank_model/test.csv" in out["errors"][0]["file"]


@pytest.mark.slow
def test_speed_harness_times_the_dashboard_and_the_cold_path(tmp_path):
    """bench/speed.py on a real 3 s clip: the documented figures, the warm (dashboard) analysis
    not slower than the cold one, and no pose worker left behind."""
    clip = shared_path("videos/nadamarie-dataset/hammer curl_12.mp4")
    out = tmp_path / "speed.json"
    env = {**os.environ, "FORM_COACH_HOME": str(tmp_path / "home")}
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "speed.py"), "--video", str(clip), "--no-render",
                        "--json", str(out)], check=False, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    fig = json.loads(out.read_text())
    for key in ("rtf", "rtf_repeat", "rtf_cold", "fps", "peak_mb", "dtw_ms", "tslearn_ms", "live_fps"):
        assert isinstance(fig[key], (int, float)) and fig[key] > 0, (key, fig.get(key))
    assert fig["duration_s"] == pytest.approx(3.1, abs=0.1) and fig["exercise"] == "bicep_curl"
    # the warm workers skip ~0.5 s of start-up; allow noise on a busy CI machine
    assert fig["rtf"] < fig["rtf_cold"] + 0.05
    # the whole command starts everything the dashboard has ready (rtf_cold may not be beaten: in this
    # empty data folder it also compiled the pose models, which the timed CLI run finds cached)
    assert fig["rtf_cli"] > fig["rtf"] and fig["cli_s"] == pytest.approx(fig["rtf_cli"] * fig["duration_s"], rel=0.01)
    assert "the whole CLI command" in r.stdout
    assert "as the dashboard runs it" in r.stdout and "new worker processes" in r.stdout
    # the floor is built from measured per-frame costs and no run can beat it by much
    assert 0 < fig["floor_rtf"] < fig["rtf_cold"] and "pose floor on this machine" in r.stdout
    ps = subprocess.run(["pgrep", "-f", "coach.pose_worker --serve"], check=False, capture_output=True, text=True)
    assert ps.stdout.strip() == "", "a warm pose worker outlived the benchmark"


def test_speed_floor_counts_the_longer_workers_frames():
    """Two workers: the second takes half the clip plus its warm-up; a short clip runs on one."""
    from coach.pose import MIN_PARALLEL_FRAMES, WARMUP_FRAMES

    speed = _load_bench("speed")
    two = speed.pose_floor(150, decode_cpu_s=0.75, model_ms=12.0, duration_s=5.0)  # 5 ms decode a frame
    assert two["floor_workers"] == 2 and two["floor_decode_ms"] == 5.0
    assert two["floor_rtf"] == pytest.approx((75 + WARMUP_FRAMES) * 17.0 / 1000 / 5.0, abs=1e-3)
    n = MIN_PARALLEL_FRAMES - 1
    one = speed.pose_floor(n, decode_cpu_s=n * 0.005, model_ms=12.0, duration_s=4.0)
    assert one["floor_workers"] == 1 and one["floor_rtf"] == pytest.approx(n * 17.0 / 1000 / 4.0, abs=1e-3)


def test_mirror_clips_writes_flipped_copies_and_a_manifest_of_what_it_wrote(tmp_path):
    from coach.video import iter_frames

    clip = shared_path("videos/deadlift-visual-analyzer/Dataset_small/Good/000001.mp4")
    src_dir = tmp_path / "src"
    (src_dir / "v").mkdir(parents=True)
    shutil.copy(clip, src_dir / "v" / "a.mp4")
    with open(src_dir / "manifest.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "exercise", "reps"])
        w.writerow(["v/a.mp4", "deadlift", "1"])
        w.writerow(["v/missing.mp4", "squat", "3"])
    out = tmp_path / "mirrored"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "mirror_clips.py"), "--manifest",
                           str(src_dir / "manifest.csv"), "--out", str(out)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "v/missing.mp4: skipped (missing)" in proc.stderr
    with open(out / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["path"] for r in rows] == ["v/a.mp4"] and rows[0]["exercise"] == "deadlift"
    (_, a), = [f for i, f in enumerate(iter_frames(src_dir / "v" / "a.mp4", max_side=320)) if i == 40]
    (_, b), = [f for i, f in enumerate(iter_frames(out / "v" / "a.mp4", max_side=320)) if i == 40]
    assert a.shape == b.shape
    flipped = np.abs(a[:, ::-1].astype(int) - b.astype(int)).mean()
    unflipped = np.abs(a.astype(int) - b.astype(int)).mean()
    assert flipped < 6 < unflipped, (flipped, unflipped)


def test_compare_runs_shows_keypoint_sections_by_their_accuracy():
    """A keypoint dataset's recognition and view are sections ({"accuracy", "clips", ...}): their
    accuracy is compared, so a run that refuses every Penn Action sequence shows as worse."""
    old = {"keypoints": {"penn-action": {"recognition": {"accuracy": 0.95, "clips": 441}, "view": {"accuracy": 0.58},
                                         "reps": "not labelled"}}}
    new = {"keypoints": {"penn-action": {"recognition": {"accuracy": 0.0, "clips": 441}, "view": {"accuracy": 0.58},
                                         "reps": "not labelled"}}}
    rows = {label: (a, b) for label, a, b in compare.figure_rows(old, new)}
    assert rows["penn-action recognition"] == (0.95, 0.0)
    assert rows["penn-action view"] == (0.58, 0.58)
    assert not any(label.startswith("penn-action reps") for label in rows)
