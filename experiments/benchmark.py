"""Speed benchmarks, each a comparison measured in one run on the same inputs.

::

    python -m experiments.benchmark data_prep [--files N] [--json OUT]

    python -m experiments.benchmark ser [--files N] [--json OUT]

    python -m experiments.benchmark ser-train [--files N] [--json OUT]

``ser``: the SER model on one CPU core (TensorFlow limited to one thread, the process pinned to one core),
as seconds of audio processed per second: the model alone on 2.5 s clips (batch 1, as a live stream, and
batch 16), and the whole ``ser.predict`` path for one model (decode, resample, frame, model) on the files, one
2.5 s clip (108 frames; shorter audio zero-padded, the same work) per file.
The seed's recipe (mean pooling, the seed's head), the speaker-normalised one (stats pooling, log, MLP head) and
the best (descriptive pooling, log, SVM head) are timed; their FINs are the same.

``fin-train``: learning speed. ``python -m experiments.benchmark fin-train [--data STORE] [--features mfcc ...]
[--budget SECONDS] [--archs paper compact quadratic] [--out DIR]`` trains each architecture with ``fin.train``
(its own recipe: the seed's for ``paper`` and ``compact``, the teacher recipe for ``quadratic``) on the same
store's training split for the same wall-time budget, one after the other in one process, in epochs of 50 steps,
and records the validation speakers' R² (variance-weighted for mel) after every epoch against the wall time;
then R² of the final model on 4,096 frames of the test speakers (validation: 1,024 frames each epoch). Writes ``fin_train.json`` and ``fin_train.png`` (R² against
wall time, one panel per feature, the seed's in-domain R² as a dashed line) into ``--out``.

``ser-train``: the cost per clip of a fine-tuning epoch (every FIN weight trainable) on the plain path, the exact
fast path (clips framed in the graph, XLA) and the default fast path (plus frame stride 4), and the partial mode
``--front-end frozen`` (window and DFT fixed, the rest of every FIN trainable), each for the seed's and our recipe, against librosa's five features of the same clip with the seed's five calls; ratios from one run.
Then a whole ``fit`` epoch of the default path on an EMO-DB fold's number of clips (1,290), fed as NumPy arrays
(Keras' array adapter) and as ``ser.finetune`` feeds it (:func:`ser.inputs.clip_batches`).

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
        from data_prep.demo import demo_corpus_arg

        utts, _ = corpora.discover(*corpora.parse_corpus_arg(demo_corpus_arg()))
        found = [u.path for u in utts[: 3 * n_per_corpus]]
    return found


def bench_data_prep(n_files=12, loop_frames=600):
    from data_prep.audio import load_audio
    from data_prep.targets import FEATURES, frame_signal, frame_targets, reference_frame_targets, targets_in_chunks

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

    t_batched, result = _timed(lambda: targets_in_chunks(frames))
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


def bench_fin(n_files=12, batch_size=1024, repeat=3):
    """Each preset, and the five together, against librosa's vectorised targets on the same frames (CPU)."""
    import keras
    import tensorflow as tf

    import fin
    from data_prep.audio import load_audio
    from data_prep.targets import FEATURES, frame_signal, targets_from_frames
    from fin.stack import stack_fins

    frames = np.concatenate([frame_signal(load_audio(p)) for p in benchmark_files(n_files)])
    n = len(frames)
    batches = [frames[i : i + batch_size] for i in range(0, n, batch_size)]

    def librosa_all():
        return [targets_from_frames(b) for b in batches]

    t_librosa, _ = _timed(librosa_all, repeat)
    presets = {f: fin.load_preset(f) for f in FEATURES}
    # one graph for the five, as the SER model runs them: a shared input, five outputs
    x = keras.Input((frames.shape[1],))
    together = keras.Model(x, [presets[f](x) for f in FEATURES])

    def runner(model):
        fn = tf.function(lambda b: model(b, training=False), jit_compile=False, reduce_retracing=True)
        return lambda: [fn(tf.constant(b)) for b in batches]

    result = {"benchmark": "fin", "frames": int(n), "batch_size": batch_size, "librosa_fps": n / t_librosa, "presets": {}}
    for f in FEATURES:
        t, _ = _timed(runner(presets[f]), repeat)
        result["presets"][f] = {"arch": fin.list_presets("closed-form")[f]["arch"], "params": int(presets[f].count_params()), "fps": n / t,
                                "ratio_to_librosa": (n / t) / (n / t_librosa)}
    t, _ = _timed(runner(together), repeat)
    result["together_fps"] = n / t
    result["together_ratio_to_librosa"] = (n / t) / (n / t_librosa)
    xla = tf.function(lambda b: together(b, training=False), jit_compile=True, reduce_retracing=True)
    t, _ = _timed(lambda: [xla(tf.constant(b)) for b in batches], repeat)
    result["together_xla_fps"] = n / t
    result["together_xla_ratio_to_librosa"] = (n / t) / (n / t_librosa)
    t, _ = _timed(lambda: together.predict(frames, batch_size=batch_size, verbose=0), repeat)
    result["together_predict_fps"] = n / t
    result["together_predict_ratio_to_librosa"] = (n / t) / (n / t_librosa)
    # the same five with the layers they have in common computed once (fin.stack: one window and DFT for chroma,
    # mfcc and mel, one mel filter bank for mfcc and mel), the same outputs
    shared = stack_fins(presets)
    result["shared_layers"] = [layer.name for layer in shared.layers if not isinstance(layer, keras.layers.InputLayer)]
    for path, run in (("tf_function", runner(shared)),
                      ("xla", lambda f=tf.function(lambda b: shared(b, training=False), jit_compile=True,
                                                    reduce_retracing=True): [f(tf.constant(b)) for b in batches]),
                      ("predict", lambda: shared.predict(frames, batch_size=batch_size, verbose=0))):
        t, _ = _timed(run, repeat)
        result[f"shared_{path}_fps"] = n / t
        result[f"shared_{path}_ratio_to_librosa"] = (n / t) / (n / t_librosa)
    return result


