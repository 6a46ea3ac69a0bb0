"""Cross-validate a librosa baseline: the SER classifier on the 162 librosa features, averaged or per frame.

::

    python -m ser.baseline [--features averaged|frames] [--corpus NAME=PATH ...]
        [--protocol loso|speaker-kfold|split|file-kfold] [--folds K] [--epochs N] [--batch-size B] [--lr LR] [--out DIR]
        [--config FILE.yaml] [--strategy ...] [--leaky-file-split] [--max-files N] [--seed S]
        [--pooling mean|stats|attention|functionals|descriptive] [--compress none|log] [--speaker-norm]
        [--head seed|mlp|svm]

The same clips, folds, augmentation, training and outputs as ``ser.finetune``; only the input differs
(:mod:`ser.features`), computed once per clip and cached:

- ``--features averaged`` (default, the seed's baseline): zcr, chroma_stft, mfcc, rms and melspectrogram computed
  by librosa (``center=True``) on each clip and averaged over its frames; the head alone on that 162-vector.
  Pooling and ``--no-mask-padding`` do not apply (librosa averages over the clip's audio).
- ``--features frames`` (the fair baseline): the same 162 librosa features on every frame the FINs see, each frame
  alone (``center=False``, chroma tuning estimated per frame: the FINs' targets), and exactly the classifier
  ``ser.finetune --freeze all`` trains on frozen FIN outputs (the same pooling, compression, masking, speaker
  normalisation and head). With the closed-form FINs both runs see the same numbers up to float32 round-off.

The saved models take those features; ser.predict computes them from the audio.
"""

import argparse
import os
import sys

from ser.errors import SERError
from ser.inputs import ClipFeatureInputs, LibrosaFrameInputs
from ser.training import DEFAULTS, add_common_arguments, resolve_config, run_cli

#: ``--features`` name -> (description, input kind of :mod:`ser.inputs`).
FEATURE_SOURCES = {
    "averaged": ("the seed's baseline: librosa's features averaged over each clip, the head alone", ClipFeatureInputs),
    "frames": ("librosa's features on every frame, the classifier of frozen FINs (pooling, compression, ...)",
               LibrosaFrameInputs),
}

#: Options of ser.baseline: the shared ones and the feature source.
BASELINE_DEFAULTS = {**DEFAULTS, "features": "averaged"}


def resolve(config):
    """The resolved configuration of a baseline run.

    Raises
    ------
    SERError
        An unknown ``features``, or a pooling option with ``features="averaged"`` (librosa already averaged the
        clip's audio frames, so ``pooling`` other than mean and ``mask_padding=False`` would be silently ignored).
    """
    config = resolve_config(config, BASELINE_DEFAULTS)
    if config["features"] not in FEATURE_SOURCES:
        raise SERError(f"unknown features {config['features']!r}; expected one of {', '.join(FEATURE_SOURCES)}")
    if config["features"] == "averaged" and (config["deltas"] or config["temporal"] != "none"):
        raise SERError("--deltas and --temporal work on frame sequences: they need --features frames")
    if config["features"] == "averaged" and (config["pooling"] != "mean" or not config["mask_padding"]):
        raise SERError(f"--pooling {config['pooling']}{'' if config['mask_padding'] else ' --no-mask-padding'} needs "
                       "--features frames: the averaged features are librosa's mean over the clip's audio")
    if not config["out"]:
        config["out"] = "runs/ser/baseline" + ("-frames" if config["features"] == "frames" else "")
    return config


def baseline(config, **kwargs):
    """Run a resolved configuration (:func:`resolve`); returns the pooled metrics (``metrics.json``)."""
    from ser.features import CLIP_FEATURES
    from ser.training import run

    info = {"features": config["features"], "feature_dims": CLIP_FEATURES,
            **{k: config[k] for k in ("pooling", "head", "feature_norm", "compress", "mask_padding", "deltas",
                                      "temporal")}}
    return run(config, "baseline", FEATURE_SOURCES[config["features"]][1], model_info=info, **kwargs)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m ser.baseline", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", choices=list(FEATURE_SOURCES),
                        help="averaged: the seed's clip means, the head alone (default); frames: librosa's features "
                             "on every frame with the classifier of ser.finetune --freeze all")
    add_common_arguments(parser)
    return parser


def main(argv=None):
    """Command line; returns the exit status (0; 1 on a failed run), bad options exit with status 2."""
    return run_cli(build_parser(), BASELINE_DEFAULTS, resolve, baseline, argv)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported (lazily, in main)
    sys.exit(main())
