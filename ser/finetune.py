"""Cross-validate the end-to-end SER model on pretrained FINs: fine-tuned, frozen, partly frozen or random init.

::

    python -m ser.finetune --freeze none|all|FEATURE[,FEATURE] [--init pretrained|random] [--front-end trainable|frozen]
        [--fins closed-form|learned|DIR] [--frame-stride K] [--corpus NAME=PATH ...]
        [--protocol loso|speaker-kfold|split|file-kfold] [--folds K] [--epochs N] [--batch-size B] [--lr LR] [--out DIR]
        [--config FILE.yaml] [--strategy default|mirrored|multiworker] [--leaky-file-split] [--max-files N] [--seed S]
        [--pooling mean|stats|attention|functionals|descriptive] [--compress none|log] [--deltas]
        [--temporal none|conv|gru] [--speaker-norm] [--head seed|mlp|svm] [--final-model] [--resume]

The seed's three variants are ``--freeze none`` (fine-tuned FINs), ``--freeze all`` (frozen FINs) and
``--freeze none --init random`` (the same architecture learned from scratch); ``--freeze mel,mfcc`` freezes some.
``--front-end frozen`` is a partial mode: the FINs' Fourier front end (window and DFT; the learned FINs' basis) stays
fixed and everything above it trains. ``--fins`` says which FINs: the closed-form presets (default: librosa's operators as trainable layers), the learned
presets (randomly initialised, trained to imitate librosa) or a folder of one's own (``<feature>.keras`` or
``fin.train`` run folders ``<feature>/``); ``--init random`` rebuilds their architectures with random weights.
Defaults: Adam lr 5e-4, batch 64, 70 epochs at most, ``ReduceLROnPlateau(loss, 0.4, 2, min_lr 1e-7)`` as the FINs,
early stopping on validation speakers of each fold (different ones per fold), class weights, the seed's clips
(2.5 s from 0.6 s, 108 frames) and augmented copies in the training part only, leave-one-speaker-out, the demo
corpus.

Beyond the seed (measured in the README): ``--pooling stats --compress log --speaker-norm --head mlp`` pools mean
and standard deviation of the log-compressed features, normalises each clip's pooled vector with its speaker's
statistics and uses a small MLP head; ``--speaker-norm`` needs ``--freeze all``. ``--deltas`` appends frame-to-frame
differences, ``--pooling functionals`` adds minimum and maximum, ``--pooling descriptive`` pools 15 functionals
per feature (percentiles, ranges, slope, skewness, kurtosis, frame-to-frame differences), ``--temporal conv|gru``
runs a temporal block over the frames before pooling, ``--head svm`` fits a linear SVM by sklearn on the
speaker-normalised pooled vectors (``C`` chosen inside the training speakers; saved as a layer of the model).
``experiments/configs/ser_best.yaml`` holds the best recipe (``--config experiments/configs/ser_best.yaml``:
whole utterances, descriptive pooling, SVM head).

How it runs (:mod:`ser.inputs`):

- ``--freeze all``: the FIN outputs are computed once per clip and cached, and only the pooling and head are
  trained: an exact shortcut.
- otherwise (fine-tuning): the clips are held in memory and framed inside the graph (``--jit-compile`` adds XLA:
  about 2x faster steps with the MLP head, but NaN losses on some EMO-DB batches; off by default), while FINs train
  at ``--fin-lr-scale`` times the head's learning rate, and each step
  runs them on every 4th frame of each clip from a random phase (``--frame-stride``, default 4 with order-free
  pooling: frames that tile the clip without overlap; ``--frame-stride 1`` is the seed's every frame). Validation,
  test and the saved model use every frame. ``python -m experiments.benchmark ser-train`` measures the cost per
  clip against librosa's.

Outputs: see :mod:`ser.training` (``metrics.json``, per-fold folders, plots, ``config.yaml``, ``ser_model.json``).
"""

import argparse
import os
import sys

from ser.errors import SERError
from ser.inputs import FINFeatureInputs, FrameInputs
from ser.training import DEFAULTS, add_common_arguments, resolve_config, run_cli

#: Options of ser.finetune: the shared ones plus the FIN choices.
FINETUNE_DEFAULTS = {**DEFAULTS, "freeze": "none", "init": "pretrained", "fins": "closed-form",
                     "front_end": "trainable",  # "frozen": the FINs' window and DFT (or learned basis) stay fixed
                     "fin_lr_scale": None,  # None: 0.001 for pretrained FINs, 1 for randomly initialised ones
                     "fin_source": None}  # fin_source: set by resolve()

#: Frame stride used when ``frame_stride`` is not given and some FIN trains (see :class:`ser.inputs.FrameInputs`).
AUTO_FRAME_STRIDE = 4


