"""Cross-validate any model of the SER zoo (:mod:`ser.zoo`) on the FIN model's clips, folds and metrics.

::

    python -m ser.train --model NAME [--frontend librosa|fin] [--feature-set egemaps|compare]
        [--corpus NAME=PATH ...] [--protocol loso|speaker-kfold|split|file-kfold] [--folds K] [--epochs N]
        [--batch-size B] [--lr LR] [--optimizer adam|adamw|rmsprop|sgd] [--out DIR] [--config FILE.yaml] [--max-files N] [--seed S]

Every model reads the same clip cache (2.5 s from 0.6 s at 22.05 kHz, the seed's augmented copies in training
parts only), is trained and tested on the same speaker-independent folds and writes the same outputs as
``ser.finetune`` (``metrics.json``, per-fold folders, plots, ``predictions.csv``, ``config.yaml``): see
:mod:`ser.training`. Each model's optimizer, learning rate, batch size and epochs default to its seed's (flags
override them); early stopping on the validation speakers, class weights and ``ReduceLROnPlateau`` are the
toolkit's, as for the FIN model.

``--frontend fin`` (crema_cnn1d, crema_cnn2d) computes the model's librosa frame features with closed-form FINs
inside the model, fine-tuned with it; ``--frontend librosa`` (default) computes them once with librosa.
``--model fin`` and ``--model baseline`` run ``ser.finetune`` and ``ser.baseline`` with the options given here
(and their defaults); ``opensmile_svm`` needs ``--feature-set``.
"""

import argparse
import os
import sys

from ser.errors import SERError
from ser.training import DEFAULTS, add_common_arguments, resolve_config, run_cli

#: Options of ser.train: the shared ones, the model and its input, the optimizer.
TRAIN_DEFAULTS = {**DEFAULTS, "model": None, "frontend": "librosa", "feature_set": None, "optimizer": "adam",
                  "lr_decay": None, "weight_decay": None}
#: The options only ser.train has (dropped when ``fin`` / ``baseline`` hand over to their own command).
ZOO_OPTIONS = ("model", "frontend", "feature_set", "optimizer", "lr_decay", "weight_decay")
#: ser.finetune's own options, taken by ``--model fin`` only.
FIN_OPTIONS = ("freeze", "init", "fins", "fin_lr_scale")
#: ser.baseline's own options, taken by ``--model baseline`` only.
BASELINE_OPTIONS = ("features",)
#: Options that belong to one of the two delegated commands.
DELEGATED_OPTIONS = FIN_OPTIONS + BASELINE_OPTIONS
FRONTENDS = ("librosa", "fin")


def resolve(config):
    """The resolved configuration of a zoo run: the model's seed training settings under the flags given."""
    from ser.optimizers import check_optimizer
    from ser.zoo import get_model, training_defaults
    from ser.zoo.features import OPENSMILE_SETS

    if not config.get("model"):
        raise SERError("--model is required")
    model = get_model(config["model"])
    if model.inputs in ("finetune", "baseline"):
        return _delegate(model, config)
    config = dict(config)
    given = [k for k in DELEGATED_OPTIONS if config.pop(k, None) is not None]
    if given:
        owners = ", ".join(f"--{k.replace('_', '-')} (--model {'fin' if k in FIN_OPTIONS else 'baseline'} only)"
                           for k in given)
        raise SERError(f"{owners}: not an option of {model.name}")
    frontend = config.get("frontend") or "librosa"
    if frontend not in FRONTENDS:
        raise SERError(f"unknown frontend {frontend!r}; expected one of {', '.join(FRONTENDS)}")
    if frontend not in model.frontends:
        raise SERError(f"--frontend {frontend} is not available for {model.name}; it takes "
                       f"{' or '.join(model.frontends)}")
    if model.inputs == "opensmile":
        if config.get("feature_set") not in OPENSMILE_SETS:
            raise SERError(f"opensmile_svm needs --feature-set, one of {', '.join(OPENSMILE_SETS)} "
                           f"(got {config.get('feature_set')!r})")
        if config.get("speaker_norm") is False:
            raise SERError("opensmile_svm always normalises per speaker; --no-speaker-norm is not available")
    elif config.get("feature_set") is not None:
        raise SERError(f"--feature-set is for opensmile_svm only, not {model.name}")
    defaults = training_defaults(model) if model.inputs != "opensmile" else {}
    config = resolve_config({**defaults, **{k: v for k, v in config.items() if v is not None}}, TRAIN_DEFAULTS)
    check_optimizer(config["optimizer"])
    if model.inputs == "opensmile":
        config["speaker_norm"] = True
    elif config["speaker_norm"]:
        raise SERError(f"--speaker-norm is not available for {model.name} (its inputs are the seed's)")
    if not config["out"]:
        suffix = f"-{config['feature_set']}" if config["feature_set"] else (f"-fin" if frontend == "fin" else "")
        config["out"] = f"runs/ser/zoo/{model.name}{suffix}"
    return config


