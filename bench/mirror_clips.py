"""Mirror every video of a manifest left to right, for a robustness run of bench/accuracy.py.

    python bench/mirror_clips.py --manifest ../shared/data/manifest.csv --out /tmp/mirrored
    python bench/accuracy.py --manifest /tmp/mirrored/manifest.csv --cache-dir /tmp/mirrored-cache

A mirrored clip shows the same exercise, reps and form, filmed from the other side, so every figure
should stay where it was: what moves is the pose model's (and the engine's) dependence on which
way the person faces. The copies are H.264 (ffmpeg `hflip`, CRF 18) at the same paths under --out;
rotation metadata is applied while copying. The manifest is copied with the rows whose clip was
written; keypoint folders are not copied.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def mirror(src: Path, dst: Path) -> str | None:
    """Write the mirrored copy; None, or the reason it failed."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".part.mp4")
    cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-an", "-vf", "hflip,format=yuv420p",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", str(tmp)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        return proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"ffmpeg exit {proc.returncode}"
    tmp.replace(dst)  # the container is MP4 whatever the name; the decoder reads the content
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path, help="folder for the mirrored clips and manifest")
    args = ap.parse_args(argv)
    if shutil.which("ffmpeg") is None:
        print("error: expected ffmpeg on PATH, got none (apt-get install ffmpeg)", file=sys.stderr)
        return 2
    base = args.manifest.resolve().parent
    with open(args.manifest, newline="") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        rows = list(reader)
    if "path" not in fields:
        print(f"error: expected a manifest with a 'path' column, got {fields}", file=sys.stderr)
        return 2

    def one(row: dict) -> tuple[dict, str | None]:
        src, dst = base / row["path"], args.out / row["path"]
        if not src.is_file():
            return row, "missing"
        if dst.is_file():
            return row, None
        return row, mirror(src, dst)

    kept = []
    with ThreadPoolExecutor(max_workers=2) as ex:
        for i, (row, err) in enumerate(ex.map(one, rows), 1):
            if err is None:
                kept.append(row)
            else:
                print(f"[{i}/{len(rows)}] {row['path']}: skipped ({err})", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "manifest.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)
    print(f"{len(kept)} of {len(rows)} clips mirrored into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
