"""Accuracy benchmark: run the whole pipeline on every row of a manifest and print the figures.

    python bench/accuracy.py --manifest ../shared/data/manifest.csv [--out report.md] [--json acc.json]

The manifest has the columns of ../shared/data/manifest.csv (path, exercise, view, reps, form,
source_repo, ...); `path` is relative to the manifest's folder. Keypoint-only datasets are looked
up in `<manifest folder>/keypoints/` (same layout as ../shared/data/keypoints/).

Per video row (keypoints are extracted once and cached by content hash under $FORM_COACH_HOME):
- reps: counted with the labelled exercise's signal when the engine defines that exercise, else with
  the generic periodicity counter (`count_exercise_reps(poses, None, ...)`), and checked against
  the video's motion as an upload is (`count_reps_checked`: optical flow is the count where the
  pose lost the person often and is unsure); the counter used is reported per clip ("flow" where
  flow's count was taken). Rows without a `reps` value are not counted in the rep figures.
- recognition: the exercise `analyze_poses` recognises without being told, for rows whose exercise
  the engine defines; an analysis the engine refuses (no usable person) counts as wrong.
- view: `coach.analysis.view_of` on the cleaned poses, where the label is front or side.
- form score: the score a user gets against the library's reference for the labelled exercise
  (and the labelled view when it is front/side and such a reference exists), i.e. recognition is
  measured separately and does not leak into the form figures.

Figures (definitions):
- MAE = mean over clips of |pred - true| / true (for true = 0: |pred|, i.e. each false rep counts
  as a 100 % error); OBO = share of clips with |pred - true| <= 1; exact = share with pred == true;
  obo_2plus = OBO over clips with true >= 2 (OBO says little on one-rep clips).
- form AUC = Mann-Whitney AUC of the overall score with `correct` as the positive class
  (P(score of a correct clip > score of an incorrect one), ties count 1/2); accuracy = share of
  clips whose verdict (pass/fail) matches correct/incorrect.
- baselines on the same clips (SEEDS §3: median over keypoints of per-keypoint DTW on the y
  trajectory against one correct clip of the exercise; SEEDS §4: mean cosine similarity of
  bbox + L2 normalised poses over the DTW-aligned frames against that clip). The template clip is
  left out of the baseline AUCs (its distance to itself is 0); ours is also given on that subset.

A bad row (missing file, not a video, no person, an engine exception) becomes an error row and is
counted in `errors`; the run goes on and exits 0. `--json` writes the figures (see `build_json`).
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import math
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/accuracy.py` from a checkout without installing
    sys.path.insert(0, str(ROOT))

REQUIRED_COLUMNS = ("path", "exercise", "view", "reps", "form")
LABELLED_VIEWS = ("front", "side")
BASELINE_FPS = 15.0  # both baselines compare trajectories resampled to this rate

# Penn Action action -> our exercise id (those without an engine definition are skipped)
PENN_ACTIONS: dict[str, str] = {
    "squat": "squat",
    "pushup": "push_up",
    "pullup": "pull_up",
    "jumping_jacks": "jumping_jack",
    "bench_press": "bench_press",
    "situp": "sit_up",
    "clean_and_jerk": "clean_and_jerk",
}
PENN_VIEWS: dict[str, str] = {"left": "side", "right": "side", "front": "front", "back": "back"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- small statistics (hand-checkable, tested in tests/test_bench.py) --------------------------


def auc(pos: Iterable[float], neg: Iterable[float]) -> float | None:
    """Mann-Whitney AUC: P(a positive scores higher than a negative), ties count 1/2.
    None when either class is empty (NaN scores are dropped)."""
    p = np.asarray([x for x in pos if x is not None and np.isfinite(x)], dtype=np.float64)
    n = np.asarray([x for x in neg if x is not None and np.isfinite(x)], dtype=np.float64)
    if p.size == 0 or n.size == 0:
        return None
    diff = p[:, None] - n[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def rep_error(pred: int, true: int) -> float:
    """|pred - true| / true; for true = 0 the absolute count |pred| (documented in the module)."""
    return abs(pred - true) / true if true > 0 else float(abs(pred))


def rep_figures(pairs: Sequence[tuple[int, int]]) -> dict:
    """pairs: (pred, true). MAE, OBO, exact share, OBO over true >= 2 and the number of clips."""
    if not pairs:
        return {"mae": None, "obo": None, "exact": None, "obo_2plus": None, "clips": 0, "clips_2plus": 0}
    pred = np.array([p for p, _ in pairs])
    true = np.array([t for _, t in pairs])
    err = np.array([rep_error(int(p), int(t)) for p, t in pairs])
    off = np.abs(pred - true)
    two = true >= 2
    return {
        "mae": round(float(err.mean()), 4),
        "obo": round(float((off <= 1).mean()), 4),
        "exact": round(float((off == 0).mean()), 4),
        "obo_2plus": round(float((off[two] <= 1).mean()), 4) if two.any() else None,
        "clips": len(pairs),
        "clips_2plus": int(two.sum()),
    }


def _share(hits: Sequence[bool]) -> float | None:
    return round(float(np.mean(hits)), 4) if len(hits) else None


# --- manifest ----------------------------------------------------------------------------------


def read_manifest(path: Path) -> list[dict]:
    """Rows as dicts plus `row` (1-based data row number). Raises SystemExit on a missing column."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SystemExit(
                f"error: {path}: expected the columns {list(REQUIRED_COLUMNS)} (as ../shared/data/manifest.csv), "
                f"missing {missing}"
            )
        rows = []
        for i, r in enumerate(reader, start=1):
            rows.append({k: (v or "").strip() for k, v in r.items() if k is not None} | {"row": i})
    return rows


def select_rows(rows: list[dict], *, match: str | None, exercise: str | None, limit: int | None) -> list[dict]:
    out = [
        r for r in rows
        if (not match or match.lower() in r["path"].lower())
        and (not exercise or r["exercise"] == exercise)
    ]
    return out[:limit] if limit else out


def _parse_reps(text: str) -> int | None:
    if text == "":
        return None
    v = float(text)  # "4" and "4.0" both occur in hand-made manifests
    if not (math.isfinite(v) and v >= 0 and v == int(v)):
        raise ValueError(f"expected a whole number of reps >= 0, got {text!r}")
    return int(v)