def format_fin(r):
    lines = [f"FIN presets against librosa (vectorised, the same five features) on {r['frames']} frames, batch {r['batch_size']}, CPU",
             f"  {'librosa (all five)':<22}{r['librosa_fps']:>12,.0f} frames/s   1.00x"]
    for f, p in r["presets"].items():
        lines.append(f"  {f + ' (' + p['arch'] + ')':<22}{p['fps']:>12,.0f} frames/s   {p['ratio_to_librosa']:.2f}x")
    lines.append(f"  {'five presets together':<22}{r['together_fps']:>12,.0f} frames/s   {r['together_ratio_to_librosa']:.2f}x")
    if "together_xla_fps" in r:
        lines.append(f"  {'  ... XLA tf.function':<22}{r['together_xla_fps']:>12,.0f} frames/s   "
                     f"{r['together_xla_ratio_to_librosa']:.2f}x")
        lines.append(f"  {'  ... model.predict':<22}{r['together_predict_fps']:>12,.0f} frames/s   "
                     f"{r['together_predict_ratio_to_librosa']:.2f}x")
    if "shared_xla_fps" in r:
        lines.append(f"  {'five, shared front end':<22}{r['shared_tf_function_fps']:>12,.0f} frames/s   "
                     f"{r['shared_tf_function_ratio_to_librosa']:.2f}x   (fin.stack_fins: layers in common computed once)")
        for path, label in (("xla", "XLA tf.function"), ("predict", "model.predict")):
            lines.append(f"  {'  ... ' + label:<22}{r[f'shared_{path}_fps']:>12,.0f} frames/s   "
                         f"{r[f'shared_{path}_ratio_to_librosa']:.2f}x")
    return "\n".join(lines)


