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
# # 1. Imitate a feature
#
# A Feature Imitating Network (FIN) is a small Keras model that maps one raw 2048-sample frame (22.05 kHz) to a
# librosa feature of that frame. This notebook goes through the whole path for one feature:
#
# 1. synthesise the built-in demo corpus and build a frame store with `data_prep` (frames + librosa targets);
# 2. train a learned FIN with `fin.train` (the feature's default learned architecture);
# 3. measure its R² on speakers it never saw, and plot it against librosa for one utterance, beside the shipped
#    preset (librosa's closed form as Keras layers).
#
# Settings: `FIN_NOTEBOOK_QUICK=1` (what the tests use) makes everything tiny and the numbers meaningless; without
# it the notebook trains for a few minutes on a CPU. Outputs go to `$FIN_NOTEBOOK_OUT/01_imitate_a_feature`
# (default `runs/notebooks/`, which git ignores).

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
OUT = Path(os.environ.get("FIN_NOTEBOOK_OUT", "runs/notebooks")) / "01_imitate_a_feature"
OUT.mkdir(parents=True, exist_ok=True)

FEATURE = "mfcc"  # any of rms, zcr, chroma, mfcc, mel
SETTINGS = {
    # demo corpus: speakers x utterances per emotion (8 emotions); the store splits by speaker (train/val/test)
    "speakers": 3 if QUICK else 6,
    "utterances_per_emotion": 1 if QUICK else 3,
    "augment": not QUICK,  # the seed's augmented copies (noise, slowed + pitch-shifted) in the store
    # training: None takes the recipe's (fin.train.RECIPES); the full run stops after the first epoch past the budget
    "epochs": 2 if QUICK else None,
    "steps_per_epoch": 10 if QUICK else None,
    "time_budget": None if QUICK else 300,  # seconds
}
print("quick" if QUICK else "full", "settings:", SETTINGS, "->", OUT.resolve())

# %% [markdown]
# ## The demo corpus and its frame store
#
# `generate_demo_corpus` writes a synthetic emotional-speech corpus in the RAVDESS layout (a source-filter voice
# with per-emotion prosody); any real corpus the loaders know works the same way
# (`--corpus ravdess=/path/to/RAVDESS`). `build_store` loads every file at 22.05 kHz, cuts 2048-sample frames every
# 512 samples and computes, per frame, exactly the seed's librosa calls on that frame alone.

# %%
from data_prep import FEATURE_DIMS, open_store
from data_prep.build import DEFAULTS as BUILD_DEFAULTS
from data_prep.build import build_store, format_summary
from data_prep.demo import default_demo_root, generate_demo_corpus

# the full corpus is the one `make demo` caches (~/.cache/fin-toolkit/demo_corpus or $FIN_DEMO_DIR)
corpus_root = default_demo_root() if not QUICK else OUT.parent / "demo_corpus_quick"
corpus = generate_demo_corpus(corpus_root, n_speakers=SETTINGS["speakers"],
                              utterances_per_emotion=SETTINGS["utterances_per_emotion"])  # cached after a first call
store_path = OUT / "demo.h5"
summary = build_store({**BUILD_DEFAULTS, "corpora": [f"ravdess={corpus}"], "out": str(store_path),
                       "augment": SETTINGS["augment"], "workers": 1}, progress=False)
print(format_summary(summary))

# %%
with open_store(store_path) as store:
    print("splits:", {split: store.num_frames(split) for split in store.splits}, "frames")
    print(f"{FEATURE} targets of the first training frames:", store.targets("train", FEATURE, [0, 1]).shape,
          f"(frames x {FEATURE_DIMS[FEATURE]})")

# %% [markdown]
# ## Train a learned FIN
#
# `fin.train.train` is what `python -m fin.train` runs. With no `arch` it builds the feature's default learned
# architecture, the one `fin.build_model(FEATURE)` builds, and trains it with that architecture's recipe: `store`
# streams the store's frames and targets with `tf.data` (the seed's recipe), `teacher` also augments them and mixes
# in noise frames, labelled on the fly by the closed-form FIN. Either way training stops early on the validation
# speakers and the run folder holds `model.keras`, the resolved `config.yaml`, `history.csv`, `metrics.json` (test
# speakers) and plots.

# %%
import yaml

import fin
from fin.train import train

arch = fin.get_feature(FEATURE).default_arch
print(f"default architecture for {FEATURE}: {arch}")
run_dir = OUT / f"{FEATURE}-{arch}"
metrics = train({"feature": FEATURE, "data": str(store_path), "out": str(run_dir), "epochs": SETTINGS["epochs"],
                 "steps_per_epoch": SETTINGS["steps_per_epoch"], "time_budget": SETTINGS["time_budget"], "seed": 0},
                verbose=0)
