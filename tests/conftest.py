"""Shared fixtures: a seeded rng, the shared corpora, TensorFlow kept quiet and small."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def shared_data():
    """Path to ../shared/data (the real corpora); tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared corpora not found at {SHARED_DATA}")
    return SHARED_DATA


def write_tone(path, seconds=0.6, sr=22050, f0=220.0, seed=0, channels=1, fmt=None, subtype=None):
    """Write a short harmonic tone with noise (a stand-in for a voiced utterance)."""
    import soundfile

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    y = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6)) * 0.2 + 0.01 * rng.standard_normal(t.size)
    y = (y * np.hanning(t.size)).astype(np.float32)
    data = np.stack([y, 0.5 * y], axis=1) if channels == 2 else y
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, data, sr, format=fmt, subtype=subtype)
    return path


@pytest.fixture
def ravdess_tree(tmp_path):
    """A tiny RAVDESS-layout corpus: 5 actors x 4 emotions, 0.6 s tones."""
    root = tmp_path / "ravdess"
    for actor in range(1, 6):
        for k, emotion in enumerate(("01", "03", "04", "05")):
            name = f"03-01-{emotion}-01-01-01-{actor:02d}.wav"
            write_tone(root / f"Actor_{actor:02d}" / name, f0=150 + 20 * actor + 30 * k, seed=actor * 10 + k)
    return root


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory):
    """A small store (6 actors x 4 emotions of 0.6 s tones, no augmentation) for training smoke tests."""
    from data_prep.build import build_store

    base = tmp_path_factory.mktemp("tiny_store")
    root = base / "ravdess"
    for actor in range(1, 7):
        for k, emotion in enumerate(("01", "03", "04", "05")):
            write_tone(root / f"Actor_{actor:02d}" / f"03-01-{emotion}-01-01-01-{actor:02d}.wav",
                       f0=120 + 25 * actor + 40 * k, seed=actor * 10 + k)
    out = base / "tiny.h5"
    build_store({"corpora": [f"ravdess={root}"], "out": str(out), "augment": False, "workers": 1}, progress=False)
    return out
