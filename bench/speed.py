"""Speed benchmark on a real clip: per-stage time, real-time factor, frames per second, peak
memory, DTW time (ours vs tslearn) and the per-frame latency of the live path.

    python bench/speed.py [--video PATH] [--json OUT] [--long]

Default clip: the longest squat clip listed in ../shared/data/manifest.csv.

Stages, each timed on its own:
- decode: one pass of `coach.video.iter_frames` at the analysis size (no pose model);
- pose: `extract_video_poses(..., use_cache=False)` — decoding plus MediaPipe, streamed together;
  "pose model" = pose − decode;
- clean / recognize / reps / compare / feedback: `Analysis.timings_s` of `analyze_poses` (the
  exercise is recognised, as for a user who does not pick it);
- render: `coach.overlay.write_annotated_video` to a temporary H.264 file (reported apart: the
  annotated video is optional).

rtf = (pose incl. decode + analysis) / clip duration, as the dashboard runs an upload: on the warm
pose workers and loaded reference library it readies when it starts (`coach.pose.start_pose_pool`,
`coach.analysis.warm_up_analysis`), the first upload after the start; rtf_repeat = the median of two
more uploads of the clip; rtf_cold = the same with new worker processes, as the CLI runs them
(~0.5 s more: their interpreters, imports and models, compiled too when $FORM_COACH_HOME has
none cached yet); cli_s / rtf_cli = the whole
`python -m coach analyze` command in a new process (its own interpreter and imports on top);
rtf_with_render adds the annotated video to rtf_cold; fps = frames / pose time (incl. decode, cold);
peak_mb = the process's peak resident memory (VmHWM, else ru_maxrss) after all stages, MediaPipe included.
DTW: per-keypoint DTW of 33 landmarks on two 30-s body-frame trajectories at 15 fps taken from
the clip (its first and last 30 s), `coach.compare.per_keypoint_dtw` vs `tslearn.metrics.dtw` on
the same arrays with the same Sakoe-Chiba band (tslearn timed after its JIT warm-up; the cold
first call is reported too). Live: per-frame latency of `MediaPipeEstimator.process` on the
pose backend in use (FORM_COACH_POSE_BACKEND; plus the
live module's per-frame step when coach/live.py exists) on 640x360 frames; live_fps = 1 / mean.
--long builds a ~10-minute clip by looping the clip's packets (PyAV remux, no re-encode) and
measures the peak memory of a child process that analyses it.

floor_rtf: the least time the pose stage can take here, from the per-frame CPU costs measured
above (decode and scale, one model call on one core) for the longer worker's frames (half the
clip and its warm-up); rtf above it is start-up, waiting and analysis.

Targets (reported, not asserted): rtf <= 0.35, DTW (33 keypoints, 30 s) <= 20 ms, live >= 25 fps,
peak memory <= 1.5 GB on a 10-minute clip.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/speed.py` from a checkout without installing
    sys.path.insert(0, str(ROOT))

SHARED_DATA = ROOT.parent / "shared" / "data"
DTW_SECONDS = 30.0
DTW_FPS = 15.0
LIVE_SIZE = (640, 360)  # width, height of the frames fed to the live path
LIVE_FRAMES = 150


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB: VmHWM from /proc (Linux), else ru_maxrss.

    VmHWM belongs to the current address space, so a child started with fork + exec reports its
    own peak; ru_maxrss would carry over the parent's size at the fork."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024.0, 1)  # kB
    except OSError:
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / 1024.0 if sys.platform != "darwin" else kb / 2**20, 1)


def default_clip() -> Path:
    """The longest squat clip of ../shared/data/manifest.csv."""
    man = SHARED_DATA / "manifest.csv"
    if not man.is_file():
        raise SystemExit(f"error: no --video given and {man} not found")
    with open(man, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["exercise"] == "squat" and (SHARED_DATA / r["path"]).is_file()]
    if not rows:
        raise SystemExit(f"error: no squat clip found in {man}")
    best = max(rows, key=lambda r: float(r.get("duration_s") or 0))
    return SHARED_DATA / best["path"]


# --- stages --------------------------------------------------------------------------------------


def time_decode(path: Path, max_side: int, stride: int = 1) -> tuple[float, float, int]:
    """(wall s, CPU s of all threads, frames yielded) of one pass of `iter_frames` as the pose
    stage runs it: every stride-th frame converted at the analysis size."""
    from coach.video import iter_frames

    t0, c0 = time.perf_counter(), time.process_time()
    n = sum(1 for _ in iter_frames(path, max_side=max_side, stride=stride))
    return time.perf_counter() - t0, time.process_time() - c0, n


def time_pipeline(path: Path, render: bool) -> dict:
    from coach.analysis import analysis_stride, analyze_poses, extract_video_poses, import_scipy
    from coach.references import ReferenceLibrary
    from coach.settings import DEFAULT_SETTINGS
    from coach.video import probe

    import_scipy()  # module imports are not the analysis: `time_cli` counts them
    s = DEFAULT_SETTINGS
    out: dict = {}
    t_decode, cpu_decode, n_dec = time_decode(path, s.video.max_side_px, analysis_stride(probe(path).fps, s))
    out["decode_s"] = t_decode
    out["decode_cpu_s"] = cpu_decode
    t0 = time.perf_counter()
    seq, info, timings = extract_video_poses(path, settings=s, use_cache=False)
    out["pose_incl_decode_s"] = time.perf_counter() - t0
    out["probe_s"] = timings.get("probe", 0.0)
    out["frames"] = seq.n_frames
    out["duration_s"] = seq.duration_s or info.duration_s
    lib = ReferenceLibrary()
    t0 = time.perf_counter()
    a = analyze_poses(seq, library=lib, settings=s, source=path.name, video=info)
    out["analysis_s"] = time.perf_counter() - t0
    for k in ("clean", "recognize", "reps", "compare", "feedback"):
        out[f"{k}_s"] = a.timings_s.get(k, float("nan"))
    out["exercise"] = a.exercise.id
    out["reps"] = a.reps.count
    out["score"] = a.score
    if render:
        from coach.overlay import write_annotated_video

        with tempfile.TemporaryDirectory() as td:
            t0 = time.perf_counter()
            write_annotated_video(a, Path(td) / "annotated.mp4", video_path=path)
            out["render_s"] = time.perf_counter() - t0
    out["_analysis"] = a
    out["decoded_frames"] = n_dec
    return out


def time_app_path(path: Path, repeats: int = 2) -> dict:
    """Pose + analysis as the dashboard runs them: on its warm pose workers (`pose.start_pose_pool`)
    and reference library (`analysis.warm_up_analysis`), both readied when the app starts, before the
    upload. The first analysis after the start is timed apart; repeat_s: the median of `repeats`
    more."""
    from coach import pose
    from coach.analysis import analyze_poses, extract_video_poses, warm_up_analysis
    from coach.references import ReferenceLibrary

    pool = pose.start_pose_pool()
    try:
        lib = ReferenceLibrary()
        warm_up_analysis(lib)
        if not pool.wait_ready():
            raise RuntimeError("a warm pose worker died while starting")
        runs = []
        for _ in range(1 + repeats):
            t0 = time.perf_counter()
            seq, info, _t = extract_video_poses(path, use_cache=False)
            t_pose = time.perf_counter() - t0
            t0 = time.perf_counter()
            analyze_poses(seq, library=lib, source=path.name, video=info)
            runs.append((t_pose, time.perf_counter() - t0))
        again = [p + a for p, a in runs[1:]]
        return {"pose_s": runs[0][0], "analysis_s": runs[0][1], "served": pool.served,
                "repeat_s": float(np.median(again)) if again else None}
    finally:
        pose.stop_pose_pool()


def time_cli(path: Path) -> float:
    """Wall seconds of the whole `python -m coach analyze CLIP --json OUT` command, as a person runs
    it: a new interpreter, its imports, two new pose workers, the analysis, the JSON written. The
    keypoints are not cached; the compiled pose models are, as after any first run (a first run in
    the same empty data folder writes them and is not timed)."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "FORM_COACH_HOME": home}
        cmd = [sys.executable, "-m", "coach", "analyze", str(path), "--json", str(Path(home) / "out.json")]
        subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True)
        shutil.rmtree(Path(home) / "cache")
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True)
        return time.perf_counter() - t0