def _one_core():
    """Pin this process to one CPU core and TensorFlow to one thread (before TensorFlow runs anything)."""
    import tensorflow as tf

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def bench_ser(n_files=12, seconds=5.0):
    """The SER model's speed on one core, as multiples of real time."""
    _one_core()
    from data_prep.audio import load_audio
    from ser.data import ClipSettings, clip_frames, fit_clip
    from ser.model import build_ser_model

    settings = ClipSettings()
    files = benchmark_files(n_files)
    clips = [fit_clip(load_audio(p, offset=settings.offset, duration=settings.duration), settings.n_samples)[0]
             for p in files]
    frames = clip_frames(np.stack(clips), settings.n_frames)
    recipes = {
        "seed recipe (mean, seed head)": {},
        "speaker-normalised (stats, log, mlp)": dict(pooling="stats", compress="log", head="mlp", speaker_norm=True),
        # the best recipe's model (the SVM's weights are fitted by sklearn; zeros cost the same)
        "best (descriptive, log, svm)": dict(pooling="descriptive", compress="log", head="svm", speaker_norm=True),
    }
    result = {"benchmark": "ser", "clip_seconds": settings.duration, "files": len(files), "threads": 1,
              "cores": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None, "models": {}}

    def throughput(fn, batch):
        """Clips per second of ``fn`` on batches of ``batch`` clips, over at least ``seconds``."""
        fn(frames[:batch])
        done, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            for start in range(0, len(frames) - batch + 1, batch):
                fn(frames[start : start + batch])
                done += batch
        return done / (time.perf_counter() - t0)

    for name, options in recipes.items():
        model = build_ser_model(7, freeze="all", n_frames=settings.n_frames, seed=0, **options)
        entry = {"params": int(model.count_params())}
        for batch in (1, 16):
            clips_per_s = throughput(model.predict_on_batch, batch)
            entry[f"batch{batch}_x_real_time"] = clips_per_s * settings.duration
        result["models"][name] = entry

        def pipeline():  # as ser.predict does for each file: decode, resample, one clip, the model
            for path in files:
                y = load_audio(path, offset=settings.offset, duration=settings.duration)
                model.predict_on_batch(clip_frames(fit_clip(y, settings.n_samples)[0][None], settings.n_frames))

        t, _ = _timed(pipeline, repeat=3)
        # per clip of 2.5 s: a file with less audio after the offset is zero-padded to 108 frames, same work
        entry["pipeline_x_real_time"] = len(files) * settings.duration / t
    return result


def format_ser(r):
    lines = [f"SER model on one CPU core (1 TensorFlow thread), {r['clip_seconds']} s clips from {r['files']} files; "
             "multiples of real time"]
    lines.append(f"  {'':<38}{'params':>10}{'batch 1':>10}{'batch 16':>10}{'predict path':>14}")
    for name, m in r["models"].items():
        lines.append(f"  {name:<38}{m['params']:>10,}{m['batch1_x_real_time']:>9.0f}x{m['batch16_x_real_time']:>9.0f}x"
                     f"{m['pipeline_x_real_time']:>13.0f}x")
    return "\n".join(lines)


