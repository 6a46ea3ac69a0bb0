"""The shipped presets: load by name, metadata, size, fidelity on real speech, usable as --model."""

import numpy as np
import pytest
from sklearn.metrics import r2_score

import fin
from data_prep import FEATURES, frame_targets
from fin.presets import PRESET_DIR, load_model_spec


def test_every_feature_has_a_preset_of_a_bounded_size():
    presets = fin.list_presets("closed-form")
    assert set(presets) == set(FEATURES)
    total = sum((PRESET_DIR / p["file"]).stat().st_size for p in presets.values())
    assert total < 20e6
    learned = fin.presets.family_dir("learned")
    # three 2.1-2.2 M-weight float32 models: about 9 MB each
    assert sum((learned / p["file"]).stat().st_size for p in fin.list_presets("learned").values()) < 30e6
    for name, meta in presets.items():
        assert {"arch", "params", "training_data", "test", "recipe"} <= set(meta)
        assert meta["test"]["r2"] >= 0.99


def test_presets_imitate_librosa_on_real_speech(shared_data):
    from data_prep.audio import load_audio
    from data_prep.targets import frame_signal

    files = sorted((shared_data / "ravdess" / "Actor_23").glob("*"))[:3] + sorted((shared_data / "emodb" / "wav").glob("16*.wav"))[:2]
    signals = [load_audio(f) for f in files]
    frames = np.concatenate([frame_signal(y) for y in signals])
    targets = [frame_targets(y) for y in signals]
    for feature in FEATURES:
        model = fin.load_preset(feature)
        assert model.output_shape == (None, fin.get_feature(feature).dim)
        pred = model.predict(frames, batch_size=512, verbose=0)
        y = np.concatenate([t[feature] for t in targets])
        multioutput = "variance_weighted" if feature == "mel" else "uniform_average"
        assert r2_score(y, pred, multioutput=multioutput) >= 0.99, feature


def test_preset_name_works_as_model_spec():
    assert load_model_spec("rms").name == "rms_spectral"
    assert load_model_spec("learned:rms").name == "rms_quadratic"
    with pytest.raises(fin.FINError, match="preset"):
        fin.load_preset("nope")
