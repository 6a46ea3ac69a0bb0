"""The one table of fin: feature name -> everything about it; architecture name -> its builder.

CLIs take their ``choices=`` from :func:`feature_names` and :func:`architecture_names`; an unknown name raises
:class:`fin.errors.FINError` listing the valid ones.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np

from data_prep.targets import FEATURE_DIMS, FEATURES, TARGET_SETS
from fin import architectures
from fin.errors import FINError
from fin.layers import INITS


@dataclass(frozen=True)
class FeatureSpec:
    """Everything about one imitated feature.

    Attributes
    ----------
    name : str
        ``rms``, ``zcr``, ``chroma``, ``mfcc`` or ``mel``.
    dim : int
        Output size.
    loss : str
        Training loss, the seed's: ``"mae"`` for chroma, ``"mse"`` for the others.
    epochs : int
        The seed's training length: 100 for RMS and ZCR, 50 for the others.
    metric : str
        ``"r2"`` (``sklearn.metrics.r2_score``, uniform average) or ``"r2_vw"`` (variance-weighted, for mel,
        whose near-silent high bins make the uniform average meaningless).
    default_arch : str
        Architecture :func:`build_model` uses when none is named.
    """

    name: str
    dim: int
    loss: str
    epochs: int
    metric: str
    default_arch: str


@dataclass(frozen=True)
class ArchitectureSpec:
    """An architecture: its builder and what it accepts. Calling the spec calls the builder.

    Attributes
    ----------
    name : str
    builder : callable
        ``builder(feature_spec, *, init, target_mean, target_std, seed, target_set) -> keras.Model``.
    inits : tuple of str
        Accepted ``init`` values.
    uses_target_stats : bool
        Whether the model ends in :class:`fin.layers.Destandardize`, i.e. trains on standardised targets and
        takes ``target_mean`` / ``target_std``.
    description : str
    """

    name: str
    builder: Callable
    inits: tuple
    uses_target_stats: bool
    description: str

    def __call__(self, feature, **kwargs):
        return self.builder(feature, **kwargs)


FEATURE_SPECS = {
    name: FeatureSpec(
        name=name,
        dim=FEATURE_DIMS[name],
        loss="mae" if name == "chroma" else "mse",
        epochs=100 if name in ("rms", "zcr") else 50,
        metric="r2_vw" if name == "mel" else "r2",
        default_arch="quadratic",
    )
    for name in FEATURES
}

ARCHITECTURES = {
    "paper": ArchitectureSpec("paper", architectures.paper, ("random",), False,
                              "the seed's topologies and parameter counts, raw frames in, librosa units out"),
    "compact": ArchitectureSpec("compact", architectures.compact, ("random",), True,
                                "a small learned Conv1D filter bank, log energies, Dense layers, Destandardize"),
    "quadratic": ArchitectureSpec("quadratic", architectures.quadratic, ("random",), True,
                                  "a learned quadratic form (unit-power frame, learned basis, energies, non-negative "
                                  "bank): built to be learned from random initialisation"),
    "spectral": ArchitectureSpec("spectral", architectures.spectral, ("closed-form", "random"), False,
                                 "librosa's computation as trainable layers; exact with init='closed-form'"),
}


def feature_names():
    """The feature names, in the order the store lists them (the SER model uses the seed's order)."""
    return tuple(FEATURE_SPECS)


def architecture_names():
    """The architecture names.

    Examples
    --------
    >>> architecture_names()
    ('paper', 'compact', 'quadratic', 'spectral')
    """
    return tuple(ARCHITECTURES)


def get_feature(name):
    """The :class:`FeatureSpec` of ``name``; :class:`FINError` listing the valid names if unknown.

    Examples
    --------
    >>> get_feature("mfcc").dim
    20
    """
    try:
        return FEATURE_SPECS[name]
    except (KeyError, TypeError) as err:
        raise FINError(f"unknown feature {name!r}; expected one of {', '.join(FEATURE_SPECS)}") from err


def get_architecture(name):
    """The :class:`ArchitectureSpec` of ``name``; :class:`FINError` listing the valid names if unknown."""
    try:
        return ARCHITECTURES[name]
    except (KeyError, TypeError) as err:
        raise FINError(f"unknown architecture {name!r}; expected one of {', '.join(ARCHITECTURES)}") from err


def _statistic(value, dim, what):
    if value is None:
        return None
    value = np.asarray(value, dtype=np.float32)
    if value.size not in (1, dim):
        raise FINError(f"{what} must be a scalar or have {dim} values, got shape {value.shape}")
    return value


def build_model(feature, arch=None, init="random", target_mean=None, target_std=None, seed=None, target_set="seed"):
    """Build the FIN for ``feature``: a ``keras.Model`` from raw frames to the feature in librosa units.

    Parameters
    ----------
    feature : str
        ``rms``, ``zcr``, ``chroma``, ``mfcc`` or ``mel``.
    arch : str or None
        ``paper``, ``compact``, ``quadratic`` or ``spectral``; ``None`` for the feature's ``default_arch`` (``quadratic``).
    init : {"random", "closed-form"}
        ``closed-form`` (``spectral`` only) sets every weight to the librosa operator it imitates.
    target_mean, target_std : array-like [shape=(dim,)] or scalar or None
        Training-set target statistics, stored in the model's :class:`fin.layers.Destandardize` (architectures
        with ``uses_target_stats``; ignored by the others, whose outputs are in librosa units by construction).
    seed : int or None
        Seeds the random weights.
    target_set : str
        The ``data_prep.targets`` target set a ``spectral`` model reproduces (``seed``: chroma with the per-frame
        tuning estimate; ``tuning0``: chroma with tuning 0; ``logmel``: mel in dB). Learned architectures fit
        whatever targets they are trained on and ignore it.

    Returns
    -------
    model : keras.Model
        Input ``(batch, 2048)`` float32 frames, output ``(batch, dim)`` float32; named ``"<feature>_<arch>"``.

    Examples
    --------
    >>> model = build_model("rms", "paper", seed=0)
    >>> model.name, model.output_shape, model.count_params()
    ('rms_paper', (None, 1), 66241)
    """
    spec = get_feature(feature)
    architecture = get_architecture(spec.default_arch if arch is None else arch)
    if init not in INITS:
        raise FINError(f"unknown init {init!r}; expected one of {', '.join(INITS)}")
    if init not in architecture.inits:
        raise FINError(f"init={init!r} is not available for architecture {architecture.name!r}; "
                       f"expected one of {', '.join(architecture.inits)} (closed-form exists only for 'spectral')")
    if target_set not in TARGET_SETS:
        raise FINError(f"unknown target set {target_set!r}; expected one of {', '.join(TARGET_SETS)}")
    target_mean = _statistic(target_mean, spec.dim, "target_mean")
    target_std = _statistic(target_std, spec.dim, "target_std")
    return architecture(spec, init=init, target_mean=target_mean, target_std=target_std, seed=seed, target_set=target_set)