def bench_ser_train(n_files=12, seconds=20.0, batch_size=64, feed_clips=1290):
    """Cost per clip of a fine-tuning epoch against librosa's five features of the same clip, in one run.

    librosa: the seed's five calls on each 2.5 s clip (:func:`ser.features.reference_clip_features`). Fine-tuning
    (``--freeze none``, closed-form FINs, every FIN weight trainable): ``train_on_batch`` on batches of
    ``batch_size`` clips, timed for ``seconds`` after the first (compiling) step, in four ways: the plain path
    (framed clips in, no XLA, every frame: what ``ser.finetune`` did before), the exact fast path (clips in, framed
    in the graph, XLA) and the fast path with ``frame_stride`` 4 without and with XLA (``ser.finetune``'s default: XLA
    except with the seed's CNN head). Each for the seed's recipe (mean
    pooling, the seed's head) and ours (statistics pooling of log energies, MLP head). Then, where the time goes:
    each closed-form FIN's training step and forward pass alone on the frames of one batch at stride 4
    (``per_fin``). Then how the clips reach ``fit`` (``feeding``, :func:`_feeding_costs`): an epoch of
    ``feed_clips`` clips (an EMO-DB LOSO fold's 1,290 by default; 0 skips it) fed as NumPy arrays or by
    :func:`ser.inputs.clip_batches`.
    """
    import keras

    from data_prep.audio import load_audio
    from ser.data import ClipSettings, clip_frames, fit_clip
    from ser.features import reference_clip_features
    from ser.inputs import on_clips
    from ser.model import build_ser_model

    settings = ClipSettings()
    files = benchmark_files(n_files)
    audio = [load_audio(p, offset=settings.offset, duration=settings.duration) for p in files]
    clips = np.stack([fit_clip(y, settings.n_samples)[0] for y in audio])
    reps = int(np.ceil(batch_size / len(clips)))
    batch_clips = np.tile(clips, (reps, 1))[:batch_size]
    labels = np.arange(batch_size) % 7

    def librosa_all():
        return [reference_clip_features(y) for y in audio]

    t_librosa, _ = _timed(librosa_all, repeat=3)
    result = {"benchmark": "ser-train", "files": len(files), "batch_size": batch_size, "clip_seconds": settings.duration,
              "librosa_ms_per_clip": 1000 * t_librosa / len(audio), "paths": {}}
    recipes = {"seed recipe (mean, seed head)": {}, "our recipe (stats, log, mlp)": dict(pooling="stats", compress="log", head="mlp")}
    paths = {"plain (frames, no XLA)": dict(clips=False, jit=False, stride=1),
             "fast, exact (clips, XLA)": dict(clips=True, jit=True, stride=1),
             "fast, frame stride 4, no XLA": dict(clips=True, jit=False, stride=4),
             "fast, frame stride 4, XLA": dict(clips=True, jit=True, stride=4),
             "fast, frame stride 4, no XLA, front end frozen (partial)": dict(clips=True, jit=False, stride=4,
                                                                               front_end="frozen")}
    for recipe, options in recipes.items():
        for path, p in paths.items():
            keras.backend.clear_session()
            keras.utils.set_random_seed(0)
            model = build_ser_model(7, freeze="none", n_frames=settings.n_frames if p["stride"] == 1 else None, seed=0,
                                    front_end=p.get("front_end", "trainable"), **options)
            if p["clips"]:
                fit_model, x = on_clips(model, settings.n_frames, settings.n_samples, p["stride"], seed=0), batch_clips
            else:
                fit_model, x = model, clip_frames(batch_clips, settings.n_frames)
            fit_model.compile(optimizer=keras.optimizers.Adam(5e-4), loss="sparse_categorical_crossentropy",
                              jit_compile=p["jit"])
            t0 = time.perf_counter()
            fit_model.train_on_batch(x, labels)
            compile_s = time.perf_counter() - t0
            steps, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds or steps < 2:
                fit_model.train_on_batch(x, labels)
                steps += 1
            ms = 1000 * (time.perf_counter() - t0) / (steps * batch_size)
            result["paths"][f"{recipe}: {path}"] = {"ms_per_clip": ms, "ratio_to_librosa": ms / result["librosa_ms_per_clip"],
                                                    "first_step_seconds": compile_s, "steps": steps}
    result["per_fin"] = _fin_step_costs(clip_frames(batch_clips, settings.n_frames)[:, ::4].reshape(-1, 2048))
    if feed_clips:
        result["feeding"] = _feeding_costs(clips, feed_clips, batch_size)
    return result


def _feeding_costs(clips, n_clips, batch_size, reps=2, epochs=2):
    """Seconds of a ``fit`` epoch of the default fine-tuning path (seed recipe, frame stride 4, every FIN weight
    trainable) on ``n_clips`` rows (``clips`` repeated), fed two ways to the same model: NumPy arrays (Keras' array
    adapter, ``fit(x, y, shuffle=True)``) and :func:`ser.inputs.clip_batches` (what ``ser.finetune`` uses).
    Alternating, ``reps`` times each, ``fit`` calls of ``epochs`` epochs; the first epoch of each call (its set-up)
    is left out."""
    import keras
    import tensorflow as tf

    from ser.data import ClipSettings
    from ser.inputs import clip_batches, on_clips
    from ser.model import build_ser_model

    settings = ClipSettings()
    x = np.resize(clips, (n_clips, clips.shape[1])).astype(np.float32)
    labels, weights = np.arange(n_clips) % 7, np.ones(n_clips, dtype=np.float32)
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = build_ser_model(7, freeze="none", n_frames=None, seed=0)
    fit_model = on_clips(model, settings.n_frames, settings.n_samples, 4, seed=0)
    fit_model.compile(optimizer=keras.optimizers.Adam(5e-4), loss="sparse_categorical_crossentropy")
    dataset = clip_batches(tf.constant(x), np.arange(n_clips), labels, weights, batch_size, seed=0)

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.t0)

    timer = Timer()
    ways = {"NumPy arrays (Keras' array adapter)": dict(x=x, y=labels, sample_weight=weights, batch_size=batch_size,
                                                        shuffle=True),
            "ser.inputs.clip_batches (tf.data)": dict(x=dataset, shuffle=False)}
    out = {way: [] for way in ways}
    for way, kwargs in ways.items():  # warm-up: trace the step for both feeds
        fit_model.fit(epochs=1, verbose=0, **kwargs)
    for _ in range(reps):
        for way, kwargs in ways.items():
            timer.seconds = []
            fit_model.fit(epochs=epochs, verbose=0, callbacks=[timer], **kwargs)
            out[way] += timer.seconds[1:]
    return {"clips": n_clips, "epoch_seconds": out,
            "ms_per_clip": {way: 1000 * float(np.median(t)) / n_clips for way, t in out.items()}}


