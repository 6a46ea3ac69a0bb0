"""Augmentation with audiomentations: named copies of each file, configurable, seeded per file.

An augmentation config is a mapping ``copy name -> list of transforms``; each transform is
``{"name": <audiomentations class or one defined here>, **its arguments}``. Every copy is a
``Compose`` applied to the original with ``p=1``. The original itself is always kept (copy name
``"original"``). The default reproduces the seed's three versions of each file:

- ``noise``: Gaussian noise of amplitude ``0.035 * U(0, 1) * max|y|``,
- ``stretch_pitch``: slowed to rate 0.8, then pitch-shifted by 0.7 semitone (librosa's phase vocoder,
  the seed's method).

Augmented copies always go to their source's split; the build guarantees that.
"""

import copy
import random
import zlib

import audiomentations
import numpy as np
from audiomentations.core.transforms_interface import BaseWaveformTransform

from data_prep.errors import DataPrepError

SEED_AUGMENTATION = {
    "noise": [{"name": "PeakRelativeGaussianNoise", "max_fraction": 0.035}],
    "stretch_pitch": [
        {"name": "TimeStretch", "min_rate": 0.8, "max_rate": 0.8, "leave_length_unchanged": False, "method": "librosa_phase_vocoder"},
        {"name": "PitchShift", "min_semitones": 0.7, "max_semitones": 0.7, "method": "librosa_phase_vocoder"},
    ],
}


class PeakRelativeGaussianNoise(BaseWaveformTransform):
    """The seed's noise: ``y + a * N(0, 1)`` with ``a = max_fraction * U(0, 1) * max|y|``.

    audiomentations' ``AddGaussianNoise`` takes an absolute amplitude and ``AddGaussianSNR`` an SNR; neither
    scales with the peak, which is what the seed does, hence this small transform.
    """

    supports_multichannel = True

    def __init__(self, max_fraction=0.035, p=1.0):
        super().__init__(p=p)
        self.max_fraction = max_fraction

    def randomize_parameters(self, samples, sample_rate):
        super().randomize_parameters(samples, sample_rate)
        if self.parameters["should_apply"]:
            self.parameters["fraction"] = self.max_fraction * np.random.uniform()

    def apply(self, samples, sample_rate):
        amplitude = self.parameters["fraction"] * np.max(np.abs(samples))
        return (samples + amplitude * np.random.standard_normal(samples.shape)).astype(np.float32)


_LOCAL_TRANSFORMS = {"PeakRelativeGaussianNoise": PeakRelativeGaussianNoise}


def _make_transform(spec, copy_name):
    spec = dict(spec)
    name = spec.pop("name", None)
    cls = _LOCAL_TRANSFORMS.get(name) or getattr(audiomentations, str(name), None)
    if not (isinstance(cls, type) and issubclass(cls, audiomentations.core.transforms_interface.BaseTransform)):
        raise DataPrepError(
            f"augmentation copy {copy_name!r}: unknown transform {name!r}; expected an audiomentations "
            f"transform class name or one of {', '.join(_LOCAL_TRANSFORMS)}"
        )
    spec.setdefault("p", 1.0)
    try:
        return cls(**spec)
    except TypeError as err:
        raise DataPrepError(f"augmentation copy {copy_name!r}: bad arguments for {name}: {err}") from err


class Augmenter:
    """Applies every configured copy to a signal, deterministically from a seed and the file's key.

    Parameters
    ----------
    config : dict or None
        ``copy name -> [transform spec, ...]``; ``None`` means :data:`SEED_AUGMENTATION`; ``{}`` means none.
    seed : int
    """

    def __init__(self, config=None, seed=0):
        self.config = copy.deepcopy(SEED_AUGMENTATION if config is None else config)
        if "original" in self.config:
            raise DataPrepError("augmentation copy name 'original' is reserved for the unaugmented file")
        self.seed = seed
        self.copies = {name: audiomentations.Compose([_make_transform(s, name) for s in specs], p=1.0) for name, specs in self.config.items()}

    @property
    def names(self):
        """Copy names in output order, ``"original"`` first."""
        return ["original", *self.copies]

    def __call__(self, y, sr, key):
        """Return ``[(copy name, signal), ...]`` for ``y``; ``key`` (e.g. the file path) seeds the randomness."""
        out = [("original", y)]
        for i, (name, compose) in enumerate(self.copies.items()):
            # audiomentations draws from numpy's and Python's global generators: seed both per file and copy
            state = zlib.crc32(f"{self.seed}:{key}:{i}".encode())
            np.random.seed(state)
            random.seed(state)
            out.append((name, np.asarray(compose(samples=y, sample_rate=sr), dtype=np.float32)))
        return out
