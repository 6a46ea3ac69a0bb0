"""SER zoo models: the seeds' parameter counts, the registry, one training step each, the zoo layers."""

import keras
import numpy as np
import pytest

from ser.errors import SERError
from ser.zoo import MODELS, get_model, model_names, training_defaults
from ser.zoo.models import build_crema_cnn1d, build_crema_cnn2d, build_ps_ac1d_fif

# the shapes of one row each Keras zoo model takes (tiny: 26 frames = a 0.6 s clip; 0.6 s at 16 kHz)
N_FRAMES = 26
ROW_SHAPES = {"ps_ac1d_fif": (417,), "crema_cnn1d": (N_FRAMES, 16), "crema_cnn2d": (N_FRAMES, 128)}
WAVEFORM_MODELS = ["cnn_3_gru", "cnn_5_gru", "cnn_11_gru", "cnn_18_gru", "sigwavnet"]


def test_ps_ac1d_fif_has_the_published_parameter_counts():
    assert build_ps_ac1d_fif(417, 8).count_params() == 563_908
    assert build_ps_ac1d_fif(427, 7).count_params() == 529_207


def test_crema_cnn2d_has_the_notebooks_parameter_count_at_its_input_size():
    # the notebook's 16 kHz clips of 40,775 samples, hop 512: 128 mels x 80 frames, 6 classes
    model = build_crema_cnn2d(80, 6)
    assert model.count_params() == 3_105_990
    assert model.get_layer("image").output.shape[1:] == (128, 80, 1)


def test_crema_cnn1d_flattens_feature_major():
    model = build_crema_cnn1d(N_FRAMES, 7, seed=0)
    assert model.output_shape == (None, 7)
    x = np.arange(N_FRAMES * 16, dtype=np.float32).reshape(1, N_FRAMES, 16)
    flat = keras.Model(model.input, model.get_layer("flatten_features").output)(x)
    # the notebook's order: every frame's first feature (ZCR), then every RMS, the MFCC matrix row by row, centroid
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(flat)[0, :, 0], x[0].T.ravel())


def test_registry_is_one_table_with_clear_errors():
    assert model_names() == tuple(MODELS)
    assert {"ps_ac1d_fif", "crema_cnn1d", "crema_cnn2d", *WAVEFORM_MODELS, "opensmile_svm", "fin",
            "baseline"} == set(MODELS)
    with pytest.raises(SERError, match="unknown zoo model 'nope'; expected one of ps_ac1d_fif"):
        get_model("nope")
    assert training_defaults(get_model("ps_ac1d_fif")) == {"optimizer": "rmsprop", "lr": 1e-5, "lr_decay": 1e-6,
                                                           "batch_size": 10, "epochs": 100}
    for model in MODELS.values():
        assert model.summary and model.inputs
        assert model.published or model.name in WAVEFORM_MODELS[:3]


def _one_step(model, shape, n_classes=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, *shape)).astype(np.float32)
    if shape[-1] == 128:  # mel power is non-negative
        x = np.abs(x)
    y = np.arange(4) % n_classes
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))  # a step changed weights
    prob = model.predict(x, verbose=0)
    assert prob.shape == (4, n_classes)
    np.testing.assert_allclose(prob.sum(axis=1), 1.0, rtol=1e-4)


@pytest.mark.parametrize("name", list(ROW_SHAPES))
def test_one_training_step(name):
    spec = get_model(name)
    _one_step(spec.build(4, ROW_SHAPES[name], 0), ROW_SHAPES[name])


@pytest.mark.parametrize("name", WAVEFORM_MODELS)
def test_waveform_models_build_and_train_one_step(name):
    pytest.importorskip("ser.zoo.waveform")
    spec = get_model(name)
    shape = (9600,)  # 0.6 s at 16 kHz
    model = spec.build(4, shape, 0)
    assert model.output_shape == (None, 4)
    if name != "sigwavnet":  # the full SigWavNet's step takes over a minute on a CPU; test_zoo_waveform trains a small one
        _one_step(model, shape)
    assert set(training_defaults(spec)) >= {"optimizer", "lr", "batch_size", "epochs"}


def test_clip_power_to_db_is_librosas_ref_max(rng):
    import librosa

    from ser.zoo.layers import ClipPowerToDb

    power = rng.gamma(0.5, size=(2, N_FRAMES, 128)).astype(np.float32) ** 4
    got = keras.ops.convert_to_numpy(ClipPowerToDb()(power))
    for i in range(2):  # librosa's axis order is (mels, frames); the layer keeps Keras' (frames, mels)
        expected = librosa.power_to_db(power[i].T, ref=np.max, top_db=80.0).T
        np.testing.assert_allclose(got[i], expected, atol=1e-3)  # dB


def test_zoo_model_save_load_round_trip(tmp_path, rng):
    import ser.zoo.layers  # noqa: F401  (registers the layers)

    model = build_crema_cnn2d(N_FRAMES, 3, seed=1)
    x = np.abs(rng.standard_normal((2, N_FRAMES, 128))).astype(np.float32)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_rmsprop_with_keras2_time_decay():
    from ser.optimizers import make_optimizer

    optimizer, callbacks = make_optimizer({"optimizer": "rmsprop", "lr": 1e-2, "lr_decay": 0.1})
    assert type(optimizer).__name__ == "RMSprop" and len(callbacks) == 1
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    x, y = np.ones((8, 3), np.float32), np.zeros(8, int)
    model.fit(x, y, batch_size=4, epochs=3, callbacks=callbacks, verbose=0)  # 2 steps per epoch
    # the rate of the last epoch: 1e-2 / (1 + 0.1 * 4 iterations done before it)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(1e-2 / 1.4, rel=1e-5)
    with pytest.raises(SERError, match="unknown optimizer 'adagrad'"):
        make_optimizer({"optimizer": "adagrad", "lr": 1e-3})