def _fin_step_costs(frames, repeat=3):
    """Where a fine-tuning step goes: per closed-form FIN, the seconds of a forward pass and of a training step
    (forward and gradient of a squared-output loss) on ``frames`` (a batch at frame stride 4), in ``tf.function``."""
    import tensorflow as tf

    from ser.model import load_fins

    x = tf.constant(np.asarray(frames, dtype=np.float32))
    out = {}
    for name, fin in load_fins("pretrained", seed=0, family="closed-form").items():
        @tf.function
        def step(x, fin=fin):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.square(fin(x, training=True)))
            return tape.gradient(loss, fin.trainable_weights)

        forward = tf.function(lambda x, fin=fin: fin(x, training=False))
        t_step, _ = _timed(lambda: step(x), repeat=repeat)
        t_forward, _ = _timed(lambda: forward(x), repeat=repeat)
        out[name] = {"frames": int(x.shape[0]), "train_step_seconds": t_step, "forward_seconds": t_forward}
    return out


def format_ser_train(r):
    lines = [f"Fine-tuning cost per 2.5 s clip (batch {r['batch_size']}, all FIN weights trainable) against librosa's five "
             f"features of the clip ({r['files']} files)",
             f"  {'librosa, the seed five calls':<88}{r['librosa_ms_per_clip']:>8.1f} ms   1.0x"]
    for name, p in r["paths"].items():
        lines.append(f"  {name:<88}{p['ms_per_clip']:>8.1f} ms {p['ratio_to_librosa']:>5.1f}x   (first step "
                     f"{p['first_step_seconds']:.0f} s)")
    for name, f in r.get("per_fin", {}).items():
        lines.append(f"  {name + ' FIN alone, ' + str(f['frames']) + ' frames:':<40} training step "
                     f"{1000 * f['train_step_seconds']:7.0f} ms, forward {1000 * f['forward_seconds']:6.0f} ms")
    feeding = r.get("feeding")
    if feeding:
        lines.append(f"  A fit epoch of {feeding['clips']} clips (default path, seed recipe), fed as:")
        for way, ms in feeding["ms_per_clip"].items():
            epochs = ", ".join(f"{t:.1f}" for t in feeding["epoch_seconds"][way])
            lines.append(f"    {way:<44}{ms:>8.1f} ms per clip, {ms / r['librosa_ms_per_clip']:4.2f}x librosa "
                         f"(epochs {epochs} s)")
    return "\n".join(lines)


#: The seed's in-domain test R² per feature (shared/reference/seed-systems.md), drawn as the goal line.
SEED_R2 = {"rms": 0.985, "zcr": 0.935, "chroma": 0.932, "mfcc": 0.917, "mel": 0.969}


