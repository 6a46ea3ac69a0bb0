"""Fast fine-tuning: in-graph framing, frame subsampling, FIN families, temporal blocks and functionals pooling.

The fast path (:class:`ser.inputs.FrameInputs`) must train the same model as the plain one: same loss and gradients
on a fixed batch, FIN weights changed by a fine-tuning step and untouched by a frozen one.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ser.data import clip_frames
from ser.errors import SERError
from ser.layers import ClipFrames, FrameDeltas, FrameSubsample, FunctionalsPooling
from ser.model import FEATURE_ORDER, FRONT_END_LAYERS, build_classifier, build_ser_model, get_fins, load_fins

N_FRAMES = 8
N_SAMPLES = 7 * 512 + 100  # fewer samples than the frames span: the last frames are partly padding


@pytest.fixture(scope="module")
def clips():
    """Three speech-like clips (harmonics with a gliding pitch, plus noise), the last one short (end padding)."""
    rng = np.random.default_rng(0)
    t = np.arange(N_SAMPLES) / 22050
    out = []
    for k in range(3):
        phase = 2 * np.pi * np.cumsum(110 + 40 * k + 30 * np.sin(2 * np.pi * 2 * t)) / 22050
        y = sum(np.sin(h * phase) / h for h in range(1, 12)) * 0.2 + 0.01 * rng.standard_normal(t.size)
        out.append(y.astype(np.float32))
    out[2][N_SAMPLES // 2 :] = 0.0
    return np.stack(out)


def _on_clips(model, stride=1, seed=0):
    from ser.inputs import on_clips

    return on_clips(model, N_FRAMES, N_SAMPLES, stride, seed)


def _loss_and_grads(model, x, y):
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    return float(loss), [tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, model.trainable_variables)]


@pytest.mark.parametrize("n_samples", [N_SAMPLES, 3000, 5000])
def test_clip_frames_layer_equals_the_numpy_framing(n_samples, clips):
    x = np.resize(clips, (3, n_samples)).astype(np.float32)
    got = keras.ops.convert_to_numpy(ClipFrames(N_FRAMES)(x))
    np.testing.assert_array_equal(got, clip_frames(x, N_FRAMES))  # a copy of the same samples: bit for bit


def test_fast_path_gives_the_plain_models_loss_and_gradients(clips):
    keras.utils.set_random_seed(0)
    model = build_ser_model(4, freeze="none", n_frames=N_FRAMES, pooling="stats", head="mlp", compress="log", seed=0)
    y = np.array([0, 1, 3])
    # dropout off in both (the mlp head's dropout draws differ between two calls), so the two runs are comparable
    model.get_layer("classifier").get_layer("head_drop").rate = 0.0
    loss_plain, grads_plain = _loss_and_grads(model, clip_frames(clips, N_FRAMES), y)
    loss_fast, grads_fast = _loss_and_grads(_on_clips(model), clips, y)
    assert loss_fast == pytest.approx(loss_plain, rel=1e-5)
    assert len(grads_fast) == len(grads_plain) == len(model.trainable_variables)
    for g_fast, g_plain, v in zip(grads_fast, grads_plain, model.trainable_variables):
        scale = np.abs(g_plain).max() + 1e-12
        assert np.abs(g_fast - g_plain).max() <= 1e-4 * scale, v.path


def test_frame_subsample_keeps_strided_frames_in_training_only():
    frames = np.arange(2 * 8 * 3, dtype=np.float32).reshape(2, 8, 3)
    layer = FrameSubsample(4, seed=0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(frames)), frames)  # inference: all frames
    seen = set()
    for _ in range(20):
        kept = keras.ops.convert_to_numpy(layer(frames, training=True))
        assert kept.shape == (2, 2, 3)
        for clip in range(2):
            index = (kept[clip, :, 0] - frames[clip, 0, 0]) / 3
            assert index[1] - index[0] == 4 and 0 <= index[0] < 4  # every 4th frame from a phase in 0..3
            seen.add(int(index[0]))
    assert len(seen) > 1  # the phase varies


@pytest.mark.parametrize("freeze, changed", [("none", FEATURE_ORDER), ("all", ()), ("mel", ("zcr", "chroma", "mfcc", "rms"))])
def test_a_training_step_changes_exactly_the_unfrozen_fins(freeze, changed, clips):
    keras.utils.set_random_seed(0)
    model = build_ser_model(3, freeze=freeze, n_frames=None, pooling="stats", head="mlp", compress="log", seed=0)
    fit_model = _on_clips(model, stride=4)
    fit_model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", jit_compile=True)
    before = {f: [w.numpy().copy() for w in fin.weights] for f, fin in get_fins(model).items()}
    fit_model.train_on_batch(clips, np.array([0, 1, 2]))
    for f, fin in get_fins(model).items():
        moved = any(not np.array_equal(a, w.numpy()) for a, w in zip(before[f], fin.weights))
        assert moved == (f in changed), f


@pytest.mark.parametrize("family", ["closed-form", "learned"])
def test_a_frozen_front_end_keeps_its_weights_while_the_rest_of_the_fins_trains(family, clips):
    keras.utils.set_random_seed(0)
    model = build_ser_model(3, family=family, freeze="none", front_end="frozen", n_frames=None, pooling="stats",
                            head="mlp", compress="log", seed=0)
    fit_model = _on_clips(model, stride=4)
    fit_model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", jit_compile=False)
    fins = get_fins(model)
    before = {(fin.name, w.path): w.numpy().copy() for fin in fins.values() for w in fin.weights}  # paths repeat across FINs
    fit_model.train_on_batch(clips, np.array([0, 1, 2]))
    front, rest = [], []
    for fin in fins.values():
        for layer in fin.layers:
            moved = [not np.array_equal(before[fin.name, w.path], w.numpy()) for w in layer.weights]
            (front if layer.name in FRONT_END_LAYERS else rest).extend(moved)
    assert front and not any(front)  # every front-end weight as it was
    assert sum(rest) >= 3  # the filter banks and projections after the front end trained
    assert not any(w.path.split("/")[-1] in ("window", "stage1", "twiddle", "stage2") for w in model.trainable_weights)


def test_learned_and_folder_fin_families(tmp_path):
    learned = load_fins("pretrained", family="learned")
    assert {f: m.name for f, m in learned.items()}["mel"] == "mel_quadratic"
    random = load_fins("random", seed=0, family="learned")
    assert all(m.name.endswith("_quadratic") for m in random.values())
    w_learned = learned["mel"].get_layer("basis").get_weights()[0]
    assert not np.allclose(w_learned, random["mel"].get_layer("basis").get_weights()[0])
    for f in FEATURE_ORDER:  # a folder of one's own FINs: <feature>.keras
        learned[f].save(tmp_path / f"{f}.keras")
    folder = load_fins("pretrained", family=str(tmp_path))
    np.testing.assert_array_equal(folder["mel"].get_layer("basis").get_weights()[0], w_learned)
    assert load_fins("random", seed=0, family=str(tmp_path))["mel"].name == "mel_quadratic"
    (tmp_path / "zcr.keras").unlink()
    with pytest.raises(SERError, match="lacks zcr"):
        load_fins("pretrained", family=str(tmp_path))
    with pytest.raises(SERError, match="neither a preset family"):
        load_fins("pretrained", family=str(tmp_path / "nowhere"))


def test_functionals_pooling_and_deltas_respect_the_mask(rng):
    x = rng.standard_normal((2, 6, 3)).astype(np.float32)
    mask = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=np.float32)
    pooled = keras.ops.convert_to_numpy(FunctionalsPooling()([x, mask]))
    kept = x[0, :4]
    np.testing.assert_allclose(pooled[0], np.concatenate([kept.mean(0), np.sqrt(kept.var(0) + 1e-6), kept.min(0),
                                                          kept.max(0)]), rtol=1e-5, atol=1e-6)
    deltas = keras.ops.convert_to_numpy(FrameDeltas()([x, mask]))
    np.testing.assert_allclose(deltas[0, 1:4, 3:], np.diff(x[0, :4], axis=0), rtol=1e-6, atol=1e-6)
    assert not deltas[0, 4:, 3:].any() and not deltas[:, 0, 3:].any()  # no jump into the padding, none at t = 0


@pytest.mark.parametrize("temporal", ["conv", "gru"])
def test_temporal_blocks_train_and_ignore_padding(temporal, rng):
    model = build_classifier(3, n_frames=N_FRAMES, pooling="stats", head="mlp", compress="log", deltas=True,
                             temporal=temporal, seed=0)
    x = np.abs(rng.standard_normal((4, N_FRAMES, 162))).astype(np.float32)
    mask = np.ones((4, N_FRAMES), np.float32)
    mask[0, 5:] = 0
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    loss = model.train_on_batch([x, mask], np.array([0, 1, 2, 0]))
    assert np.isfinite(loss)
    changed = x.copy()
    changed[0, 5:] = 99.0  # what lies in masked-out frames must not change the output
    out = keras.ops.convert_to_numpy(model([x, mask]))
    out_changed = keras.ops.convert_to_numpy(model([changed, mask]))
    np.testing.assert_allclose(out[0], out_changed[0], rtol=1e-5, atol=1e-6)


def test_bad_frame_stride_and_fins_options_are_refused():
    from ser.finetune import resolve

    with pytest.raises(SERError, match="temporal block"):
        resolve({"frame_stride": 4, "temporal": "conv"})
    with pytest.raises(SERError, match="--fins 'lerned'"):
        resolve({"fins": "lerned"})
    assert resolve({})["frame_stride"] == 4 and resolve({"freeze": "all"})["frame_stride"] == 1
    with pytest.raises(SERError, match="every FIN weight is frozen already"):
        resolve({"freeze": "all", "front_end": "frozen"})
    with pytest.raises(SERError, match="unknown front_end 'fixed'"):
        resolve({"front_end": "fixed"})
    assert resolve({"front_end": "frozen"})["out"].endswith("-front-end-frozen")



def test_fins_fine_tune_at_their_scaled_learning_rate(clips):
    from ser.inputs import FrameInputs

    keras.utils.set_random_seed(0)
    model = build_ser_model(3, freeze="none", n_frames=None, pooling="stats", head="mlp", compress="log", seed=0)
    inputs = FrameInputs({"fin_lr_scale": 0.01}, cache=None)
    fit_model = _on_clips(model)
    optimizer, _ = inputs.optimizer(model, {"lr": 1e-3, "fin_lr_scale": 0.01})
    fit_model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    fins = get_fins(model)
    fin_paths = {v.path for fin in fins.values() for v in fin.trainable_weights}
    before = {v.path: v.numpy().copy() for v in model.trainable_weights}
    fit_model.train_on_batch(clips, np.array([0, 1, 2]))
    # Adam's first step is lr * sign(gradient) (up to epsilon): 1e-5 for the FINs, 1e-3 for the head; a weight of
    # large magnitude moves by that step rounded to its float32 spacing
    step = {v.path: np.max(np.abs(v.numpy() - before[v.path]) - 2 * np.spacing(np.abs(before[v.path])))
            for v in model.trainable_weights}
    fin_steps = np.array([step[p] for p in fin_paths])
    # (the chroma banks are gathered per frame by tuning: a sparse gradient with repeated rows, which Adam's
    # sparse update can turn into a step somewhat above lr)
    assert fin_steps.max() <= 2e-5 and 5e-6 < np.median(fin_steps) <= 1.01e-5
    assert max(step[p] for p in step if p not in fin_paths) > 5e-4


def test_clip_batches_give_every_training_row_once_per_pass_in_a_seeded_new_order():
    from ser.inputs import clip_batches

    clips = tf.constant(np.arange(12 * 5, dtype=np.float32).reshape(12, 5))  # row r holds 5r .. 5r+4
    rows = np.array([11, 0, 3, 7, 5, 9, 2])
    labels, weights = rows % 3, rows / 10.0

    def passes(seed, n=3):
        dataset = clip_batches(clips, rows, labels, weights, batch_size=3, seed=seed)
        out = []
        for _ in range(n):
            batches = [[t.numpy() for t in b] for b in dataset]
            assert [len(b[0]) for b in batches] == [3, 3, 1]  # the last batch smaller, as fit(shuffle=True)
            x, y, w = (np.concatenate(part) for part in zip(*batches))
            seen = (x[:, 0] / 5).astype(int)
            assert sorted(seen) == sorted(rows)  # every training row once, none from outside
            np.testing.assert_array_equal(x, clips.numpy()[seen])  # the whole clip of that row
            np.testing.assert_array_equal(y, seen % 3)  # its own label and weight
            np.testing.assert_allclose(w, seen / 10.0, rtol=1e-6)
            out.append(tuple(seen))
        return out

    first = passes(seed=0)
    assert len(set(first)) > 1  # reshuffled every pass
    in_order = clip_batches(clips, rows, labels, batch_size=3, shuffle=False)  # validation: rows in order, no weights
    batches = [[t.numpy() for t in b] for b in in_order]
    assert all(len(b) == 2 for b in batches)
    np.testing.assert_array_equal(np.concatenate([b[0][:, 0] for b in batches]) / 5, rows)
    assert passes(seed=0) == first  # the same orders for the same seed
    assert passes(seed=1) != first


@pytest.mark.parametrize("stride", [2, 3, 4])
def test_strided_clip_frames_are_clip_frames_then_frame_subsample(stride, clips):
    from ser.layers import StridedClipFrames

    fused = StridedClipFrames(N_FRAMES, stride, seed=7)
    framing, subsample = ClipFrames(N_FRAMES), FrameSubsample(stride, seed=7)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(fused(clips)), clip_frames(clips, N_FRAMES))  # inference
    for _ in range(5):  # the same phase draws, call after call: the same frames bit for bit (copies of samples)
        got = keras.ops.convert_to_numpy(fused(clips, training=True))
        want = keras.ops.convert_to_numpy(subsample(framing(clips), training=True))
        assert got.shape == (3, N_FRAMES // stride, 2048)
        np.testing.assert_array_equal(got, want)
