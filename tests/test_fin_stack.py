"""fin.stack: FINs on the same frames with the layers they have in common computed once."""

import keras
import numpy as np
import pytest

import fin
from fin.errors import FINError
from fin.layers import FactorisedDFT, Filterbank, FrameWindow
from fin.stack import leading_chain, stack_fins
from ser.model import build_ser_model, inference_model, load_fins


def _frames(rng, n=48):
    t = np.arange(2048) / 22050.0
    f0 = rng.uniform(80, 400, size=(n, 1))
    tones = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6))
    frames = 0.1 * tones + 0.01 * rng.standard_normal((n, 2048))
    frames[-1] = 0.0  # a silent frame: chroma's no-normalisation branch, MFCC's floor
    return frames.astype(np.float32)


def _assert_same(outputs, fins, x):
    for out, (name, model) in zip(outputs, fins.items()):
        ref = keras.ops.convert_to_numpy(model(x))
        out = keras.ops.convert_to_numpy(out)
        scale = float(np.abs(ref).max()) or 1.0
        np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6 * scale, err_msg=name)


def test_closed_form_presets_share_one_window_dft_and_mel_bank(rng):
    fins = load_fins("pretrained", family="closed-form")
    model = stack_fins(fins)
    kinds = [type(layer) for layer in model.layers]
    assert kinds.count(FactorisedDFT) == 1 and kinds.count(FrameWindow) == 1
    assert kinds.count(Filterbank) == 1  # MFCC's mel filter bank is the mel FIN's
    x = _frames(rng)
    _assert_same(model(x), fins, x)


def test_fins_that_differ_share_nothing_past_the_difference(rng):
    mel, chroma = fin.load_preset("mel"), fin.load_preset("chroma")
    other = keras.models.clone_model(mel)
    other.set_weights(mel.get_weights())
    dft = other.get_layer("dft")
    stage1 = dft.stage1.numpy()
    stage1[0, 1, 1] += 1e-3  # one DFT weight moved, as fine-tuning would
    dft.stage1.assign(stage1)
    fins = {"chroma": chroma, "mel": other}
    model = stack_fins(fins)
    dfts = [layer for layer in model.layers if isinstance(layer, FactorisedDFT)]
    assert len(dfts) == 1  # chroma's; the other DFT runs inside the changed FIN's own rest
    assert [type(layer) for layer in model.layers].count(FrameWindow) == 1  # the windows are still equal
    x = _frames(rng)
    _assert_same(model(x), fins, x)
    assert not np.allclose(keras.ops.convert_to_numpy(model(x)[1]), keras.ops.convert_to_numpy(mel(x)), rtol=1e-4)


def test_learned_presets_run_as_they_are(rng):
    fins = load_fins("pretrained", family="learned")
    model = stack_fins(fins)
    assert not any(isinstance(layer, FactorisedDFT) for layer in model.layers)
    x = _frames(rng)
    _assert_same(model(x), fins, x)


def test_leading_chain_stops_where_a_branch_joins():
    names = [layer.name for layer, _ in leading_chain(fin.load_preset("chroma"))]
    assert names == ["window", "dft", "magnitude"]  # the filter bank takes the magnitudes and the tuning
    chain = leading_chain(fin.load_preset("mel"))
    assert [layer.name for layer, _ in chain] == ["window", "dft", "power", "mel"] and chain[-1][1] is None


def test_bad_stacks_are_refused():
    with pytest.raises(FINError, match="at least one FIN"):
        stack_fins({})
    small = keras.Model(x := keras.Input((16,)), keras.layers.Dense(1)(x))
    with pytest.raises(FINError, match="different inputs"):
        stack_fins({"rms": fin.load_preset("rms"), "small": small})


def test_inference_model_predicts_as_the_ser_model(rng):
    model = build_ser_model(7, freeze="all", n_frames=6, pooling="stats", compress="log", head="mlp", seed=0)
    fast = inference_model(model)
    shared = fast.get_layer("fin_stack_shared").get_layer("shared_fins")
    assert sum(isinstance(layer, FactorisedDFT) for layer in shared.layers) == 1
    clips = _frames(rng, 24).reshape(4, 6, 2048)
    clips[1, 4:] = 0.0  # padding: the frame mask
    np.testing.assert_allclose(fast.predict_on_batch(clips), model.predict_on_batch(clips), rtol=1e-4, atol=1e-6)
