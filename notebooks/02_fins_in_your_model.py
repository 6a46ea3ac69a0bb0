# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. FINs in your own model
#
# The shipped presets are ordinary Keras models, `(batch, 2048) frames -> (batch, dim)` librosa features, so they
# drop into any Keras model as layers: frozen, as a differentiable librosa, or trainable, to be fine-tuned with the
# rest. This notebook
#
# 1. looks at the presets (`fin.list_presets`, `fin.load_preset`; the default family, closed-form) and checks one
#    against librosa;
# 2. builds a small frame-level emotion classifier on three of them and trains it on the demo corpus;
# 3. saves and reloads it, and exports it to TensorFlow Lite and ONNX with `fin.export`'s parity check (the
#    exported file is kept only if it reproduces Keras on real frames); and exports the chroma preset, whose
#    tuning estimate TFLite gets in a float32 form.
#
# `FIN_NOTEBOOK_QUICK=1` (the tests) keeps everything tiny. Outputs go to `$FIN_NOTEBOOK_OUT/02_fins_in_your_model`
# (default `runs/notebooks/`).

# %%
# %matplotlib inline
import json
import os
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm in a kernel without ipywidgets
QUICK = os.environ.get("FIN_NOTEBOOK_QUICK", "0") == "1"
OUT = Path(os.environ.get("FIN_NOTEBOOK_OUT", "runs/notebooks")) / "02_fins_in_your_model"
OUT.mkdir(parents=True, exist_ok=True)
SETTINGS = {
    "speakers": 3 if QUICK else 6,
    "utterances_per_emotion": 1 if QUICK else 3,
    "epochs": 2 if QUICK else 15,
    "parity_frames": 64 if QUICK else 512,
}
print("quick" if QUICK else "full", "settings:", SETTINGS, "->", OUT.resolve())

# %% [markdown]
# ## The presets

# %%
import keras

import fin

# two families: "closed-form" (the default: librosa's operators as spectral FINs) and "learned"
for family, presets in fin.list_presets().items():
    print(f"{family}:" + ("" if presets else " (none shipped)"))
    for name, meta in presets.items():
        print(f"  {name:>7}: {meta['arch']:<9} {meta['params']:>9,} parameters, test R² {meta['test']['r2']:.4f}")

# %% [markdown]
# A preset called on frames gives the librosa feature of each frame. On a 440 Hz tone the chroma preset puts
# everything in bin 9 (A), as `data_prep.frame_targets` (the per-frame librosa calls) does:

# %%
from data_prep import frame_targets
from data_prep.targets import frame_signal

tone = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050).astype(np.float32)
chroma = fin.load_preset("chroma")
got = keras.ops.convert_to_numpy(chroma(frame_signal(tone)))
expected = frame_targets(tone)["chroma"]
print("chroma bins:", np.unique(got.argmax(axis=1)), "largest difference from librosa:", np.abs(got - expected).max())

# %% [markdown]
# ## A frame-level emotion classifier on three FINs
#
# Frames and their emotion labels come from a demo-corpus store (`data_prep.build_store`; each frame's file row
# gives its label). The presets are frozen (`trainable = False`): they act as a librosa front end inside the graph,
# so the model takes raw audio frames. Setting `trainable = True` would fine-tune them with the head.

# %%
from data_prep import open_store
from data_prep.build import DEFAULTS as BUILD_DEFAULTS
from data_prep.build import build_store
from data_prep.demo import default_demo_root, generate_demo_corpus

corpus_root = default_demo_root() if not QUICK else OUT.parent / "demo_corpus_quick"
corpus = generate_demo_corpus(corpus_root, n_speakers=SETTINGS["speakers"],
                              utterances_per_emotion=SETTINGS["utterances_per_emotion"])  # cached after a first call
store_path = OUT / "demo.h5"
build_store({**BUILD_DEFAULTS, "corpora": [f"ravdess={corpus}"], "out": str(store_path), "augment": False,
             "workers": 1}, progress=False)


def frames_and_labels(store, split, labels):
    emotion = store.files["emotion"][store.file_index(split)]
    return store.frames(split), np.array([labels.index(e) for e in emotion])


with open_store(store_path) as store:
    labels = sorted(set(store.files["emotion"]))
    x_train, y_train = frames_and_labels(store, "train", labels)
    x_val, y_val = frames_and_labels(store, "val", labels)
    x_test, y_test = frames_and_labels(store, "test", labels)
print(f"{len(labels)} emotions; frames: train {len(x_train)}, val {len(x_val)}, test {len(x_test)}")

# %%
frame = keras.Input((2048,), name="frame")
features = []
for name in ("rms", "zcr", "mfcc"):
    preset = fin.load_preset(name)
    preset.trainable = False
    features.append(preset(frame))