def _delegate(model, config):
    """The configuration of ser.finetune (``fin``) or ser.baseline (``baseline``), resolved by that command."""
    from ser import baseline, finetune

    module = finetune if model.inputs == "finetune" else baseline
    allowed = FIN_OPTIONS if module is finetune else BASELINE_OPTIONS
    extra = [k for k in (*ZOO_OPTIONS, *DELEGATED_OPTIONS) if k != "model" and k not in allowed
             and config.get(k) not in (None, "librosa")]
    if extra:
        raise SERError(f"--model {model.name} runs python -m {module.__name__}; "
                       f"{', '.join('--' + k.replace('_', '-') for k in extra)} do not apply to it")
    return module.resolve({k: v for k, v in config.items() if k not in ZOO_OPTIONS and (k in allowed or
                                                                                      k not in DELEGATED_OPTIONS)})


def train(config, **kwargs):
    """Run a resolved configuration (:func:`resolve`); returns the pooled metrics (``metrics.json``)."""
    from ser.training import run
    from ser.zoo import get_model
    from ser.zoo.inputs import INPUT_KINDS
    from ser.zoo.svm import run_svm

    name = config.get("model")
    if name is None:  # a fin / baseline configuration, resolved by their own command
        from ser import baseline, finetune

        return finetune.finetune(config, **kwargs) if "freeze" in config else baseline.baseline(config, **kwargs)
    model = get_model(name)
    if model.inputs == "opensmile":
        return run_svm(config, **kwargs)
    kind = "frames" if config["frontend"] == "fin" else model.inputs
    info = {"model": name, "frontend": config["frontend"], "optimizer": config["optimizer"],
            "published": model.published}
    return run(config, name, INPUT_KINDS[kind], model_info=info, **kwargs)


def build_parser():
    from ser.optimizers import OPTIMIZERS
    from ser.zoo import MODELS
    from ser.zoo.features import OPENSMILE_SETS

    listing = "\n".join(f"  {m.name:<14} {m.summary}" for m in MODELS.values())
    parser = argparse.ArgumentParser(prog="python -m ser.train", description=__doc__.split("\n\n")[0],
                                     epilog=f"models:\n{listing}", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=list(MODELS), required=True, help="the zoo model (listed below)")
    parser.add_argument("--frontend", choices=list(FRONTENDS),
                        help="librosa (default): features computed once by librosa; fin: computed by closed-form "
                             "FINs inside the model and fine-tuned with it (crema_cnn1d, crema_cnn2d)")
    parser.add_argument("--feature-set", choices=list(OPENSMILE_SETS), help="opensmile_svm's functionals")
    parser.add_argument("--optimizer", choices=list(OPTIMIZERS), help="default: the model's seed's")
    parser.add_argument("--freeze", help="--model fin only: ser.finetune's --freeze (none, all or FEATURE[,FEATURE])")
    parser.add_argument("--init", help="--model fin only: ser.finetune's --init (pretrained or random)")
    parser.add_argument("--fins", help="--model fin only: ser.finetune's --fins (closed-form, learned or a folder)")
    parser.add_argument("--fin-lr-scale", type=float, help="--model fin only: ser.finetune's --fin-lr-scale")
    parser.add_argument("--features", help="--model baseline only: ser.baseline's --features (averaged or frames)")
    add_common_arguments(parser)
    actions = parser._option_string_actions  # the shared help names the FIN model's defaults; here the seed's rule
    actions["--lr"].help = "learning rate of the model's optimizer (default: its seed's)"
    actions["--epochs"].help = "maximum epochs (default: the model's seed's; early stopping on validation speakers)"
    actions["--batch-size"].help = "batch size (default: the model's seed's)"
    return parser


def main(argv=None):
    """Command line; returns the exit status (0; 1 on a failed run), bad options exit with status 2."""
    return run_cli(build_parser(), {**TRAIN_DEFAULTS, **dict.fromkeys(DELEGATED_OPTIONS)}, resolve, train, argv)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported (lazily, in main)
    sys.exit(main())
