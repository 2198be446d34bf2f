"""Command line: `python -m coach analyze|references|reference add|reference delete|extract`.

Progress goes to stderr; bad input exits non-zero with a one-line reason; outputs are written
atomically (nothing half-written)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path

from coach.errors import CoachError


class _Progress:
    """A single updating stderr line: stage, frames done / total, time left."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet or not sys.stderr
        self.t0 = time.monotonic()
        self.last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if now - self.last < 0.25 and done != total:
            return
        self.last = now
        if (stage in ("pose", "render") and total) or (stage == "turn" and total > 1):
            if stage != getattr(self, "stage", None):
                self.stage, self.t0 = stage, now
            frac = min(done / total, 1.0)
            eta = (now - self.t0) / max(frac, 1e-6) * (1 - frac)
            name = "pose, missed frames turned" if stage == "turn" else stage
            msg = f"\r{name}: {done}/{total} frames ({100 * frac:3.0f}%), ~{eta:4.0f} s left "
        elif stage == "search":
            msg = f"\rno one found at full frame, looking closer: window {done}/{total}" + " " * 10
        else:
            msg = f"\r{stage}: step {done}/{total}" + " " * 20
        sys.stderr.write(msg)
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _is_keypoint_file(path: Path) -> bool:
    return path.is_dir() or path.suffix.lower() in (".npz", ".csv", ".zip", ".npy", ".json")


def _load_input(path: Path, settings, progress):
    """(raw poses, video info or None, timings) from a video or a keypoint file."""
    from coach.analysis import extract_video_poses, import_scipy

    if _is_keypoint_file(path):
        from coach.importers import load_keypoints

        return load_keypoints(path), None, {}
    # The analysis needs scipy (~0.9 s to import on one core); import it while the pose workers
    # start and run, not before them (a 5 s 1080p clip, whole command: 3.7 -> 3.5 s).
    warm = threading.Thread(target=import_scipy, name="import-scipy", daemon=True)
    warm.start()
    seq, info, timings = extract_video_poses(path, settings=settings, progress=progress)
    warm.join()
    return seq, info, timings


def cmd_analyze(args) -> int:
    from coach.analysis import analyze_poses
    from coach.references import ReferenceLibrary
    from coach.settings import DEFAULT_SETTINGS

    path = Path(args.input)
    if not path.exists():
        raise CoachError(f"{path}: file not found")
    progress = _Progress(args.quiet)
    settings = DEFAULT_SETTINGS
    seq, info, timings = _load_input(path, settings, progress)
    analysis = analyze_poses(
        seq, library=ReferenceLibrary(), reference_id=args.reference, exercise=args.exercise,
        settings=settings, source=path.name, video=info, timings=timings, progress=progress,
    )
    out = analysis.to_dict()
    out["pass_threshold"] = settings.compare.pass_threshold
    if args.video:
        from coach.overlay import write_annotated_video

        def vp(done: int, total: int) -> None:
            progress("render", done, total or analysis.poses.n_frames)

        write_annotated_video(analysis, Path(args.video), video_path=path if info else None, progress=vp)
        out["annotated_video"] = str(args.video)
    if args.html:
        from coach.report import write_html_report
        from coach.results import analysis_to_bundle

        write_html_report(analysis_to_bundle(analysis, pass_threshold=settings.compare.pass_threshold), Path(args.html))
        out["html_report"] = str(args.html)
    text = json.dumps(out, indent=2, allow_nan=False)
    if args.json:
        _write_atomic(Path(args.json), text.encode("utf-8"))
    if not args.json or args.print:
        print(_summary(out) if not args.print_json else text)
    return 0


def _summary(d: dict) -> str:
    lines = [
        f"{d['source']}: {d['exercise_label']} ({d['view']} view), reference {d['reference']}",
        f"reps: {d['reps']} (+{d['partial_reps']} partial)   score: {d['score']}   verdict: {d['verdict']}   "
        f"confidence: {d['confidence']}",
    ]
    for r in d["rep_details"]:
        faults = ", ".join(f.replace("_", " ") for f in r.get("rule_faults") or [])
        lines.append(f"  rep {r['rep']}: {r['start_s']:.1f}-{r['end_s']:.1f} s  score {r['score']}"
                     + (f"  faults: {faults}" if faults else ""))
    if d["cues"]:
        lines.append("cues:")
        lines += [f"  - {c}" for c in d["cues"]]
    if d["warnings"]:
        lines.append("warnings:")
        lines += [f"  ! {w}" for w in d["warnings"]]
    return "\n".join(lines)


def cmd_references(args) -> int:
    from coach.references import ReferenceLibrary

    lib = ReferenceLibrary()
    metas = lib.list()
    rows = [
        {"id": m.id, "name": m.name, "exercise": m.exercise, "view": m.view, "performer": m.performer,
         "reps": m.reps, "builtin": lib.is_builtin(m.id)}
        for m in metas
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['id']:<36} {r['exercise']:<15} {r['view']:<6} reps {r['reps']:<3} {r['performer']}")
    for p in lib.problems:
        print(f"warning: {p}", file=sys.stderr)
    return 0