x = keras.layers.Concatenate(name="librosa_features")(features)  # 1 + 1 + 20 values per frame
x = keras.layers.BatchNormalization()(x)
x = keras.layers.Dense(64, activation="relu")(x)
x = keras.layers.Dropout(0.2)(x)
emotion = keras.layers.Dense(len(labels), activation="softmax", name="emotion")(x)
model = keras.Model(frame, emotion, name="frame_emotion")
model.summary(line_length=100)

# %%
keras.utils.set_random_seed(0)
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=SETTINGS["epochs"], batch_size=64,
                    verbose=0)
test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
print(f"frame accuracy on the test speaker(s): {test_accuracy:.3f} (chance {1 / len(labels):.3f})")

fig, ax = plt.subplots(figsize=(7, 3.4))
for key in ("accuracy", "val_accuracy"):
    ax.plot(np.arange(1, len(history.history[key]) + 1), history.history[key], marker=".", label=key)
ax.axhline(1 / len(labels), color="k", lw=0.8, ls="--", label="chance")
ax.set(xlabel="epoch", ylabel="frame accuracy", title="a head on three frozen FINs")
ax.legend()
fig.tight_layout()
fig.savefig(OUT / "training.png", dpi=100)
display(fig)
plt.close(fig)

# %% [markdown]
# ## Save, reload, export
#
# `import fin` registers the FIN layers with Keras, so the model saves and loads as a plain `.keras` file.

# %%
model.save(OUT / "frame_emotion.keras")
reloaded = keras.saving.load_model(OUT / "frame_emotion.keras")
print("reloaded model gives the same probabilities:",
      np.allclose(reloaded.predict(x_test[:32], verbose=0), model.predict(x_test[:32], verbose=0), atol=1e-6))

# %% [markdown]
# `fin.export.export_model` converts a model, runs the exported file on parity frames (here from the store's test
# split) and compares it with Keras; the file is written only when every output is within `1e-4` of the output
# scale, and a JSON report sits beside it. A model the format cannot represent raises `FINError` naming the
# operations.

# %%
from fin.export import export_model, get_format, store_frames

parity, parity_source = store_frames(store_path, SETTINGS["parity_frames"])
reports = {}
for fmt in ("tflite", "onnx"):
    path = OUT / f"frame_emotion{get_format(fmt).suffix}"
    reports[fmt] = export_model(model, fmt, path, parity, frames_source=parity_source)
    r = reports[fmt]
    print(f"{fmt:>6}: {'passed' if r['passed'] else 'FAILED'}, {r['bytes'] / 1e6:.1f} MB, largest error "
          f"{r['max_abs_error']:.2g} (tolerance {r['tolerance']:.2g}) on {r['frames']} frames -> {path.name}")

# %% [markdown]
# The exported files run without Keras (`tf.lite.Interpreter`, `onnxruntime`); their probabilities against Keras':

# %%
keras_out = model.predict(parity, batch_size=256, verbose=0)
fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
for a, fmt in zip(ax, reports):
    exported = get_format(fmt).run(OUT / f"frame_emotion{get_format(fmt).suffix}", parity)
    a.scatter(keras_out.ravel(), exported.ravel(), s=4)
    a.plot([0, 1], [0, 1], color="k", lw=0.6)
    a.set(xlabel="Keras probability", ylabel=f"{fmt} probability", title=f"{fmt}: max |diff| {np.abs(exported - keras_out).max():.1e}")
fig.tight_layout()
fig.savefig(OUT / "export_parity.png", dpi=100)
display(fig)
plt.close(fig)

# %% [markdown]
# The chroma preset's tuning estimate (librosa's `estimate_tuning`, per frame) uses float64, which TFLite lacks;
# its TFLite export swaps in an exact float32 form. A frame whose tuning bin flips by float rounding is allowed (at
# most 1 % of the frames) when another tuning bin explains its output; the report counts them. (The swap applies to
# a chroma FIN exported on its own; export a model that holds the chroma FIN inside it to ONNX.)

# %%
chroma_report = export_model(chroma, "tflite", OUT / "chroma.tflite", parity, frames_source=parity_source)
print({k: chroma_report[k] for k in ("passed", "frames", "max_abs_error", "tuning_flips", "allowed_tuning_flips")})
print(chroma_report["notes"][0])

# %%
(OUT / "summary.json").write_text(json.dumps({"quick": QUICK, "test_frame_accuracy": test_accuracy,
                                              "exports": {f: r["passed"] for f, r in reports.items()},
                                              "chroma_tflite": chroma_report["passed"]}, indent=2))
print(sorted(p.name for p in OUT.iterdir()))