config = yaml.safe_load((run_dir / "config.yaml").read_text())
print(f"recipe {config['recipe']}: {config['epochs']} epochs of at most {config['steps_per_epoch']} steps of "
      f"{config['batch_size']} frames")
print(f"trained {metrics['params']:,} parameters in {metrics['train_seconds']} s")
print(f"test speakers: R² {metrics['r2']:.3f} (uniform), {metrics['r2_vw']:.3f} (variance-weighted), "
      f"MSE {metrics['mse']:.4g}, {metrics['frames']} frames")

# %% [markdown]
# The learning curves (from the run's `history.csv`) and the R² of every output on the test speakers:

# %%
from fin.plots import read_history

history = read_history(run_dir / "history.csv")  # column -> values per epoch
fig, ax = plt.subplots(1, 2, figsize=(11, 3.4))
for key in ("loss", "val_loss"):
    if key in history:
        ax[0].plot(range(1, len(history[key]) + 1), history[key], marker=".", label=key)
ax[0].set(xlabel="epoch", ylabel="loss (standardised)", yscale="log", title="learning curves")
ax[0].legend()
per_output = np.asarray(metrics["r2_per_output"])
ax[1].bar(np.arange(len(per_output)), np.clip(per_output, -1, 1))
ax[1].set(xlabel=f"{FEATURE} output", ylabel="R² (clipped at -1)", title="R² per output, test speakers", ylim=(-1.05, 1.05))
fig.tight_layout()
fig.savefig(OUT / "training.png", dpi=100)
display(fig)
plt.close(fig)

# %% [markdown]
# ## The FIN against librosa on one utterance
#
# The first test-speaker utterance of the store: its librosa targets, the learned FIN's output and the shipped
# preset's (`fin.load_preset`, a `spectral` FIN whose weights are librosa's operators).

# %%
import keras

model = keras.saving.load_model(run_dir / "model.keras", compile=False)
preset = fin.load_preset(FEATURE)
with open_store(store_path) as store:
    files = store.files
    row = np.flatnonzero((files["split"] == "test") & (files["augmentation"] == "original"))[0]
    idx = np.arange(files["first_frame"][row], files["first_frame"][row] + files["n_frames"][row])
    frames, target = store.frames("test", idx), store.targets("test", FEATURE, idx)
print(Path(files["path"][row]).name, frames.shape, "->", target.shape)

learned = model.predict(frames, batch_size=256, verbose=0)
closed_form = preset.predict(frames, batch_size=256, verbose=0)

from sklearn.metrics import r2_score

for name, output in (("learned FIN", learned), ("preset", closed_form)):
    print(f"{name:>12}: R² on this utterance {r2_score(target, output):.4f}")

# %%
seconds = np.arange(len(target)) * 512 / 22050
panels = (("librosa", target), (f"learned FIN ({arch})", learned), ("preset (spectral)", closed_form))
if target.shape[1] == 1:
    fig, ax = plt.subplots(figsize=(10, 3.4), layout="constrained")
    for name, values in panels:
        ax.plot(seconds, values[:, 0], label=name)
    ax.set(xlabel="time (s)", ylabel=FEATURE)
    ax.legend()
else:
    shown = [(n, 10 * np.log10(np.maximum(v, 1e-10)) if FEATURE == "mel" else v) for n, v in panels]
    lo, hi = np.percentile(shown[0][1], [1, 99.5])
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True, layout="constrained")
    for a, (name, values) in zip(ax, shown):
        image = a.imshow(values.T, origin="lower", aspect="auto", vmin=lo, vmax=hi,
                         extent=(0, seconds[-1], 0, values.shape[1]))
        a.set(xlabel="time (s)", title=name)
    ax[0].set_ylabel(f"{FEATURE} output")
    fig.colorbar(image, ax=ax)
fig.savefig(OUT / "utterance.png", dpi=100)
display(fig)
plt.close(fig)

# %% [markdown]
# With the quick settings the learned FIN has barely started; with the full ones it follows the broad shape of the
# features. The preset reproduces librosa to float32 round-off: it *is* librosa's computation, written as trainable
# Keras layers. What the rest of the toolkit does with FINs: `02_fins_in_your_model` (FINs as layers, export),
# `03_emotion_recognition` (the FIN-stacked classifier), `04_generalisation` (FINs on a corpus they never saw).

# %%
(OUT / "summary.json").write_text(json.dumps({"feature": FEATURE, "arch": arch, "quick": QUICK, "r2": metrics["r2"],
                                              "r2_vw": metrics["r2_vw"], "frames": metrics["frames"]}, indent=2))
print(sorted(p.name for p in OUT.iterdir()))