def resolve(config):
    """The resolved configuration of a fine-tuning run (see :data:`FINETUNE_DEFAULTS`)."""
    from ser.model import FIN_FAMILIES, FIN_SOURCES, FRONT_ENDS, fins_description, freeze_mode

    config = resolve_config(config, FINETUNE_DEFAULTS)
    config["freeze"] = freeze_mode(config["freeze"])
    if config["init"] not in FIN_SOURCES:
        raise SERError(f"unknown init {config['init']!r}; expected one of {', '.join(FIN_SOURCES)}")
    config["fins"] = str(config["fins"])
    if config["fins"] not in FIN_FAMILIES and not os.path.isdir(config["fins"]):
        raise SERError(f"--fins {config['fins']!r}: expected {' or '.join(FIN_FAMILIES)}, or a folder of FINs "
                       "(<feature>.keras or fin.train run folders <feature>/)")
    if config["speaker_norm"] and config["freeze"] != "all":
        raise SERError(f"--speaker-norm needs fixed features: --freeze all (got --freeze {config['freeze']}); "
                       "with FINs being trained each speaker's statistics change every step")
    trains_fins = config["freeze"] != "all"
    if config["front_end"] not in FRONT_ENDS:
        raise SERError(f"unknown front_end {config['front_end']!r}; expected one of {', '.join(FRONT_ENDS)}")
    if config["front_end"] == "frozen" and not trains_fins:
        raise SERError("--front-end frozen is a fine-tuning mode; with --freeze all every FIN weight is frozen already")
    if config["fin_lr_scale"] is None:  # pretrained FINs are fine-tuned; random ones learn at the head's rate
        config["fin_lr_scale"] = 0.001 if config["init"] == "pretrained" else 1.0
    scale = config["fin_lr_scale"]
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale <= 100:
        raise SERError(f"fin_lr_scale must be a number in (0, 100], got {scale!r}")
    config["fin_lr_scale"] = float(scale)
    if config["frame_stride"] is None:
        order_free = config["temporal"] == "none" and not config["deltas"]
        config["frame_stride"] = AUTO_FRAME_STRIDE if trains_fins and order_free else 1
    elif config["frame_stride"] > 1 and (config["temporal"] != "none" or config["deltas"]):
        raise SERError(f"--frame-stride {config['frame_stride']} drops frames in training, which a temporal block or "
                       "deltas would see as a different frame rate than at test time; use --frame-stride 1")
    config["fin_source"] = fins_description(config["init"], config["fins"])
    if not config["out"]:
        family = "" if config["fins"] == "closed-form" else f"{config['fins'] if config['fins'] in FIN_FAMILIES else 'dir'}-"
        front = "-front-end-frozen" if config["front_end"] == "frozen" else ""
        config["out"] = f"runs/ser/finetune-{family}{config['freeze'].replace(',', '+')}-{config['init']}{front}"
    return config


def finetune(config, **kwargs):
    """Run a resolved configuration (:func:`resolve`); returns the pooled metrics (``metrics.json``)."""
    from ser.training import run

    inputs = FINFeatureInputs if config["freeze"] == "all" else FrameInputs
    info = {k: config[k] for k in ("freeze", "front_end", "init", "fins", "fin_source", "pooling", "head", "feature_norm",
                                   "compress", "mask_padding", "deltas", "temporal")}
    return run(config, "finetune", inputs, model_info=info, **kwargs)


def build_parser():
    from ser.model import FIN_SOURCES

    parser = argparse.ArgumentParser(prog="python -m ser.finetune", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--freeze", help="none (fine-tune every FIN, default), all (frozen FINs) or a comma-separated "
                                         "list of zcr, chroma, mfcc, rms, mel")
    parser.add_argument("--init", choices=list(FIN_SOURCES),
                        help="pretrained FINs (default) or the same architecture randomly initialised")
    parser.add_argument("--fins", metavar="closed-form|learned|DIR",
                        help="which FINs: the closed-form presets (default, librosa's operators as trainable layers), "
                             "the learned presets (randomly initialised, trained to imitate librosa), or a folder of "
                             "FINs (<feature>.keras or fin.train run folders <feature>/)")
    parser.add_argument("--front-end", choices=["trainable", "frozen"],
                        help="trainable (default: every FIN weight trains) or frozen: the FINs' window and DFT (the "
                             "learned FINs' basis) keep their weights and everything after them trains, a partial "
                             "fine-tuning mode with cheaper steps")
    parser.add_argument("--fin-lr-scale", type=float,
                        help="the FINs' learning rate as a multiple of the head's (default 0.001 for pretrained FINs: "
                             "Adam's steps of the head's size rewrite the closed-form FINs' small weights; 1 for "
                             "--init random and the seed's fine-tuning)")
    parser.add_argument("--frame-stride", type=int,
                        help="while FINs train, run them on every k-th frame of each clip per step (random phase; "
                             "validation and test use all frames). Default 4 when a FIN trains with order-free "
                             "pooling (frames that tile the clip), else 1 (every frame, the seed's)")
    add_common_arguments(parser)
    return parser


def main(argv=None):
    """Command line; returns the exit status (0; 1 on a failed run), bad options exit with status 2."""
    return run_cli(build_parser(), FINETUNE_DEFAULTS, resolve, finetune, argv)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported (lazily, in main)
    sys.exit(main())