def dtw_timing(a, *, repeats: int = 5) -> dict:
    """33-keypoint per-keypoint DTW on two 30-s 15-fps body-frame trajectories from the clip."""
    from tslearn.metrics import dtw as ts_dtw

    from coach.compare import _window, per_keypoint_dtw, resample_indices
    from coach.normalize import body_frame
    from coach.settings import DEFAULT_SETTINGS

    poses = a.poses  # cleaned
    idx = resample_indices(poses.timestamps_s, DTW_FPS)
    xy = body_frame(poses.xy)[idx]
    n = min(len(xy), round(DTW_SECONDS * DTW_FPS))
    user, ref = xy[:n], xy[len(xy) - n :]
    frac = DEFAULT_SETTINGS.compare.dtw_window_frac
    w = _window(len(user), len(ref), frac)

    def ours() -> dict:
        return per_keypoint_dtw(user, ref, window_frac=frac)

    ours()  # warm-up (imports, allocations)
    t_ours = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = ours()
        t_ours.append(time.perf_counter() - t0)

    # tslearn on the same (gap-filled) arrays and band; skip landmarks ours skipped
    from coach.compare import _fill

    pairs = []
    for j in range(user.shape[1]):
        u, r = _fill(user[:, j]), _fill(ref[:, j])
        if u is not None and r is not None:
            pairs.append((j, np.ascontiguousarray(u), np.ascontiguousarray(r)))

    def theirs() -> list[float]:
        return [ts_dtw(u, r, global_constraint="sakoe_chiba", sakoe_chiba_radius=w) for _j, u, r in pairs]

    t0 = time.perf_counter()
    theirs()
    t_cold = time.perf_counter() - t0
    t_ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ts_vals = theirs()
        t_ts.append(time.perf_counter() - t0)
    # same quantity? ours is distance / sqrt(max length); compare the raw distances
    from coach.schema import LANDMARK_NAMES

    diffs = []
    for (j, u, r), tv in zip(pairs, ts_vals, strict=True):
        ov = res.get(LANDMARK_NAMES[j])
        if ov is not None:
            diffs.append(abs(ov - tv / math.sqrt(max(len(u), len(r)))))
    return {
        "dtw_ms": round(1000 * float(np.median(t_ours)), 2),
        "tslearn_ms": round(1000 * float(np.median(t_ts)), 2),
        "tslearn_cold_ms": round(1000 * t_cold, 1),
        "dtw_frames": [len(user), len(ref)],
        "dtw_keypoints": len(pairs),
        "dtw_window": w,
        "dtw_max_abs_diff": round(max(diffs), 5) if diffs else None,
    }