def cmd_reference_add(args) -> int:
    from coach.analysis import count_exercise_reps, view_of
    from coach.clean import clean_poses
    from coach.exercises import get_exercise
    from coach.references import ReferenceLibrary
    from coach.settings import DEFAULT_SETTINGS

    path = Path(args.input)
    if not path.exists():
        raise CoachError(f"{path}: file not found")
    ex = get_exercise(args.exercise)
    progress = _Progress(args.quiet)
    seq, _info, _t = _load_input(path, DEFAULT_SETTINGS, progress)
    cleaned = clean_poses(seq, DEFAULT_SETTINGS.clean)
    if cleaned.person_frames < 0.5:
        raise CoachError(f"{path.name}: a person was found in only {100 * cleaned.person_frames:.0f}% of the frames")
    reps = count_exercise_reps(cleaned.poses, ex, DEFAULT_SETTINGS)
    if reps.count == 0:
        raise CoachError(f"{path.name}: expected at least one complete {ex.label.lower()} repetition, found none")
    view = view_of(cleaned.poses)
    meta = ReferenceLibrary().add(
        cleaned.poses, name=args.name, performer=args.performer or "user", exercise=ex.id, view=args.view,
        facing=view.facing if args.view == "side" else "camera",
        reps=reps.count, rep_bounds_s=[(r.start_s, r.peak_s, r.end_s) for r in reps.reps],
        source=f"user upload: {path.name}", licence=args.licence,
    )
    print(f"added reference {meta.id} ({meta.reps} reps)")
    return 0


def cmd_reference_delete(args) -> int:
    from coach.references import ReferenceLibrary

    ReferenceLibrary().delete(args.id)
    print(f"deleted reference {args.id}")
    return 0


def cmd_extract(args) -> int:
    from coach.analysis import extract_video_poses
    from coach.pose import person_share

    path = Path(args.input)
    progress = _Progress(args.quiet)
    seq, _info, _t = extract_video_poses(path, progress=progress)
    out = Path(args.output)
    if out.suffix.lower() == ".csv":
        from coach.importers import write_keypoint_csv

        write_keypoint_csv(seq, out)
    else:
        seq.save_npz(out)
    print(f"{out}: {seq.n_frames} frames at {seq.fps:.2f} fps, person in {100 * person_share(seq):.0f}% of frames")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m coach", description="Form Coach: compare your exercise with a reference.")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = p.add_subparsers(dest="cmd", required=True)

    a = sub.add_parser("analyze", help="analyse a video (or keypoint file) against a reference")
    a.add_argument("input", help="video (mp4/mov/webm/avi) or keypoints (.npz/.csv/.zip of OpenPose JSON)")
    a.add_argument("--reference", help="reference id (default: closest to the recognised exercise and view)")
    a.add_argument("--exercise", help="skip recognition: the exercise performed")
    a.add_argument("--json", help="write the results as JSON to this file")
    a.add_argument("--video", help="write an annotated H.264 video to this .mp4")
    a.add_argument("--html", help="write a self-contained HTML report (opens offline) to this file")
    a.add_argument("--print", action="store_true", help="print the summary even with --json")
    a.add_argument("--print-json", action="store_true", help="print JSON instead of the summary")
    a.set_defaults(func=cmd_analyze)

    r = sub.add_parser("references", help="list the reference library")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_references)

    ref = sub.add_parser("reference", help="add or delete a user reference")
    rsub = ref.add_subparsers(dest="refcmd", required=True)
    ra = rsub.add_parser("add", help="add a reference from a video or keypoint file")
    ra.add_argument("input")
    ra.add_argument("--name", required=True)
    ra.add_argument("--exercise", required=True)
    ra.add_argument("--view", required=True, choices=["side", "front", "back", "oblique"])
    ra.add_argument("--performer", default="")
    ra.add_argument("--licence", default="user's own recording")
    ra.set_defaults(func=cmd_reference_add)
    rd = rsub.add_parser("delete", help="delete a user-added reference")
    rd.add_argument("id")
    rd.set_defaults(func=cmd_reference_delete)

    e = sub.add_parser("extract", help="extract landmarks of a video to .npz (or .csv)")
    e.add_argument("input")
    e.add_argument("-o", "--output", required=True)
    e.set_defaults(func=cmd_extract)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # the entry point (not the library) quiets MediaPipe's C++ logging on stderr
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not args.verbose:  # those env vars do not reach the notes MediaPipe writes as it starts
        from coach.pose import quiet_native_stderr

        quiet_native_stderr()  # before logging binds its handler to sys.stderr
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except CoachError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # validation of arguments (unknown exercise, ...)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