def bench_fin_train(data=None, features=("mfcc",), archs=("paper", "compact", "quadratic"), budget=300.0,
                    steps_per_epoch=50, out=Path("runs/benchmark/fin_train"), test_frames=4096, seed=0):
    """Held-out R² against wall time for each architecture, trained for the same budget on the same store."""
    import csv
    import tempfile

    from fin.registry import get_feature
    from fin.train import demo_store, train

    data = Path(data) if data else demo_store()
    result = {"store": str(data), "budget_seconds": budget, "steps_per_epoch": steps_per_epoch, "seed_r2": SEED_R2,
              "runs": {}}
    with tempfile.TemporaryDirectory() as work:
        for feature in features:
            key = "val_r2_vw" if get_feature(feature).metric == "r2_vw" else "val_r2"
            for arch in archs:
                run = Path(work) / f"{feature}-{arch}"
                metrics = train({"feature": feature, "arch": arch, "data": str(data), "epochs": 100000,
                                 "steps_per_epoch": steps_per_epoch, "time_budget": budget, "seed": seed,
                                 "early_stopping_patience": 0, "test_frames": test_frames, "out": str(run),
                                 # validation costs paper far more than the others: small sets, and not timed
                                 "validation_frames": 1024, "r2_frames": 1024})
                with open(run / "history.csv") as f:
                    rows = list(csv.DictReader(f))
                curve = [[float(r["wall_seconds"]), float(r[key])] for r in rows if r.get(key) not in (None, "")]
                test = metrics["r2_vw" if key == "val_r2_vw" else "r2"]
                result["runs"][f"{feature}/{arch}"] = {"feature": feature, "arch": arch, "params": metrics["params"],
                                                       "epochs": len(rows), "curve": curve, "test_r2": test}
                print(f"{feature:<7} {arch:<10} {len(rows):>4} epochs in {curve[-1][0] if curve else 0:.0f} s: "
                      f"validation R² {curve[-1][1] if curve else float('nan'):.4f}, test R² {test:.4f}", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    _plot_fin_train(result, out / "fin_train.png")
    (out / "fin_train.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _plot_fin_train(result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fin.plots import save_figure

    features = list(dict.fromkeys(r["feature"] for r in result["runs"].values()))
    fig, axes = plt.subplots(1, len(features), figsize=(5 * len(features), 4), squeeze=False)
    for ax, feature in zip(axes[0], features):
        for run in result["runs"].values():
            if run["feature"] == feature and run["curve"]:
                t, r2 = np.array(run["curve"]).T
                ax.plot(t / 60, np.clip(r2, -0.5, 1.0), marker=".", label=f"{run['arch']} (test {run['test_r2']:.3f})")
        ax.axhline(SEED_R2[feature], ls="--", color="k", lw=1, label=f"seed, in-domain ({SEED_R2[feature]})")
        ax.set(title=feature, xlabel="training time (min)", ylabel="validation R²" + (" (vw)" if feature == "mel" else ""),
               ylim=(-0.5, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    save_figure(fig, path)


def format_fin_train(r):
    lines = [f"FIN learning speed: {r['budget_seconds']:.0f} s per architecture on {r['store']}"]
    for name, run in r["runs"].items():
        reached = next((t for t, v in run["curve"] if v >= r["seed_r2"][run["feature"]]), None)
        when = f"reached the seed's {r['seed_r2'][run['feature']]} at {reached:.0f} s" if reached is not None else "never reached the seed's R²"
        lines.append(f"  {name:<18} {run['epochs']:>4} epochs, final validation R² {run['curve'][-1][1] if run['curve'] else float('nan'):.4f}, "
                     f"test R² {run['test_r2']:.4f}; {when}")
    return "\n".join(lines)


BENCHMARKS = {"data_prep": (bench_data_prep, format_data_prep), "fin": (bench_fin, format_fin),
              "ser": (bench_ser, format_ser), "fin-train": (bench_fin_train, format_fin_train),
              "ser-train": (bench_ser_train, format_ser_train)}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m experiments.benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("name", choices=sorted(BENCHMARKS), help="what to benchmark")
    parser.add_argument("--files", type=int, default=12, help="files per shared corpus (default 12)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    fin_train = parser.add_argument_group("fin-train")
    fin_train.add_argument("--data", type=Path, help="store to train on (default: the demo corpus store)")
    fin_train.add_argument("--features", nargs="+", default=["mfcc"], choices=("rms", "zcr", "chroma", "mfcc", "mel"))
    fin_train.add_argument("--archs", nargs="+", default=["paper", "compact", "quadratic"])
    fin_train.add_argument("--budget", type=float, default=300.0, help="seconds of training per architecture (default 300)")
    fin_train.add_argument("--out", type=Path, default=Path("runs/benchmark/fin_train"), help="folder for the PNG and JSON")
    args = parser.parse_args(argv)
    if args.files < 1:
        parser.error(f"--files must be at least 1, got {args.files}")
    if not args.budget > 0:
        parser.error(f"--budget must be a positive number of seconds, got {args.budget}")
    if args.data is not None and not args.data.is_file():
        parser.error(f"--data {args.data}: no such store")
    run, fmt = BENCHMARKS[args.name]
    if args.name == "fin-train":
        from fin.registry import architecture_names

        unknown = [a for a in args.archs if a not in architecture_names()]
        if unknown:
            parser.error(f"unknown architecture(s) {', '.join(unknown)}; expected some of {', '.join(architecture_names())}")
        result = run(args.data, args.features, args.archs, args.budget, out=args.out)
    else:
        result = run(args.files)
    result["machine"] = machine_info()
    print(fmt(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