def live_timing(path: Path, n_frames: int = LIVE_FRAMES) -> dict:
    """Per-frame latency of the live path on LIVE_SIZE frames taken from the clip."""
    import cv2

    from coach.pose import MediaPipeEstimator
    from coach.video import iter_frames

    frames = []
    for _t, rgb in iter_frames(path, max_side=max(LIVE_SIZE)):
        frames.append(np.ascontiguousarray(cv2.resize(rgb, LIVE_SIZE, interpolation=cv2.INTER_AREA)))
        if len(frames) >= n_frames:
            break
    out: dict = {"live_frames": len(frames), "live_size": list(LIVE_SIZE)}
    step = _live_step()
    lat, model = [], []
    with MediaPipeEstimator() as est:
        est.process(frames[0])  # first call initialises the graph
        for f in frames:
            t0 = time.perf_counter()
            res = est.process(f)
            model.append(time.perf_counter() - t0)
            if step is not None:
                step(f, res)
            lat.append(time.perf_counter() - t0)
    lat_ms = 1000 * np.asarray(lat)
    out["model_ms_mean"] = round(1000 * float(np.mean(model)), 2)
    out["live_ms_mean"] = round(float(lat_ms.mean()), 2)
    out["live_ms_p95"] = round(float(np.percentile(lat_ms, 95)), 2)
    out["live_fps"] = round(1000.0 / float(lat_ms.mean()), 1)
    out["live_path"] = "MediaPipeEstimator.process" + (" + coach.live step" if step is not None else "")
    return out


