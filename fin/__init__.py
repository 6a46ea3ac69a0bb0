"""fin: Feature Imitating Networks, Keras models that map a raw 2048-sample frame to a librosa feature.

Public API::

    import fin
    model = fin.build_model("mfcc", "spectral", init="closed-form")   # exact before training
    fin.get_feature("mel").metric, fin.architecture_names()
    fin.load_preset("mfcc")                                           # a shipped pretrained FIN

Importing :mod:`fin` registers its layers with Keras, so ``keras.saving.load_model("x.keras")`` works after it.
"""

from fin import layers, losses  # noqa: F401  (registers the custom layers and losses for load_model)
from fin.errors import FINError
from fin.presets import list_presets, load_preset
from fin.registry import (
    ARCHITECTURES,
    FEATURE_SPECS,
    ArchitectureSpec,
    FeatureSpec,
    architecture_names,
    build_model,
    feature_names,
    get_architecture,
    get_feature,
)

__all__ = [
    "ARCHITECTURES",
    "FEATURE_SPECS",
    "ArchitectureSpec",
    "FINError",
    "FeatureSpec",
    "architecture_names",
    "build_model",
    "feature_names",
    "get_architecture",
    "get_feature",
    "layers",
    "list_presets",
    "load_preset",
]
