"""One half of a video through the pose model (pose.MediaPipeEstimator on the pose backend), in
its own interpreter (see pose.extract_video_parallel).

python -m coach.pose_worker VIDEO MAX_SIDE START STOP FRAME_WIDTH OUT.npz [WINDOW [STRIDE [TURNS [CUT [WARMUP]]]]]
WINDOW: "x0,y0,x1,y1" crop fractions (pose.WindowEstimator) or "-" for the whole frame.
STRIDE: analyse every STRIDE-th frame of the stream (default 1).
TURNS: run the model on frames turned this many quarter turns (pose.RotatedEstimator; default 0).
CUT: "origin,seek,start,stop" pts (video.Cut; "-" for none): the part to analyse instead of
START/STOP, decoded from a keyframe (every STRIDE-th frame of it; its warm-up frames are run and
dropped).
WARMUP: without a CUT, also run the model on this many analysed frames before START and drop them,
so tracking has locked on by START (default 0).
Prints "progress N" lines; writes xyz, visibility, timestamps_s to OUT.npz; on failure prints
"error: ..." on stderr and exits 1.

python -m coach.pose_worker --serve: a warm worker of `pose.PosePool`. It loads the pose model and
builds a fresh pose graph before each job (printing "ready" after the first), then reads one job per stdin line (a JSON list of the
arguments above) and answers on stdout: "progress N" lines, "error: ..." on failure, then
"done RC". A fresh graph per job keeps the landmarks identical to a cold worker's."""

from __future__ import annotations

import os
import sys
import types

import numpy as np

#: Frames decoded ahead of the model (~0.7 MB each at 640x360).
PREFETCH_FRAMES = 4


def _prepare() -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    # mediapipe imports matplotlib.pyplot for its drawing helpers: 0.3 s of the ~0.85 s a worker
    # needs before its first frame. A worker never draws, so it gets an empty module instead.
    sys.modules.setdefault("matplotlib.pyplot", types.ModuleType("matplotlib.pyplot"))


def main(argv: list[str]) -> int:
    _prepare()
    return run_job(argv, err=sys.stderr)


def serve() -> int:
    """Jobs from stdin until it closes, each on a pose graph built while waiting for it."""
    import json

    _prepare()
    import av  # noqa: F401  (imported by the first job otherwise: ~40 ms it need not wait for)

    warm = _primed()
    print("ready", flush=True)  # once: jobs sent earlier simply wait in stdin
    for line in sys.stdin:
        try:
            argv = json.loads(line)
            if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv)):
                raise ValueError(f"expected a JSON list of strings, got {line[:80]!r}")
        except ValueError as exc:
            print(f"error: bad job: {exc}", flush=True)
            print("done 2", flush=True)
            continue
        rc = run_job(argv, err=sys.stdout, warm=warm)
        warm = _primed()  # before the "done": the next job must not wait for it
        print(f"done {rc}", flush=True)
    return 0


def _primed():
    """A fresh `MediaPipeEstimator` that has already seen one black frame: its first inference
    sets up the model (~75 ms), which a job then does not wait for. A frame without a person
    leaves no tracking state, so the landmarks equal a cold worker's (tests/test_pose_pool.py)."""
    from coach.pose import MediaPipeEstimator

    est = MediaPipeEstimator()
    est.process(np.zeros((360, 640, 3), dtype=np.uint8))
    return est


def run_job(argv: list[str], *, err, warm=None) -> int:
    """One part of a video (the arguments in the module docstring). warm: a fresh, unused
    `MediaPipeEstimator` to use when the job needs the default model; it is closed either way."""
    from coach.pose import MediaPipeEstimator, OtherPersonSchedule, RotatedEstimator, window_estimator
    from coach.schema import N_LANDMARKS
    from coach.video import Cut, iter_frames, prefetch

    est = None
    try:
        if len(argv) < 6:
            raise ValueError(f"expected at least 6 arguments, got {len(argv)}")
        path, max_side, start, stop, width, out, *rest = argv
        window = tuple(float(v) for v in rest[0].split(",")) if rest and rest[0] != "-" else None
        stop_i = None if int(stop) < 0 else int(stop)
        stride = int(rest[1]) if len(rest) > 1 else 1
        turns = int(rest[2]) if len(rest) > 2 else 0
        cut = Cut.from_arg(rest[3]) if len(rest) > 3 and rest[3] != "-" else None
        warmup = int(rest[4]) if len(rest) > 4 else 0
        if window is None and warm is not None:
            est, warm = warm, None
        else:
            est = window_estimator(window) if window is not None else MediaPipeEstimator()
        if turns:
            est = RotatedEstimator(est, turns)
        xyzs, viss, times = [], [], []
        look = getattr(est, "other_person", None)  # not through a window or a turn
        others: list[float] = []
        schedule = OtherPersonSchedule()
        if cut is not None:
            frames = iter_frames(path, max_side=int(max_side), cut=cut, stride=stride)
            drop = cut.warm_frames
        else:
            first = max(0, int(start) - warmup * stride) // stride * stride
            frames = iter_frames(path, max_side=int(max_side), frame_range=(first, stop_i), stride=stride)
            drop = -(-(int(start) - first) // stride)
        # decode a few frames ahead on a thread: decoding and scaling (~3.5 ms a 1080p frame)
        # then overlap the model instead of adding to it
        for i, (t, rgb) in enumerate(prefetch(frames, size=PREFETCH_FRAMES)):
            res = est.process(rgb)
            if i < drop:
                schedule.due(t, look=False)  # the worker before this one looks at these times
                continue  # warm-up: tracking locks on before the part this worker reports
            k = i - drop
            if schedule.due(t, person=res is not None) and look is not None:
                found = look(rgb, res[0])
                others.append(np.nan if found is None else found)
            if res is None:
                xyzs.append(np.full((N_LANDMARKS, 3), np.nan, dtype=np.float32))
                viss.append(np.zeros(N_LANDMARKS, dtype=np.float32))
            else:
                xyzs.append((res[0] * (float(width) / rgb.shape[1])).astype(np.float32))
                viss.append(res[1].astype(np.float32))
            times.append(t)
            if k % 10 == 9:
                print(f"progress {k + 1}", flush=True)
        tmp = out + ".part.npz"
        np.savez(
            tmp,
            xyz=np.stack(xyzs) if xyzs else np.zeros((0, N_LANDMARKS, 3), np.float32),
            visibility=np.stack(viss) if viss else np.zeros((0, N_LANDMARKS), np.float32),
            timestamps_s=np.asarray(times, dtype=np.float64),
            others=np.asarray(others, dtype=np.float64),
        )
        os.replace(tmp, out)
        print(f"progress {len(times)}", flush=True)
    except Exception as exc:  # the parent turns this into a one-line PoseError
        print(f"error: {type(exc).__name__}: {exc}", file=err, flush=True)
        return 1
    finally:
        for e in (est, warm):
            if e is not None:
                e.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(serve() if sys.argv[1:] == ["--serve"] else main(sys.argv[1:]))