# --- per clip ----------------------------------------------------------------------------------


NO_USER_REFERENCES = Path(tempfile.gettempdir()) / "form-coach-bench-no-user-references"  # never created


def _library():
    """The built-in library only: a user's own references in $FORM_COACH_HOME would change the figures."""
    from coach.references import ReferenceLibrary

    return ReferenceLibrary(user_dir=NO_USER_REFERENCES)


def pick_reference(library, exercise: str, view: str, xy_torso=None) -> str | None:
    """The reference a user filmed from `view` gets for `exercise`: the library's own choice
    (`choose_reference`, given the performance) among references of that view; None when the
    library has none of that view (the engine then picks by the detected view)."""
    from coach.analysis import choose_reference

    if view not in LABELLED_VIEWS or not library.find(exercise=exercise, view=view):
        return None
    return choose_reference(library, exercise, view, xy_torso).id


def has_reference(library, exercise: str) -> bool:
    return bool(library.find(exercise=exercise))


def _err(exc: BaseException) -> str:
    from coach.errors import CoachError

    text = str(exc).splitlines()[0] if str(exc) else ""
    return text if isinstance(exc, CoachError) else f"{type(exc).__name__}: {text}"


def evaluate_poses(seq, *, exercise: str, view: str, library, settings, source: str, video=None) -> dict:
    """Everything measured on one performance (raw PoseSequence): reps, view, recognition and
    the form score against the reference of the labelled exercise. video: the clip's
    `coach.video.VideoInfo` (None for keypoints), which the rep count is checked against. Never
    raises: a failing stage leaves its fields None and writes `<stage>_error`."""
    from coach.analysis import analyze_poses, count_exercise_reps, count_reps_checked, view_of
    from coach.clean import clean_poses
    from coach.exercises import EXERCISES
    from coach.normalize import robust_scale_px

    out: dict = {}
    ex_def = EXERCISES.get(exercise)
    cleaned = clean_poses(seq, settings.clean)
    out["person_share"] = round(float(cleaned.person_frames), 3)
    out["frames"] = seq.n_frames
    out["duration_s"] = round(seq.duration_s, 2)

    t0 = time.perf_counter()
    try:
        checked = count_reps_checked(cleaned, ex_def, settings, video)
        rr = checked.reps
        out.update(pred_reps=checked.count, partial_reps=len(rr.partial), rep_method=checked.method,
                   rep_counter="exercise" if ex_def is not None else "generic",
                   rep_confidence=rr.confidence, pose_reps=rr.count)
        # the exercise-agnostic fallback on every clip, the exercise known or not: the figure for
        # moves the library does not define, measured on more clips than those moves alone
        out["generic_reps"] = rr.count if ex_def is None else count_exercise_reps(cleaned.poses, None, settings).count
    except Exception as exc:  # an engine bug on one clip must not end the benchmark
        out["reps_error"] = _err(exc)
    out["t_reps_s"] = round(time.perf_counter() - t0, 3)

    try:
        v = view_of(cleaned.poses)
        out["view_pred"] = v.view
        out["view_confidence"] = v.confidence
    except Exception as exc:
        out["view_error"] = _err(exc)

    t0 = time.perf_counter()
    try:
        a = analyze_poses(seq, library=library, settings=settings, source=source, video=video)
        out["recognized"] = a.exercise.id
        out["recognition_confidence"] = a.recognition.confidence if a.recognition else None
    except Exception as exc:
        out["recognition_error"] = _err(exc)
    out["t_recognize_s"] = round(time.perf_counter() - t0, 3)

    if ex_def is not None and has_reference(library, exercise):
        t0 = time.perf_counter()
        try:
            xy = cleaned.poses.xy
            rid = pick_reference(library, exercise, view, xy / robust_scale_px(xy))
            a = analyze_poses(seq, library=library, exercise=exercise, reference_id=rid, settings=settings,
                              source=source, video=video)
            out.update(score=_num(a.score), verdict=a.comparison.verdict, reference=a.reference.id,
                       reference_view=a.reference.view, score_confidence=a.comparison.confidence,
                       analysis_reps=a.rep_count, rule_faults=sorted({f.rule for _r, _t, f in a.rule_findings}))
        except Exception as exc:
            out["score_error"] = _err(exc)
        out["t_score_s"] = round(time.perf_counter() - t0, 3)
    return out


