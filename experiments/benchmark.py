"""Speed benchmarks, each a comparison measured in one run on the same inputs.

::

    python -m experiments.benchmark data_prep [--files N] [--json OUT]

``data_prep``: per-frame target extraction. The seed's loop (five librosa calls on each frame alone)
against :func:`data_prep.targets.targets_from_frames` on the same frames, vectorised in batches of up to
2048 frames as the build does, and per file as :func:`data_prep.frame_targets` does. Frames come from the
shared corpora (``../shared/data``) when present, else from the demo corpus.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _timed(fn, repeat=3):
    """Best wall time of ``repeat`` calls (after one warm-up call) and the last result."""
    fn()
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def benchmark_files(n_per_corpus):
    """Up to ``n_per_corpus`` files from each shared corpus (evenly spaced), or demo files."""
    from data_prep import corpora

    found = []
    layout = {"emodb": "emodb", "ravdess": "ravdess", "tess": "tess"}
    if SHARED_DATA.is_dir():
        for name, folder in layout.items():
            if (SHARED_DATA / folder).is_dir():
                utts, _ = corpora.discover(name, SHARED_DATA / folder)
                step = max(1, len(utts) // n_per_corpus)
                found += [u.path for u in utts[::step][:n_per_corpus]]
    if not found:
        from data_prep.demo import default_demo_root, generate_demo_corpus

        utts, _ = corpora.discover("ravdess", generate_demo_corpus(default_demo_root()))
        found = [u.path for u in utts[: 3 * n_per_corpus]]
    return found


def bench_data_prep(n_files=12, loop_frames=600):
    from data_prep.audio import load_audio
    from data_prep.targets import FEATURES, frame_signal, frame_targets, reference_frame_targets, targets_from_frames

    files = benchmark_files(n_files)
    signals = [load_audio(p) for p in files]
    frames = np.concatenate([frame_signal(y) for y in signals])
    n = len(frames)

    loop_frames = min(loop_frames, n)
    step = max(1, n // loop_frames)
    subset = frames[::step][:loop_frames]
    t0 = time.perf_counter()
    for frame in subset:
        reference_frame_targets(frame)
    loop_fps = len(subset) / (time.perf_counter() - t0)

    def batched():
        parts = [targets_from_frames(frames[i : i + 2048]) for i in range(0, n, 2048)]
        return {f: np.concatenate([p[f] for p in parts]) for f in FEATURES}

    t_batched, result = _timed(batched)
    t_per_file, _ = _timed(lambda: [frame_targets(y) for y in signals])
    # the two agree with the loop on the frames it timed (a benchmark of wrong answers is worthless)
    check = [reference_frame_targets(f) for f in subset[:50]]
    idx = np.arange(0, n, step)[:50]
    max_err = {f: float(np.max(np.abs(result[f][idx] - np.stack([c[f] for c in check])) / (1 + np.abs(np.stack([c[f] for c in check]))))) for f in FEATURES}
    return {
        "benchmark": "data_prep",
        "files": len(files),
        "frames": int(n),
        "loop_frames": int(len(subset)),
        "per_frame_loop_fps": loop_fps,
        "vectorised_batched_fps": n / t_batched,
        "vectorised_per_file_fps": n / t_per_file,
        "ratio_batched": (n / t_batched) / loop_fps,
        "ratio_per_file": (n / t_per_file) / loop_fps,
        "max_relative_error": max_err,
    }


def machine_info():
    import librosa

    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(), "librosa": librosa.__version__,
            "numpy": np.__version__}


def format_data_prep(r):
    return "\n".join([
        f"target extraction on {r['frames']} frames from {r['files']} files (per-frame loop timed on {r['loop_frames']} of them)",
        f"  seed-style loop (librosa per frame)   {r['per_frame_loop_fps']:>10,.0f} frames/s   1.0x",
        f"  vectorised, per file (frame_targets)  {r['vectorised_per_file_fps']:>10,.0f} frames/s   {r['ratio_per_file']:.1f}x",
        f"  vectorised, batched (as the build)    {r['vectorised_batched_fps']:>10,.0f} frames/s   {r['ratio_batched']:.1f}x",
        "  max relative error vs the loop: " + ", ".join(f"{k} {v:.1e}" for k, v in r["max_relative_error"].items()),
    ])


BENCHMARKS = {"data_prep": (bench_data_prep, format_data_prep)}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m experiments.benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("name", choices=sorted(BENCHMARKS), help="what to benchmark")
    parser.add_argument("--files", type=int, default=12, help="files per shared corpus (default 12)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.files < 1:
        parser.error(f"--files must be at least 1, got {args.files}")
    run, fmt = BENCHMARKS[args.name]
    result = run(args.files)
    result["machine"] = machine_info()
    print(fmt(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
