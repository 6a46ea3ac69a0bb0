"""Cross-validate the seed's baseline: the SER head on the 162 librosa features averaged over each clip.

::

    python -m ser.baseline [--corpus NAME=PATH ...] [--protocol loso|speaker-kfold|split] [--folds K]
        [--epochs N] [--batch-size B] [--lr LR] [--out DIR] [--config FILE.yaml] [--strategy ...]
        [--leaky-file-split] [--max-files N] [--seed S]

The same clips, folds, augmentation, training and outputs as ``ser.finetune``; only the input differs: zcr,
chroma_stft, mfcc, rms and melspectrogram computed by librosa (``center=True``) on each clip and averaged over its
frames (:mod:`ser.features`), computed once per clip and cached. The saved models take that 162-vector; ser.predict
computes it from the audio.
"""

import argparse
import os
import sys

from ser.errors import SERError
from ser.inputs import ClipFeatureInputs
from ser.training import DEFAULTS, add_common_arguments, resolve_config, run_cli

#: Options of ser.baseline: the shared ones (pooling is not used: the features are averaged by librosa).
BASELINE_DEFAULTS = dict(DEFAULTS)


def resolve(config):
    """The resolved configuration of a baseline run."""
    config = resolve_config(config, BASELINE_DEFAULTS)
    if not config["out"]:
        config["out"] = "runs/ser/baseline"
    return config


def baseline(config, **kwargs):
    """Run a resolved configuration (:func:`resolve`); returns the pooled metrics (``metrics.json``)."""
    from ser.features import CLIP_FEATURES
    from ser.training import run

    info = {"head": config["head"], "feature_norm": config["feature_norm"], "compress": config["compress"],
            "features": CLIP_FEATURES}
    return run(config, "baseline", ClipFeatureInputs, model_info=info, **kwargs)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m ser.baseline", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    return parser


def main(argv=None):
    """Command line; returns the exit status (0; 1 on a failed run), bad options exit with status 2."""
    return run_cli(build_parser(), BASELINE_DEFAULTS, resolve, baseline, argv)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported (lazily, in main)
    sys.exit(main())