def _num(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return round(v, 3) if math.isfinite(v) else None


def seeds_features(seq, settings) -> dict | None:
    """Trajectories the SEEDS baselines compare, at BASELINE_FPS over the frames with a person:
    y: (T, 33) body-frame y (torso lengths; the seed used pixels, clips here differ in size);
    bbox: (T, 66) SEEDS §4 bbox + L2 unit vectors."""
    from coach.clean import clean_poses
    from coach.compare import resample_indices
    from coach.normalize import bbox_l2, body_frame

    poses = clean_poses(seq, settings.clean).poses
    idx = resample_indices(poses.timestamps_s, BASELINE_FPS)
    xy = np.asarray(poses.xy, dtype=np.float64)[idx]
    person = np.isfinite(xy[..., 0]).sum(axis=1) >= 3
    if person.sum() < 3:
        return None
    xy = xy[person]
    y = body_frame(xy)[..., 1]
    bbox = np.stack([bbox_l2(f) for f in xy])
    return {"y": y.astype(np.float32), "bbox": bbox.astype(np.float32)}


def evaluate_row(row: dict, base_dir: str, want_seeds: bool) -> dict:
    """One manifest row -> a flat result dict (picklable). Never raises."""
    out: dict = {
        "row": row["row"], "path": row["path"], "exercise": row["exercise"], "view": row["view"],
        "form": row.get("form", ""), "source": row.get("source_repo", ""),
        "reps_source": row.get("reps_source", ""), "true_reps": None, "error": None,
    }
    t_start = time.perf_counter()
    try:
        out["true_reps"] = _parse_reps(row["reps"])
    except ValueError as exc:
        out["error"] = f"bad reps value: {exc}"
        return out
    if not row["path"]:
        out["error"] = "empty path"
        return out
    path = Path(base_dir) / row["path"]
    if not path.is_file():
        out["error"] = f"file not found: {path}"
        return out
    try:
        from coach.analysis import extract_video_poses
        from coach.settings import DEFAULT_SETTINGS

        seq, info, timings = extract_video_poses(path, use_cache=True)
        out["t_pose_s"] = round(timings.get("pose", 0.0), 3)
        out.update(evaluate_poses(seq, exercise=row["exercise"], view=row["view"], library=_cached_library(),
                                  settings=DEFAULT_SETTINGS, source=path.name, video=info))
        if out.get("person_share", 0.0) == 0.0:
            out["error"] = "no person found in any frame"
        elif want_seeds and out["form"] in ("correct", "incorrect"):
            out["_seeds"] = seeds_features(seq, DEFAULT_SETTINGS)
    except Exception as exc:  # decode errors, unreadable files, engine bugs: report and go on
        out["error"] = _err(exc)
    out["t_total_s"] = round(time.perf_counter() - t_start, 3)
    return out


@functools.cache
def _cached_library():
    """One library per process (workers each load their own)."""
    return _library()


# --- baselines (SEEDS §3, §4) ------------------------------------------------------------------


def _fill_columns(x: np.ndarray) -> np.ndarray | None:
    x = np.array(x, dtype=np.float64)
    t = np.arange(len(x))
    keep = []
    for c in range(x.shape[1]):
        ok = np.isfinite(x[:, c])
        if ok.sum() < 2:
            continue
        if not ok.all():
            x[:, c] = np.interp(t, t[ok], x[ok, c])
        keep.append(c)
    return x if keep else None


def seeds3_distance(user_y: np.ndarray, tmpl_y: np.ndarray) -> float | None:
    """SEEDS §3: DTW of each keypoint's y trajectory, median over the keypoints seen in both."""
    from dtaidistance import dtw

    ds = []
    for j in range(user_y.shape[1]):
        u, r = user_y[:, j].astype(np.float64), tmpl_y[:, j].astype(np.float64)
        if np.isfinite(u).mean() < 0.5 or np.isfinite(r).mean() < 0.5:
            continue
        u, r = _fill_columns(u[:, None]), _fill_columns(r[:, None])
        if u is None or r is None:
            continue
        ds.append(dtw.distance_fast(np.ascontiguousarray(u[:, 0]), np.ascontiguousarray(r[:, 0]),
                                    use_pruning=False))
    return float(np.median(ds)) if ds else None


def seeds4_similarity(user_bbox: np.ndarray, tmpl_bbox: np.ndarray) -> float | None:
    """SEEDS §4: cosine of bbox + L2 pose vectors, averaged over the DTW path (no window)."""
    from coach.compare import dtw_align

    if len(user_bbox) == 0 or len(tmpl_bbox) == 0:
        return None
    res = dtw_align(user_bbox, tmpl_bbox, window_frac=1.0)
    u = user_bbox[res.path[:, 0]].astype(np.float64)
    r = tmpl_bbox[res.path[:, 1]].astype(np.float64)
    return float(np.mean(np.sum(u * r, axis=1)))


def baseline_figures(results: list[dict]) -> dict:
    """Per exercise: the first `correct` clip (manifest order) is the template; the others are
    scored by -SEEDS3 distance and SEEDS4 similarity. Our score on the same clips for reference."""
    out: dict = {}
    by_ex: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        if r.get("_seeds") is not None and r["form"] in ("correct", "incorrect"):
            by_ex[r["exercise"]].append(r)
    for ex, rs in sorted(by_ex.items()):
        tmpl = next((r for r in rs if r["form"] == "correct"), None)
        if tmpl is None:
            continue
        s3: dict[str, list[float]] = {"correct": [], "incorrect": []}
        s4: dict[str, list[float]] = {"correct": [], "incorrect": []}
        ours: dict[str, list[float]] = {"correct": [], "incorrect": []}
        for r in rs:
            if r is tmpl:
                continue
            try:
                d3 = seeds3_distance(r["_seeds"]["y"], tmpl["_seeds"]["y"])
                d4 = seeds4_similarity(r["_seeds"]["bbox"], tmpl["_seeds"]["bbox"])
            except Exception as exc:  # a baseline failing on one clip is reported, not fatal
                log(f"baseline failed on {r['path']}: {_err(exc)}")
                continue
            r["seeds3_distance"] = _num(d3)
            r["seeds4_similarity"] = _num(d4)
            if d3 is not None:
                s3[r["form"]].append(-d3)
            if d4 is not None:
                s4[r["form"]].append(d4)
            if r.get("score") is not None:
                ours[r["form"]].append(r["score"])
        out[ex] = {
            "template": tmpl["path"],
            "clips": len(rs) - 1,
            "seeds3_auc": _r(auc(s3["correct"], s3["incorrect"])),
            "seeds4_auc": _r(auc(s4["correct"], s4["incorrect"])),
            "ours_auc_same_clips": _r(auc(ours["correct"], ours["incorrect"])),
        }
    return out


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(x, nd)


# --- figures over all rows ---------------------------------------------------------------------


def summarize(results: list[dict], defined: set[str]) -> dict:
    ok = [r for r in results if not r.get("error")]

    # reps
    def pairs(rs):
        return [(r["pred_reps"], r["true_reps"]) for r in rs if r["true_reps"] is not None and r.get("pred_reps") is not None]

    rep_rows = [r for r in ok if r["true_reps"] is not None and r.get("pred_reps") is not None]
    # a labelled clip that decoded but the engine could not count (no person found) gives the user
    # no count: it enters the figures as 0 reps; a missing or undecodable file is the data's fault
    failed = [r for r in results if (r.get("error") or r.get("reps_error")) and r["true_reps"] is not None]
    engine_failed = [{**r, "pred_reps": 0, "rep_method": "failed"} for r in failed if "person_share" in r]
    rep_rows = rep_rows + engine_failed
    reps = rep_figures(pairs(rep_rows))
    reps["per_exercise"] = {ex: rep_figures(pairs([r for r in rep_rows if r["exercise"] == ex]))
                            for ex in sorted({r["exercise"] for r in rep_rows})}
    reps["per_counter"] = {m: rep_figures(pairs([r for r in rep_rows if r["rep_method"] == m]))
                           for m in sorted({r["rep_method"] for r in rep_rows})}
    reps["per_source"] = {s: rep_figures(pairs([r for r in rep_rows if r["reps_source"] == s]))
                          for s in sorted({r["reps_source"] for r in rep_rows})}
    reps["generic_only"] = rep_figures([(r["generic_reps"], r["true_reps"]) for r in rep_rows
                                        if r.get("generic_reps") is not None])
    reps["failures"] = [
        {"path": r["path"], "exercise": r["exercise"], "true": r["true_reps"], "pred": r["pred_reps"],
         "counter": r["rep_method"]}
        for r in rep_rows if r["pred_reps"] != r["true_reps"] and r["rep_method"] != "failed"
    ]
    reps["failed_clips"] = len(failed)
    reps["failed_counted_as_zero"] = len(engine_failed)
    reps["failures"] += [
        {"path": r["path"], "exercise": r["exercise"], "true": r["true_reps"], "pred": None, "counter": None,
         "error": r.get("error") or r.get("reps_error")}
        for r in failed
    ]
    reps["unlabelled_clips"] = sum(1 for r in ok if r["true_reps"] is None)

    # form
    form_rows = [r for r in ok if r["form"] in ("correct", "incorrect") and r["exercise"] in defined]
    scored = [r for r in form_rows if r.get("score") is not None]
    form = _form_block(scored)
    form["unscored"] = [{"path": r["path"], "reason": _unscored_reason(r)} for r in form_rows if r.get("score") is None]
    form["per_source"] = {s: _form_block([r for r in scored if r["source"] == s])
                          for s in sorted({r["source"] for r in scored})}
    form["per_exercise"] = {e: _form_block([r for r in scored if r["exercise"] == e])
                            for e in sorted({r["exercise"] for r in scored})}
    form["baselines"] = baseline_figures(results)
    form["note"] = ("deadlift-visual-analyzer Good clips are one lifter outdoors, Bad clips other lifters in a gym; "
                    "pushfit-riyer8 correct/wrong come from different source videos: per-source AUCs can reflect "
                    "the scene or lifter as well as the form.")

    # recognition and view
    rec_rows = [r for r in ok if r["exercise"] in defined]
    hits = [r.get("recognized") == r["exercise"] for r in rec_rows]
    refused = [r for r in rec_rows if r.get("recognized") is None]
    recognition = {
        "accuracy": _share(hits),
        "clips": len(rec_rows),
        "refused": len(refused),
        "accuracy_analysed": _share([r["recognized"] == r["exercise"] for r in rec_rows if r.get("recognized")]),
        "per_exercise": {
            ex: {"accuracy": _share([r.get("recognized") == ex for r in rec_rows if r["exercise"] == ex]),
                 "clips": sum(1 for r in rec_rows if r["exercise"] == ex)}
            for ex in sorted({r["exercise"] for r in rec_rows})
        },
        "failures": [{"path": r["path"], "exercise": r["exercise"],
                      "recognized": r.get("recognized") or f"refused: {r.get('recognition_error')}"}
                     for r in rec_rows if r.get("recognized") != r["exercise"]],
    }
    view_rows = [r for r in ok if r["view"] in LABELLED_VIEWS and r.get("view_pred")]
    recognition["view_accuracy"] = _share([r["view_pred"] == r["view"] for r in view_rows])
    recognition["view_clips"] = len(view_rows)
    recognition["view_failures"] = [{"path": r["path"], "view": r["view"], "detected": r["view_pred"]}
                                    for r in view_rows if r["view_pred"] != r["view"]]
    errors = [{"row": r["row"], "path": r["path"], "error": r["error"]} for r in results if r.get("error")]
    return {"reps": reps, "form": form, "recognition": recognition, "errors": len(errors), "error_rows": errors}


def _unscored_reason(r: dict) -> str:
    if r.get("score_error"):
        return r["score_error"]
    if r.get("verdict"):
        return "the analysis ran but its score is undefined (nothing could be judged)"
    return "no reference for the exercise"


def _form_block(rows: list[dict]) -> dict:
    pos = [r["score"] for r in rows if r["form"] == "correct"]
    neg = [r["score"] for r in rows if r["form"] == "incorrect"]
    verdict_ok = [(r["verdict"] == "pass") == (r["form"] == "correct") for r in rows]
    return {
        "auc": _r(auc(pos, neg)),
        "accuracy": _share(verdict_ok),
        "clips": len(rows),
        "correct": len(pos),
        "incorrect": len(neg),
        "mean_score_correct": _r(float(np.mean(pos)), 1) if pos else None,
        "mean_score_incorrect": _r(float(np.mean(neg)), 1) if neg else None,
    }


# --- keypoint-only datasets --------------------------------------------------------------------


def eval_pose_trainer(folder: Path, library, settings, limit: int | None) -> dict:
    """pose-trainer/<exercise>/<exercise>[_]<good|bad>[_]<n>.npy (OpenPose COCO-18, read by
    `coach.importers.load_pose_trainer_npy`): form AUC (good = positive) of our score against the
    library's reference where the engine and the library know the exercise, recognition accuracy;
    reps are not labelled."""
    from coach.exercises import EXERCISES
    from coach.importers import load_pose_trainer_npy

    files = sorted(folder.glob("*/*.npy"))
    if limit:
        files = files[:limit]
    clips: list[dict] = []
    for f in files:
        rec: dict = {"file": str(f.relative_to(folder)), "exercise": None, "form": None}
        try:
            seq, label = load_pose_trainer_npy(f)
            rec.update(exercise=label["exercise"], form=label["form"])
            rec.update(evaluate_poses(seq, exercise=label["exercise"], view="", library=library, settings=settings,
                                      source=f.name))
        except Exception as exc:  # one unreadable file is reported, not fatal
            rec["error"] = _err(exc)
        clips.append(rec)
    out: dict = {"clips": len(clips), "errors": [c for c in clips if c.get("error")], "per_exercise": {}}
    ok = [c for c in clips if not c.get("error")]
    scored_all = []
    for ex in sorted({c["exercise"] for c in ok}):
        cs = [c for c in ok if c["exercise"] == ex]
        if ex not in EXERCISES or not has_reference(library, ex):
            out["per_exercise"][ex] = {"auc": "n/a", "clips": len(cs),
                                       "reason": "no engine definition" if ex not in EXERCISES else "no reference"}
            continue
        sc = [c for c in cs if c.get("score") is not None]
        scored_all += sc
        out["per_exercise"][ex] = {
            "auc": _r(auc([c["score"] for c in sc if c["form"] == "good"], [c["score"] for c in sc if c["form"] == "bad"])),
            "accuracy": _share([(c["verdict"] == "pass") == (c["form"] == "good") for c in sc]),
            "clips": len(sc),
            "unscored": len(cs) - len(sc),
            "mean_score_good": _r(float(np.mean([c["score"] for c in sc if c["form"] == "good"])), 1)
            if any(c["form"] == "good" for c in sc) else None,
            "mean_score_bad": _r(float(np.mean([c["score"] for c in sc if c["form"] == "bad"])), 1)
            if any(c["form"] == "bad" for c in sc) else None,
            "recognition": _share([c.get("recognized") == ex for c in cs]),
        }
    out["auc"] = _r(auc([c["score"] for c in scored_all if c["form"] == "good"],
                        [c["score"] for c in scored_all if c["form"] == "bad"]))
    out["accuracy"] = _share([(c["verdict"] == "pass") == (c["form"] == "good") for c in scored_all])
    out["form_clips"] = len(scored_all)
    rec_rows = [c for c in ok if c["exercise"] in EXERCISES]
    out["recognition"] = {"accuracy": _share([c.get("recognized") == c["exercise"] for c in rec_rows]),
                          "clips": len(rec_rows),
                          "failures": [{"file": c["file"], "recognized": c.get("recognized")
                                        or f"refused: {c.get('recognition_error')}"}
                                       for c in rec_rows if c.get("recognized") != c["exercise"]]}
    out["reps"] = "not labelled"
    out["rows"] = clips
    return out


def eval_penn_action(folder: Path, library, settings, limit: int | None) -> dict:
    """penn-action/index.csv + labels/*.mat (13 annotated joints): recognition accuracy on the
    actions that map to our exercises, view accuracy (left/right = side, front); no reps or form."""
    from coach.exercises import EXERCISES
    from coach.importers import load_penn_action_mat

    with open(folder / "index.csv", newline="") as fh:
        index = list(csv.DictReader(fh))
    index = [r for r in index if PENN_ACTIONS.get(r.get("action", ""), "") in EXERCISES]
    if limit:
        # a few of each action, so a short run still measures every class
        per: dict[str, list[dict]] = defaultdict(list)
        for r in index:
            per[r["action"]].append(r)
        k = max(1, limit // max(1, len(per)))
        index = [r for rs in per.values() for r in rs[:k]]
    clips = []
    for i, r in enumerate(index):
        ex = PENN_ACTIONS[r["action"]]
        view = PENN_VIEWS.get(r.get("view", ""), "unknown")
        rec = {"file": r["file"], "exercise": ex, "view": view}
        try:
            seq, _info = load_penn_action_mat(_penn_file(folder, r["file"]))
            rec.update(_recognize_only(seq, library, settings, r["file"]))
        except Exception as exc:
            rec["error"] = _err(exc)
        clips.append(rec)
        if (i + 1) % 50 == 0:
            log(f"  penn-action: {i + 1}/{len(index)}")
    ok = [c for c in clips if not c.get("error")]
    views = [c for c in ok if c["view"] in LABELLED_VIEWS and c.get("view_pred")]
    return {
        "recognition": {
            "accuracy": _share([c.get("recognized") == c["exercise"] for c in ok]),
            "clips": len(ok),
            "refused": sum(1 for c in ok if c.get("recognized") is None),
            "per_exercise": {e: {"accuracy": _share([c.get("recognized") == e for c in ok if c["exercise"] == e]),
                                 "clips": sum(1 for c in ok if c["exercise"] == e)}
                             for e in sorted({c["exercise"] for c in ok})},
            "confusion": _confusion(ok),
        },
        "view": {"accuracy": _share([c["view_pred"] == c["view"] for c in views]), "clips": len(views)},
        "errors": [c for c in clips if c.get("error")],
        "reps": "not labelled",
        "form": "not labelled",
        "clips": len(clips),
    }


def _penn_file(folder: Path, name: str) -> Path:
    for cand in (folder / "labels" / name, folder / name):
        if cand.is_file():
            return cand
    raise FileNotFoundError(f"{name} not found under {folder}")


def _recognize_only(seq, library, settings, source: str) -> dict:
    from coach.analysis import analyze_poses, view_of
    from coach.clean import clean_poses

    out: dict = {}
    cleaned = clean_poses(seq, settings.clean)
    out["view_pred"] = view_of(cleaned.poses).view
    try:
        a = analyze_poses(seq, library=library, settings=settings, source=source)
        out["recognized"] = a.exercise.id
    except Exception as exc:
        out["recognition_error"] = _err(exc)
    return out


def _confusion(clips: list[dict]) -> dict[str, dict[str, int]]:
    conf: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in clips:
        conf[c["exercise"]][c.get("recognized") or "refused"] += 1
    return {k: dict(v) for k, v in sorted(conf.items())}


#: exercise-correction-ngo single frames: (file, label of the fault, label of correct frames,
#: the engine rule whose measure is tested, how the fault moves that measure (+1 up, -1 down)).
LABELLED_FRAME_CHECKS: tuple[tuple[str, str, str, str, str, int], ...] = (
    ("plank_model/test.csv", "L", "C", "push_up", "hip_sag", +1),  # low back = hips sagging
    ("plank_model/test.csv", "H", "C", "push_up", "hip_pike", +1),  # high back = hips piked
    ("bicep_model/test.csv", "L", "C", "bicep_curl", "curl_swing", +1),  # leaning back
    ("lunge_model/err.test.csv", "L", "C", "lunge", "lunge_knee_over_toe", +1),  # knee past the toes
)


def eval_labelled_frames(folder: Path) -> dict:
    """exercise-correction-ngo `core/*/` CSVs: single MediaPipe frames labelled correct or with one
    fault. No sequence, so nothing to count, recognise or score as a clip; what can be measured is
    whether the measure behind the engine's rule for that fault separates the labelled frames
    (AUC, fault = positive). The rule is read on each frame as if it were the whole rep (a
    range rule such as curl_swing then reads the frame's trunk lean itself). Coordinates are the
    file's normalised ones: the frame size is not recorded, so a rule's limit in torso lengths or
    degrees cannot be checked, only the ranking (AUC is the same for any fixed aspect ratio)."""
    from coach.exercises import EXERCISES
    from coach.importers import load_labeled_frames
    from coach.kinematics import joint_angles
    from coach.normalize import MID_HIP, MID_SHOULDER, midpoint

    out: dict = {"form": {}, "errors": []}
    for rel, fault, ok_label, ex, rule_name, sign in LABELLED_FRAME_CHECKS:
        path = folder / "core" / rel
        key = f"{rel.split('/')[0].removesuffix('_model')}:{rule_name}"
        if not path.is_file():
            continue
        try:
            xyz, vis, labels = load_labeled_frames(path)
            xy = np.where((vis >= 0.5)[..., None], xyz[..., :2].astype(np.float64), np.nan)
            rule = next(r for r in EXERCISES[ex].rules if r.name == rule_name)
            vals = []
            for pose in xy:
                torso = float(np.linalg.norm(midpoint(pose[None], MID_SHOULDER) - midpoint(pose[None], MID_HIP)))
                p = pose / torso if np.isfinite(torso) and torso > 0 else pose
                if rule_name == "curl_swing":  # one frame has no range: its own trunk lean
                    vals.append(float(joint_angles(p[None])["trunk_lean"][0]))
                else:
                    vals.append(float(rule.measure(p, p[None])))
            vals_a = np.asarray(vals) * sign * rule.direction
            lab = np.asarray(labels)
            out["form"][key] = {
                "auc": _r(auc(vals_a[lab == fault], vals_a[lab == ok_label])),
                "fault_frames": int((lab == fault).sum()), "correct_frames": int((lab == ok_label).sum()),
                "fault": fault, "file": rel,
            }
        except Exception as exc:
            out["errors"].append({"file": rel, "error": _err(exc)})
    aucs = [v["auc"] for v in out["form"].values() if v["auc"] is not None]
    out["auc_mean"] = _r(float(np.mean(aucs))) if aucs else None
    out["reps"] = out["recognition"] = "n/a: single frames"
    return out


def eval_keypoints(kp_dir: Path, library, settings, limit: int | None) -> dict:
    out: dict = {}
    if not kp_dir.is_dir():
        return out
    for name in sorted(p.name for p in kp_dir.iterdir() if p.is_dir()):
        folder = kp_dir / name
        t0 = time.perf_counter()
        log(f"keypoints: {name}")
        try:
            if name.startswith("pose-trainer"):
                out[name] = eval_pose_trainer(folder, library, settings, limit)
            elif name.startswith("penn-action"):
                out[name] = eval_penn_action(folder, library, settings, limit)
            elif name.startswith("exercise-correction"):
                out[name] = eval_labelled_frames(folder)
            elif name.startswith("mlkit"):
                out[name] = {"status": "n/a", "reason": "single frames labelled up/down only: no sequences to "
                             "count, recognise or score, no form label"}
            elif name.startswith("human-pose-compare"):
                out[name] = {"status": "n/a", "reason": "one unlabelled PoseNet sequence of a punch (no engine "
                             "definition); its clip is a manifest row"}
            elif name.startswith("quva-annotations"):
                out[name] = {"status": "used", "reason": "rep ends of the QUVA clips; their counts are in the manifest"}
            else:
                out[name] = {"status": "n/a", "reason": "no harness for this layout"}
        except Exception as exc:
            out[name] = {"status": "error", "reason": _err(exc)}
        out[name]["seconds"] = round(time.perf_counter() - t0, 1)
    return out


# --- output ------------------------------------------------------------------------------------


def _fmt(x, nd: int = 2) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def clip_table(results: list[dict]) -> list[str]:
    head = ["#", "clip", "exercise", "view", "reps true", "reps pred", "counter", "recognised", "view det",
            "form", "score", "verdict", "error"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        mark = ""
        if r.get("true_reps") is not None and r.get("pred_reps") is not None and r["true_reps"] != r["pred_reps"]:
            mark = " ✗"
        rec = r.get("recognized") or ("refused" if r.get("recognition_error") else "–")
        cells = [
            r["row"], r["path"], r["exercise"], r["view"], _fmt(r.get("true_reps")),
            _fmt(r.get("pred_reps")) + mark, r.get("rep_method") or "–", rec, r.get("view_pred") or "–",
            r["form"] or "–", _fmt(r.get("score"), 1), r.get("verdict") or "–",
            (r.get("error") or r.get("score_error") or r.get("reps_error") or "").replace("|", "/")[:90],
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return lines


def figures_text(summary: dict, keypoints: dict, targets: bool = True) -> list[str]:
    rp, fm, rc = summary["reps"], summary["form"], summary["recognition"]
    L: list[str] = []
    L.append("## Rep counting")
    L.append("")
    L.append("MAE = mean |pred − true| / true (true = 0: |pred|); OBO = share off by ≤ 1; exact = share equal; "
             "OBO 2+ = OBO over clips with ≥ 2 reps. Targets: OBO ≥ 0.95, MAE ≤ 0.05.")
    L.append("")
    L.append("| group | clips | MAE | OBO | exact | OBO 2+ (clips) |")
    L.append("|---|---|---|---|---|---|")

    def row(name, f):
        L.append(f"| {name} | {f['clips']} | {_fmt(f['mae'], 3)} | {_fmt(f['obo'], 3)} | {_fmt(f['exact'], 3)} | "
                 f"{_fmt(f['obo_2plus'], 3)} ({f['clips_2plus']}) |")

    row("**all**", rp)
    for ex, f in rp["per_exercise"].items():
        row(ex, f)
    for m, f in rp["per_counter"].items():
        row(f"counter: {m}", f)
    for s, f in rp["per_source"].items():
        row(f"labels: {s or '?'}", f)
    if rp.get("generic_only", {}).get("clips"):
        row("generic counter on every clip (check of the fallback)", rp["generic_only"])
    L.append("")
    if rp.get("failed_clips"):
        zero = rp.get("failed_counted_as_zero", 0)
        L.append(f"{rp['failed_clips']} clip(s) with a labelled count could not be counted (see Errors); "
                 f"{zero} of them (decoded, but no count: the engine's failures) are in these figures as 0 reps, "
                 "the rest (missing or undecodable files) are not.")
        L.append("")
    if rp["failures"]:
        L.append("Miscounted clips: " + "; ".join(
            f"{f['path']} ({f['exercise']}, {f['counter']}): {f['pred']} for {f['true']}"
            if f.get("error") is None else f"{f['path']} ({f['exercise']}): not counted, {f['error']}"
            for f in rp["failures"]))
        L.append("")
    L.append("## Form (score against the library reference of the labelled exercise)")
    L.append("")
    L.append(f"AUC of the score (correct = positive): **{_fmt(fm['auc'], 3)}** over {fm['clips']} clips "
             f"({fm['correct']} correct, {fm['incorrect']} incorrect; target ≥ 0.90); verdict accuracy "
             f"{_fmt(fm['accuracy'], 3)}; mean score correct {_fmt(fm['mean_score_correct'], 1)}, "
             f"incorrect {_fmt(fm['mean_score_incorrect'], 1)}.")
    L.append("")
    L.append("| group | clips | AUC | verdict acc. | mean correct | mean incorrect |")
    L.append("|---|---|---|---|---|---|")
    for name, blk in [*(("source: " + k, v) for k, v in fm["per_source"].items()),
                      *(("exercise: " + k, v) for k, v in fm["per_exercise"].items())]:
        L.append(f"| {name} | {blk['clips']} | {_fmt(blk['auc'], 3)} | {_fmt(blk['accuracy'], 3)} | "
                 f"{_fmt(blk['mean_score_correct'], 1)} | {_fmt(blk['mean_score_incorrect'], 1)} |")
    L.append("")
    L.append(f"Caveat: {fm['note']}")
    L.append("")
    if fm["baselines"]:
        L.append("Baselines on the same clips (template = first correct clip of the exercise, left out):")
        L.append("")
        L.append("| exercise | clips | SEEDS §3 AUC (−median per-keypoint y DTW) | SEEDS §4 AUC (bbox+L2 cosine over DTW) | ours, same clips |")
        L.append("|---|---|---|---|---|")
        for ex, b in fm["baselines"].items():
            L.append(f"| {ex} | {b['clips']} | {_fmt(b['seeds3_auc'], 3)} | {_fmt(b['seeds4_auc'], 3)} | "
                     f"{_fmt(b['ours_auc_same_clips'], 3)} |")
        L.append("")
    if fm["unscored"]:
        L.append("Form clips without a score: " + "; ".join(f"{u['path']} ({u['reason']})" for u in fm["unscored"]))
        L.append("")
    L.append("## Recognition")
    L.append("")
    L.append(f"Exercise recognition accuracy: **{_fmt(rc['accuracy'], 3)}** over {rc['clips']} clips of exercises "
             f"the engine defines (refused analyses count as wrong: {rc['refused']}; accuracy over analysed clips "
             f"{_fmt(rc['accuracy_analysed'], 3)}; target ≥ 0.95).")
    L.append("")
    for ex, f in rc["per_exercise"].items():
        L.append(f"- {ex}: {_fmt(f['accuracy'], 3)} ({f['clips']} clips)")
    if rc["failures"]:
        L.append("")
        L.append("Misrecognised: " + "; ".join(f"{f['path']} ({f['exercise']} → {f['recognized']})" for f in rc["failures"]))
    L.append("")
    L.append(f"View detection accuracy (labelled front/side): **{_fmt(rc['view_accuracy'], 3)}** over "
             f"{rc['view_clips']} clips.")
    if rc["view_failures"]:
        L.append("")
        L.append("Wrong view: " + "; ".join(f"{f['path']} ({f['view']} → {f['detected']})" for f in rc["view_failures"]))
    L.append("")
    L.append(f"## Errors: {summary['errors']}")
    L.append("")
    for e in summary["error_rows"]:
        L.append(f"- row {e['row']} {e['path']}: {e['error']}")
    L.append("")
    if keypoints:
        L.append("## Keypoint-only datasets")
        L.append("")
        for name, d in keypoints.items():
            L.append(f"### {name}")
            L.append("")
            if "status" in d:
                L.append(f"{d['status']}: {d.get('reason', '')}")
            elif name.startswith("pose-trainer"):
                L.append(f"Form AUC (good = positive) {_fmt(d['auc'], 3)} over {d['form_clips']} scored clips, verdict "
                         f"accuracy {_fmt(d['accuracy'], 3)}; recognition {_fmt(d['recognition']['accuracy'], 3)} "
                         f"over {d['recognition']['clips']} clips; reps not labelled.")
                for ex, f in d["per_exercise"].items():
                    L.append(f"- {ex}: " + ", ".join(f"{k} {_fmt(v, 3)}" for k, v in f.items()))
            elif name.startswith("exercise-correction"):
                L.append("Single labelled frames (no sequences: nothing to count or recognise). AUC of the measure "
                         "behind the engine's rule for each labelled fault, fault = positive:")
                for key, f in d["form"].items():
                    L.append(f"- {key}: AUC {_fmt(f['auc'], 3)} ({f['fault']}: {f['fault_frames']} frames vs "
                             f"{f['correct_frames']} correct, {f['file']})")
            elif name.startswith("penn-action"):
                rc2 = d["recognition"]
                L.append(f"Recognition accuracy {_fmt(rc2['accuracy'], 3)} over {rc2['clips']} clips "
                         f"(refused {rc2['refused']}); view accuracy {_fmt(d['view']['accuracy'], 3)} over "
                         f"{d['view']['clips']} clips; reps and form not labelled.")
                for ex, f in rc2["per_exercise"].items():
                    L.append(f"- {ex}: {_fmt(f['accuracy'], 3)} ({f['clips']} clips); recognised as "
                             f"{rc2['confusion'].get(ex, {})}")
            if d.get("errors"):
                L.append(f"- errors: {len(d['errors'])} (" + "; ".join(
                    f"{e.get('file')}: {e.get('error')}" for e in d["errors"][:5]) + ")")
            L.append("")
    return L


def build_json(summary: dict, keypoints: dict, results: list[dict], meta: dict) -> dict:
    """{"reps": {"mae", "obo", "exact", "obo_2plus", "clips", ...}, "form": {"auc", "accuracy", "clips", ...},
    "recognition": {"accuracy", "clips", "view_accuracy", ...}, "keypoints": {dataset: {...}},
    "errors": n, "error_rows": [...], "clips": [per-clip rows], "meta": {...}}"""
    clips = [{k: v for k, v in r.items() if not k.startswith("_")} for r in results]
    kp = {name: {k: v for k, v in d.items() if k != "rows"} for name, d in keypoints.items()}
    return {**summary, "keypoints": kp, "clips": clips, "meta": meta}


# --- main --------------------------------------------------------------------------------------


def _init_worker(cache_dir: str | None) -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    if cache_dir:
        os.environ["FORM_COACH_HOME"] = cache_dir


def run_rows(rows: list[dict], base_dir: Path, *, workers: int, want_seeds: bool, cache_dir: str | None) -> list[dict]:
    results: list[dict] = []
    t0 = time.perf_counter()

    def note(i: int, r: dict) -> None:
        status = f"error: {r['error']}" if r.get("error") else (
            f"reps {r.get('pred_reps')}/{_fmt(r.get('true_reps'))} {r.get('recognized') or '-'} "
            f"score {_fmt(r.get('score'), 1)}")
        log(f"[{i}/{len(rows)} {time.perf_counter() - t0:6.0f}s] {r['path']}: {status}")

    if workers > 1 and len(rows) > 1:
        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(cache_dir,)) as ex:
            futs = [ex.submit(evaluate_row, r, str(base_dir), want_seeds) for r in rows]
            for i, (row, f) in enumerate(zip(rows, futs, strict=True), start=1):
                try:
                    r = f.result()
                except Exception as exc:  # a crashed worker (e.g. killed) is one bad row
                    r = {"row": row["row"], "path": row["path"], "exercise": row["exercise"], "view": row["view"],
                         "form": row.get("form", ""), "source": row.get("source_repo", ""), "true_reps": None,
                         "reps_source": row.get("reps_source", ""), "error": f"worker failed: {_err(exc)}"}
                results.append(r)
                note(i, r)
    else:
        for i, row in enumerate(rows, start=1):
            r = evaluate_row(row, str(base_dir), want_seeds)
            results.append(r)
            note(i, r)
    return results


def _backend_name() -> str:
    from coach.pose import POSE_BACKENDS, pose_backend

    return POSE_BACKENDS[pose_backend()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Form Coach accuracy benchmark over a manifest of labelled clips.")
    ap.add_argument("--manifest", required=True, help="CSV with the columns of ../shared/data/manifest.csv")
    ap.add_argument("--out", help="write the report (markdown) here")
    ap.add_argument("--json", help="write the figures (JSON) here")
    ap.add_argument("--rows", type=int, help="only the first N selected rows")
    ap.add_argument("--match", help="only rows whose path contains this (case-insensitive)")
    ap.add_argument("--exercise", help="only rows of this exercise")
    ap.add_argument("--workers", type=int, default=1, help="parallel processes for the video rows")
    ap.add_argument("--cache-dir", help="FORM_COACH_HOME for this run (keypoint cache under <dir>/cache)")
    ap.add_argument("--no-keypoints", action="store_true", help="skip the keypoint-only datasets")
    ap.add_argument("--keypoint-limit", type=int, help="at most N files per keypoint dataset")
    ap.add_argument("--no-baselines", action="store_true", help="skip the SEEDS §3/§4 baselines")
    args = ap.parse_args(argv)

    os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ logging
    from coach.pose import quiet_native_stderr

    quiet_native_stderr()  # MediaPipe's start-up notes, which the env var does not reach
    if args.cache_dir:
        os.environ["FORM_COACH_HOME"] = str(Path(args.cache_dir).resolve())
    manifest = Path(args.manifest).resolve()
    if not manifest.is_file():
        log(f"error: manifest not found: {manifest}")
        return 2
    base_dir = manifest.parent
    rows = select_rows(read_manifest(manifest), match=args.match, exercise=args.exercise, limit=args.rows)
    log(f"{len(rows)} rows from {manifest}")
    t0 = time.perf_counter()
    results = run_rows(rows, base_dir, workers=max(1, args.workers), want_seeds=not args.no_baselines,
                       cache_dir=os.environ.get("FORM_COACH_HOME") if args.cache_dir else None)
    t_videos = time.perf_counter() - t0

    from coach.exercises import EXERCISES
    from coach.settings import DEFAULT_SETTINGS

    summary = summarize(results, set(EXERCISES))
    keypoints: dict = {}
    if not args.no_keypoints:
        try:
            keypoints = eval_keypoints(base_dir / "keypoints", _cached_library(), DEFAULT_SETTINGS, args.keypoint_limit)
        except Exception as exc:
            keypoints = {"error": {"status": "error", "reason": _err(exc)}}
    meta = {
        "manifest": str(manifest),
        "rows": len(rows),
        "seconds_videos": round(t_videos, 1),
        "seconds_total": round(time.perf_counter() - t0, 1),
        "pass_threshold": DEFAULT_SETTINGS.compare.pass_threshold,
        "cache": os.environ.get("FORM_COACH_HOME", "~/.form_coach"),
        "pose_backend": _backend_name(),
    }
    lines = ["# Form Coach accuracy report", "", f"Manifest: `{manifest}` ({len(rows)} rows), "
             f"{meta['seconds_total']:.0f} s, pose backend {meta['pose_backend']}.", "", "## Clips", "", *clip_table(results), "",
             *figures_text(summary, keypoints)]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    if args.json:
        data = _finite(build_json(summary, keypoints, results, meta))
        Path(args.json).write_text(json.dumps(data, indent=2, allow_nan=False, default=_json_default), encoding="utf-8")
    return 0


def _finite(o):
    """NaN/inf -> None everywhere (the JSON must be strict)."""
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    if isinstance(o, float | np.floating):
        return float(o) if math.isfinite(o) else None
    return o


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o) if np.isfinite(o) else None
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


if __name__ == "__main__":
    sys.exit(main())
