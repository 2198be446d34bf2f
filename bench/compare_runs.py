"""Compare two runs of the accuracy benchmark: which figures moved, and which clips moved them.

    python bench/compare_runs.py BEFORE.json AFTER.json [--score-delta 3]

Both files are `bench/accuracy.py --json` outputs. Prints the headline figures side by side, then
every clip whose output changed (rep count, recognised exercise, verdict, view, error, the form
rules broken, or a score that moved by at least --score-delta points), and how many changes went
each way against the labels. MediaPipe's tracking moves some clips on any change of the pixels it sees (README,
"Measured on real clips"), so a figure that moves through clips where the pose was lost anyway
is noise, not a finding; this is the table to tell the two apart.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

#: (label, section, key) of the headline figures, in print order.
FIGURES = (
    ("rep MAE", "reps", "mae"),
    ("rep OBO", "reps", "obo"),
    ("rep exact", "reps", "exact"),
    ("rep OBO 2+", "reps", "obo_2plus"),
    ("form AUC", "form", "auc"),
    ("verdict accuracy", "form", "accuracy"),
    ("recognition", "recognition", "accuracy"),
    ("view", "recognition", "view_accuracy"),
)
#: Headline keys of a keypoint dataset's figures, where the dataset has them (a section such as
#: "recognition" or "view" stands for its "accuracy").
KEYPOINT_FIGURES = ("auc", "accuracy", "recognition", "view", "auc_mean", "mae", "obo")
#: Per-clip fields whose change is reported as old -> new.
CLIP_FIELDS = ("pred_reps", "recognized", "verdict", "view_pred", "error")
#: True when the figure is better lower (everything else is better higher).
LOWER_IS_BETTER = frozenset({"rep MAE"})


@dataclass(frozen=True)
class ClipChange:
    """One clip whose output differs between the runs. `effects` are ("reps", +1 better / -1
    worse) style pairs judged against the clip's labels; changes without a label have none."""

    path: str
    changes: tuple[str, ...]
    effects: tuple[tuple[str, int], ...]


def load_run(path: str | Path) -> dict:
    """An accuracy.py --json file, checked for the sections this comparison reads."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{p}: expected an accuracy.py --json file, got unreadable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{p}: expected a JSON object, got {type(data).__name__}")
    missing = [k for k in ("reps", "form", "recognition", "clips") if k not in data]
    if missing:
        raise ValueError(f"{p}: expected an accuracy.py --json file, got one without {', '.join(missing)}")
    if not isinstance(data["clips"], list) or not all(isinstance(c, dict) and "path" in c for c in data["clips"]):
        raise ValueError(f"{p}: expected 'clips' to be a list of records with a 'path', got something else")
    return data


def _num(v) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def figure_rows(old: dict, new: dict) -> list[tuple[str, float | None, float | None]]:
    """(label, before, after) of the headline figures and of each keypoint dataset's."""
    rows = [(label, _num(old.get(sec, {}).get(key)), _num(new.get(sec, {}).get(key))) for label, sec, key in FIGURES]
    kp_old, kp_new = old.get("keypoints") or {}, new.get("keypoints") or {}
    for name in sorted(set(kp_old) | set(kp_new)):
        a, b = kp_old.get(name) or {}, kp_new.get(name) or {}
        for key in KEYPOINT_FIGURES:
            before, after = _kp_figure(a, key), _kp_figure(b, key)
            if before is not None or after is not None:
                rows.append((f"{name} {key}", before, after))
    return rows


def _kp_figure(figures: dict, key: str) -> float | None:
    v = figures.get(key)
    return _num(v.get("accuracy") if isinstance(v, dict) else v)


def _reps_effect(clip_old: dict, clip_new: dict) -> int:
    true, a, b = clip_old.get("true_reps"), clip_old.get("pred_reps"), clip_new.get("pred_reps")
    if true is None or a is None or b is None:
        return 0
    return (abs(a - true) > abs(b - true)) - (abs(a - true) < abs(b - true))


