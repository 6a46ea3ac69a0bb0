"""Parameters and inference speed of every zoo model on one CPU core, as multiples of real time.

::

    python -m experiments.zoo_benchmark [--files 8] [--classes 7] [--json out.json]

Per model, on 2.5 s clips (108 frames) of the shared corpora: the time of what ``predict`` needs for one clip, the
feature extraction included (librosa or openSMILE on the clip, the FIN front end inside the model, the 16 kHz
resampling for the waveform models), batch 1, one core and one TensorFlow thread (as ``experiments.benchmark ser``).
The real-time factor is clip seconds / seconds of work (higher is faster). openSMILE is timed in a spawned process
(it cannot share a process with TensorFlow; see :mod:`ser.zoo.features`), also pinned to one core. The SVM's
prediction (a dot product per class) is left out: openSMILE dominates.
"""

import argparse
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from experiments.benchmark import _one_core, benchmark_files


def _clips(n_files):
    from data_prep.audio import load_audio
    from ser.data import ClipSettings, fit_clip

    settings = ClipSettings()
    files = benchmark_files(n_files)
    return settings, [fit_clip(load_audio(p, offset=settings.offset, duration=settings.duration),
                               settings.n_samples) for p in files]


def _seconds_per_clip(fn, clips, repeat=2):
    fn(*clips[0])  # warm-up
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for clip in clips:
            fn(*clip)
        best = min(best, (time.perf_counter() - t0) / len(clips))
    return best


def _opensmile_seconds(feature_set, n_files):
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from ser.zoo.features import make_smile, opensmile_functionals

    _, clips = _clips(n_files)
    smile = make_smile(feature_set)
    return _seconds_per_clip(lambda y, n: opensmile_functionals(y[:n], 22050, feature_set, smile), clips)


def bench_zoo(n_files=8, n_classes=7):
    """``{model: {"params", "x_real_time", "seconds_per_clip"}}`` for every zoo model that runs here."""
    spawn = multiprocessing.get_context("spawn")
    result = {"benchmark": "zoo", "clip_seconds": 2.5, "threads": 1, "classes": n_classes, "models": {}}
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:  # before TensorFlow is imported here
        for feature_set, dim in (("egemaps", 88), ("compare", 6373)):
            seconds = pool.submit(_opensmile_seconds, feature_set, n_files).result()
            result["models"][f"opensmile_svm ({feature_set})"] = {
                "params": (dim + 1) * n_classes * (n_classes - 1) // 2,
                "params_note": "weights and intercepts of the linear SVC's one-vs-one classifiers",
                "seconds_per_clip": seconds, "x_real_time": 2.5 / seconds}
    _one_core()
    from ser.data import clip_frames
    from ser.zoo import MODELS
    from ser.zoo.features import crema_frame_features, mel_power, ps_ac1d_fif_features
    from ser.zoo.models import build_frontend, with_frontend

    settings, clips = _clips(n_files)
    n_frames = settings.n_frames

    def frames_of(y):
        return clip_frames(y[None], n_frames)[0]

    entries = {
        "ps_ac1d_fif": ((417,), lambda y, n: ps_ac1d_fif_features(y[:n])[None]),
        "crema_cnn1d": ((n_frames, 16), lambda y, n: crema_frame_features(frames_of(y))[None]),
        "crema_cnn2d": ((n_frames, 128), lambda y, n: mel_power(frames_of(y))[None]),
    }
    for name, (shape, features) in entries.items():
        model = MODELS[name].build(n_classes, shape, 0)
        seconds = _seconds_per_clip(lambda y, n: model.predict_on_batch(features(y, n)), clips)
        result["models"][name] = {"params": int(model.count_params()), "seconds_per_clip": seconds,
                                  "x_real_time": 2.5 / seconds}
        if name.startswith("crema"):
            kind = MODELS[name].features
            full = with_frontend(build_frontend(kind, n_frames), model)
            seconds = _seconds_per_clip(lambda y, n: full.predict_on_batch(frames_of(y)[None]), clips)
            result["models"][f"{name} --frontend fin"] = {"params": int(full.count_params()),
                                                         "seconds_per_clip": seconds, "x_real_time": 2.5 / seconds}
    from ser.model import build_ser_model

    fin_recipes = {  # the FIN model (ser.finetune), frozen closed-form FINs; the SVM's zero weights cost as fitted ones
        "fin (best: descriptive, log, svm)": dict(pooling="descriptive", compress="log", head="svm", speaker_norm=True),
        "fin (ours: stats, log, mlp)": dict(pooling="stats", compress="log", head="mlp", speaker_norm=True),
    }
    for name, options in fin_recipes.items():
        model = build_ser_model(n_classes, freeze="all", n_frames=n_frames, seed=0, **options)
        seconds = _seconds_per_clip(lambda y, n, model=model: model.predict_on_batch(frames_of(y)[None]), clips)
        result["models"][name] = {"params": int(model.count_params()), "seconds_per_clip": seconds,
                                  "x_real_time": 2.5 / seconds}
    try:
        from ser.zoo import waveform
    except ImportError:
        waveform = None
    if waveform is not None:
        import librosa

        n16 = int(round(settings.n_samples * 16000 / settings.sr))
        for name in ("cnn_3_gru", "cnn_5_gru", "cnn_11_gru", "cnn_18_gru", "sigwavnet"):
            model = MODELS[name].build(n_classes, (n16,), 0)

            def run(y, n, model=model):
                y16 = librosa.resample(y, orig_sr=settings.sr, target_sr=16000)[:n16]
                return model.predict_on_batch(np.pad(y16, (0, n16 - len(y16)))[None])

            seconds = _seconds_per_clip(run, clips)
            result["models"][name] = {"params": int(model.count_params()), "seconds_per_clip": seconds,
                                      "x_real_time": 2.5 / seconds}
    return result


def format_zoo(r):
    lines = [f"zoo models on one CPU core (1 TensorFlow thread), {r['clip_seconds']} s clips, features included",
             f"  {'model':<30}{'params':>12}{'ms / clip':>11}{'x real time':>13}"]
    for name, m in r["models"].items():
        lines.append(f"  {name:<30}{m['params']:>12,}{1000 * m['seconds_per_clip']:>11.1f}{m['x_real_time']:>12.0f}x")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m experiments.zoo_benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=8, help="files per corpus (default 8)")
    parser.add_argument("--classes", type=int, default=7, help="output classes (default 7, EMO-DB)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    result = bench_zoo(args.files, args.classes)
    print(format_zoo(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