def _live_step():
    """The live module's per-frame work after the pose model: `coach.live.bench_step(rgb, landmarks)`
    when coach/live.py provides it (the hook this benchmark times); None otherwise."""
    try:
        from coach import live
    except ImportError:
        return None
    step = getattr(live, "bench_step", None)
    return step if callable(step) else None


def pose_floor(frames: int, decode_cpu_s: float, model_ms: float, duration_s: float) -> dict:
    """The least time the pose stage can take on this machine, from its per-frame costs: decoding
    and scaling (CPU of all decoder threads, per analysed frame) plus one model call on one core,
    for the frames of the longer part (the second: half the clip and its warm-up) when two
    workers split the clip. Everything else an upload costs comes on top of it."""
    from coach.pose import MIN_PARALLEL_FRAMES, WARMUP_FRAMES

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = 1 if frames < MIN_PARALLEL_FRAMES else min(2, cores)
    decode_ms = 1000 * decode_cpu_s / max(frames, 1)
    run = frames if workers == 1 else -(-frames // 2) + WARMUP_FRAMES  # the split is at the middle
    floor_s = run * (decode_ms + model_ms) / 1000
    return {"floor_rtf": round(floor_s / duration_s, 3), "floor_decode_ms": round(decode_ms, 2),
            "floor_model_ms": round(model_ms, 2), "floor_workers": workers}


# --- the 10-minute clip -----------------------------------------------------------------------


def build_long_clip(src: Path, out: Path, seconds: float) -> float:
    """Loop src's video packets (no re-encode) until `seconds` of video; returns the duration."""
    import av

    with av.open(str(src)) as inp:
        ist = inp.streams.video[0]
        packets = [p for p in inp.demux(ist) if p.dts is not None and p.size > 0]
    tb = ist.time_base
    first = min(p.pts for p in packets if p.pts is not None)
    last = max(p.pts + (p.duration or 0) for p in packets if p.pts is not None)
    span = last - first
    loops = max(1, math.floor(seconds / float(span * tb)))
    with av.open(str(src)) as inp, av.open(str(out), "w") as outc:
        ist = inp.streams.video[0]
        ost = outc.add_stream_from_template(ist)
        for k in range(loops):
            for p in packets:
                p2 = av.Packet(bytes(p))
                p2.pts = p.pts - first + k * span if p.pts is not None else None
                p2.dts = p.dts - first + k * span
                p2.is_keyframe = p.is_keyframe
                p2.duration = p.duration
                p2.time_base = tb
                p2.stream = ost
                outc.mux(p2)
    return float(loops * span * tb)


def long_child(path: Path) -> None:
    """Run in a child process: analyse `path` and print peak memory and times as JSON."""
    from coach.analysis import analyze_poses, extract_video_poses

    t0 = time.perf_counter()
    seq, _info, _t = extract_video_poses(path, use_cache=False)
    t_pose = time.perf_counter() - t0
    t0 = time.perf_counter()
    a = analyze_poses(seq, source=path.name)
    t_an = time.perf_counter() - t0
    # the pose model runs in worker processes (one per core) at the same time as this one: count
    # each at the largest worker's peak (ru_maxrss of finished children, KB on Linux)
    workers = int(seq.meta.get("workers", 0) or 0)
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0 if workers else 0.0
    print(json.dumps({"frames": seq.n_frames, "duration_s": seq.duration_s, "pose_s": t_pose, "analysis_s": t_an,
                      "peak_mb": peak_rss_mb() + workers * worker_mb, "parent_peak_mb": peak_rss_mb(),
                      "worker_peak_mb": worker_mb, "workers": workers,
                      "reps": a.reps.count, "exercise": a.exercise.id}))


def long_run(src: Path) -> dict:
    from coach.settings import DEFAULT_SETTINGS

    limit = DEFAULT_SETTINGS.video.max_duration_s
    with tempfile.TemporaryDirectory() as td:
        out = Path(td) / "long.mp4"
        dur = build_long_clip(src, out, min(600.0, limit) - 1.0)  # the longest clip the engine accepts
        log(f"long clip: {dur:.0f} s built from {src.name}; analysing in a child process ...")
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, __file__, "--_long-child", str(out)], capture_output=True, text=True,
                              check=False)
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"long_error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"long_duration_s": round(res["duration_s"], 1), "long_frames": res["frames"],
            "long_peak_mb": round(res["peak_mb"], 1), "long_parent_peak_mb": round(res["parent_peak_mb"], 1),
            "long_worker_peak_mb": round(res["worker_peak_mb"], 1), "long_rtf": round((res["pose_s"] + res["analysis_s"]) / res["duration_s"], 3),
            "long_wall_s": round(wall, 1), "long_reps": res["reps"], "long_exercise": res["exercise"]}