def _label_match(clip: dict, key: str) -> bool | None:
    if key == "recognized":
        return clip.get("recognized") == clip.get("exercise") if "exercise" in clip else None
    want = {"correct": "pass", "incorrect": "fail"}.get(clip.get("form") or "")
    return None if want is None else clip.get("verdict") == want


def clip_changes(old: dict, new: dict, *, score_delta: float = 3.0) -> list[ClipChange]:
    """Every clip whose output differs, in the order of the newer run; clips in one run only too."""
    if not score_delta > 0:
        raise ValueError(f"score_delta must be positive, got {score_delta}")
    before = {c["path"]: c for c in old["clips"]}
    after = {c["path"]: c for c in new["clips"]}
    out = []
    for path in [*after, *(p for p in before if p not in after)]:
        a, b = before.get(path), after.get(path)
        if a is None or b is None:
            out.append(ClipChange(path, ("only in the " + ("newer" if a is None else "older") + " run",), ()))
            continue
        changes = [f"{k} {a.get(k)} -> {b.get(k)}" for k in CLIP_FIELDS if a.get(k) != b.get(k)]
        # the form rules broken in the clip (runs made before they were recorded have none to compare)
        if "rule_faults" in a and "rule_faults" in b:
            fa, fb = set(a["rule_faults"] or ()), set(b["rule_faults"] or ())
            if fa != fb:
                changes.append("faults " + " ".join([f"+{r}" for r in sorted(fb - fa)] + [f"-{r}" for r in sorted(fa - fb)]))
        effects = []
        if (r := _reps_effect(a, b)) != 0:
            effects.append(("reps", r))
        for key, name in (("recognized", "recognition"), ("verdict", "verdict")):
            ma, mb = _label_match(a, key), _label_match(b, key)
            if ma is not None and mb is not None and ma != mb:
                effects.append((name, 1 if mb else -1))
        sa, sb = _num(a.get("score")), _num(b.get("score"))
        if sa is not None and sb is not None and abs(sb - sa) >= score_delta:
            changes.append(f"score {sa:g} -> {sb:g}")
            sign = {"correct": 1, "incorrect": -1}.get(a.get("form") or "", 0)
            if sign:
                effects.append(("score", sign * (1 if sb > sa else -1)))
        elif (sa is None) != (sb is None):
            changes.append(f"score {a.get('score')} -> {b.get('score')}")
        if changes:
            out.append(ClipChange(path, tuple(changes), tuple(effects)))
    return out


def tally(changes: list[ClipChange]) -> dict[str, tuple[int, int]]:
    """{"reps": (better, worse), ...} over the changed clips."""
    better, worse = Counter(), Counter()
    for c in changes:
        for name, sign in c.effects:
            (better if sign > 0 else worse)[name] += 1
    return {k: (better[k], worse[k]) for k in ("reps", "recognition", "verdict", "score")}


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.4g}"


def report(old: dict, new: dict, *, score_delta: float = 3.0) -> str:
    lines = ["| figure | before | after | change |", "|---|---|---|---|"]
    for label, a, b in figure_rows(old, new):
        if a is None or b is None or a == b:
            mark = "" if a == b else "n/a"
        else:
            good = (b < a) if label in LOWER_IS_BETTER else (b > a)
            mark = f"{b - a:+.4g} ({'better' if good else 'worse'})"
        lines.append(f"| {label} | {_fmt(a)} | {_fmt(b)} | {mark} |")
    changes = clip_changes(old, new, score_delta=score_delta)
    lines += ["", f"{len(changes)} of {len(new['clips'])} clips changed (scores: moves of {score_delta:g}+ points)"]
    lines += [f"- {c.path}: {'; '.join(c.changes)}" for c in changes]
    t = tally(changes)
    lines += ["", "against the labels: " + ", ".join(f"{k} {b} better / {w} worse" for k, (b, w) in t.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Compare two bench/accuracy.py --json runs.")
    ap.add_argument("before", help="the older run's JSON")
    ap.add_argument("after", help="the newer run's JSON")
    ap.add_argument("--score-delta", type=float, default=3.0, help="report score moves of at least this many points")
    args = ap.parse_args(argv)
    try:
        old, new = load_run(args.before), load_run(args.after)
        print(report(old, new, score_delta=args.score_delta))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