# --- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Form Coach speed benchmark on a real clip.")
    ap.add_argument("--video", help="clip to time (default: the longest squat clip in ../shared/data)")
    ap.add_argument("--json", help="write the figures (JSON) here")
    ap.add_argument("--no-render", action="store_true", help="skip the annotated-video stage")
    ap.add_argument("--long", action="store_true", help="also measure peak memory on a ~10-minute looped clip (slow)")
    ap.add_argument("--_long-child", dest="long_child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    os.environ.setdefault("GLOG_minloglevel", "2")
    from coach.pose import quiet_native_stderr

    quiet_native_stderr()  # MediaPipe's start-up notes, which the env var does not reach
    if args.long_child:
        long_child(Path(args.long_child))
        return 0
    path = Path(args.video) if args.video else default_clip()
    if not path.is_file():
        log(f"error: {path}: file not found")
        return 2
    log(f"clip: {path}")
    log("timing decode, pose, analysis, render ...")
    from coach.errors import CoachError

    try:
        p = time_pipeline(path, render=not args.no_render)
    except CoachError as exc:  # not a video, no person, too long: nothing to time
        log(f"error: {exc}")
        return 2
    a = p.pop("_analysis")
    dur = p["duration_s"]
    pose_model = max(0.0, p["pose_incl_decode_s"] - p["decode_s"])
    total = p["pose_incl_decode_s"] + p["analysis_s"]
    fig: dict = {
        "clip": str(path),
        "duration_s": round(dur, 2),
        "frames": p["frames"],
        "exercise": p["exercise"],
        "reps": p["reps"],
        "stages_s": {
            "decode": round(p["decode_s"], 3),
            "pose": round(pose_model, 3),
            "pose_incl_decode": round(p["pose_incl_decode_s"], 3),
            "clean": round(p["clean_s"], 3),
            "recognize": round(p["recognize_s"], 3),
            "reps": round(p["reps_s"], 3),
            "compare": round(p["compare_s"], 3),
            "feedback": round(p["feedback_s"], 3),
            "analysis_total": round(p["analysis_s"], 3),
            "render": round(p["render_s"], 3) if "render_s" in p else None,
        },
        "rtf": round(total / dur, 3),
        "rtf_with_render": round((total + p["render_s"]) / dur, 3) if "render_s" in p else None,
        "fps": round(p["frames"] / p["pose_incl_decode_s"], 1),
        "pose_model_fps": round(p["frames"] / pose_model, 1) if pose_model > 0 else None,
        "decode_fps": round(p["decoded_frames"] / p["decode_s"], 1),
    }
    log("timing the dashboard's path (warm pose workers) ...")
    w = time_app_path(path)
    fig["rtf_cold"] = fig["rtf"]
    fig["rtf"] = round((w["pose_s"] + w["analysis_s"]) / dur, 3)
    fig["rtf_repeat"] = round(w["repeat_s"] / dur, 3) if w["repeat_s"] is not None else None
    fig["stages_s"]["pose_incl_decode_warm"] = round(w["pose_s"], 3)
    log("timing the whole CLI command ...")
    fig["cli_s"] = round(time_cli(path), 3)
    fig["rtf_cli"] = round(fig["cli_s"] / dur, 3)
    log("timing DTW ...")
    fig.update(dtw_timing(a))
    log("timing the live path ...")
    fig.update(live_timing(path))
    fig.update(pose_floor(p["decoded_frames"], p["decode_cpu_s"], fig["model_ms_mean"], dur))
    if args.long:
        fig.update(long_run(path))
    fig["peak_mb"] = peak_rss_mb()

    from coach.pose import POSE_BACKENDS, pose_backend

    fig["pose_backend"] = POSE_BACKENDS[pose_backend()]
    st = fig["stages_s"]
    lines = [
        f"clip: {path.name}  {dur:.1f} s, {fig['frames']} frames  (recognised {fig['exercise']}, {fig['reps']} reps)",
        f"pose backend: {fig['pose_backend']} (FORM_COACH_POSE_BACKEND=openvino|mediapipe picks one)",
        "stage times (s): " + ", ".join(f"{k} {v:.3f}" for k, v in st.items() if v is not None),
        f"rtf (pose incl. decode + analysis) / duration, as the dashboard runs it (warm pose workers): "
        f"{fig['rtf']:.3f} the first after start, {_f(fig['rtf_repeat'])} again (median)   (target <= 0.35)",
        f"pose floor on this machine: {fig['floor_rtf']:.3f} x duration ({fig['frames']} frames x (decode and scale "
        f"{fig['floor_decode_ms']:.1f} ms CPU + model {fig['floor_model_ms']:.1f} ms a frame) on {fig['floor_workers']} "
        f"worker(s), the second with its warm-up); the rest of the rtf is start-up, waits and analysis",
        f"rtf with new worker processes (the CLI, one analysis per process): {fig['rtf_cold']:.3f}; "
        f"with render {_f(fig['rtf_with_render'])}",
        f"the whole CLI command (python -m coach analyze, a new process): {fig['cli_s']:.2f} s, "
        f"{fig['rtf_cli']:.3f} x duration",
        f"fps (frames / pose time incl. decode): {fig['fps']:.1f}   pose model only {_f(fig['pose_model_fps'])}  "
        f"decode only {fig['decode_fps']:.1f}",
        f"peak memory: {fig['peak_mb']:.0f} MB (peak RSS of this process, MediaPipe included)",
        f"DTW, 33 keypoints x {fig['dtw_frames'][0]} frames (30 s at 15 fps), band {fig['dtw_window']}: "
        f"ours {fig['dtw_ms']:.2f} ms, tslearn {fig['tslearn_ms']:.2f} ms (cold {fig['tslearn_cold_ms']:.0f} ms); "
        f"max |difference| {_f(fig['dtw_max_abs_diff'])}   (target <= 20 ms)",
        f"live: {fig['live_fps']:.1f} fps ({fig['live_ms_mean']:.1f} ms mean, p95 {fig['live_ms_p95']:.1f} ms, "
        f"{fig['live_size'][0]}x{fig['live_size'][1]}, {fig['live_path']})   (target >= 25 fps)",
    ]
    if "long_peak_mb" in fig:
        lines.append(f"10-minute clip ({fig['long_duration_s']:.0f} s, {fig['long_frames']} frames): peak memory "
                     f"{fig['long_peak_mb']:.0f} MB (target <= 1536; this process {fig['long_parent_peak_mb']:.0f} MB + "
                     f"pose workers at {fig['long_worker_peak_mb']:.0f} MB each), rtf {fig['long_rtf']:.3f}")
    elif "long_error" in fig:
        lines.append(f"10-minute clip: failed: {fig['long_error']}")
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps(fig, indent=2), encoding="utf-8")
    return 0


def _f(x) -> str:
    return "–" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)


if __name__ == "__main__":
    sys.exit(main())
