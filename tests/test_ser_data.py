"""SER data: clips, framing, the clip cache, baseline features, folds by speaker, metrics against scikit-learn."""

import os

import librosa
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score, recall_score

from data_prep.corpora import Utterance, discover
from data_prep.demo import generate_demo_corpus
from data_prep.splits import speaker_key
from ser.data import ClipSettings, build_clip_cache, clip_frames, fit_clip
from ser.errors import SERError
from ser.features import clip_features, reference_clip_features
from ser.metrics import classification_metrics
from ser.training import DEFAULTS, class_weights, make_folds, resolve_config


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The tiny demo corpus (3 speakers x 8 emotions x 1) plus one unreadable file."""
    root = tmp_path_factory.mktemp("ser_data") / "demo"
    generate_demo_corpus(root, n_speakers=3, utterances_per_emotion=1)
    (root / "Actor_03" / "03-01-01-01-02-01-03.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio")
    return root


def test_clip_settings_give_the_seed_frame_count():
    assert ClipSettings().n_frames == 108  # 2.5 s at 22.05 kHz, centred frames of 2048 every 512
    assert ClipSettings(duration=0.6).n_frames == 26
    with pytest.raises(SERError, match="duration"):
        ClipSettings(duration=0.01)
    with pytest.raises(SERError, match="offset"):
        ClipSettings(offset=-1)


def test_fit_clip_pads_and_cuts():
    clip, n = fit_clip(np.arange(1, 6, dtype=np.float32), 8)
    assert clip.tolist() == [1, 2, 3, 4, 5, 0, 0, 0] and n == 5
    clip, n = fit_clip(np.arange(10, dtype=np.float32), 4)
    assert clip.tolist() == [0, 1, 2, 3] and n == 4


def test_clip_frames_equal_librosa_centred_framing(rng):
    clips = rng.standard_normal((2, 13230)).astype(np.float32)
    frames = clip_frames(clips)
    for clip, got in zip(clips, frames):
        padded = np.pad(clip, 1024)  # librosa's center=True with zero padding
        want = librosa.util.frame(padded, frame_length=2048, hop_length=512, axis=0)
        assert got.shape == want.shape == (26, 2048)
        np.testing.assert_array_equal(got, want)


def test_clip_cache_skips_bad_files_and_is_reused(corpus, tmp_path):
    utterances, _ = discover("ravdess", corpus)
    settings = ClipSettings(duration=0.6)
    cache = build_clip_cache(utterances, settings, seed=0, cache_dir=tmp_path, workers=1)
    assert [s["path"] for s in cache.skipped] == [str(corpus / "Actor_03" / "03-01-01-01-02-01-03.wav")]
    assert "unreadable" in cache.skipped[0]["reason"]
    assert len(cache.utterances) == len(utterances) - 1
    assert cache.copies == ["original", "noise", "stretch_pitch"] and len(cache) == 3 * len(cache.utterances)
    originals = cache.rows([0, 1])
    assert list(cache.copy[originals]) == ["original", "original"] and list(cache.source[originals]) == [0, 1]
    everything = cache.rows([0], cache.copies)
    assert list(cache.copy[everything]) == cache.copies
    clips = cache.clips(everything[::-1])  # any order
    assert clips.shape == (3, settings.n_samples)
    assert np.array_equal(clips[-1], cache.clips([everything[0]])[0])
    assert cache.frames(originals).shape == (2, 26, 2048)
    mtime = os.stat(cache.path).st_mtime_ns
    cache.close()
    again = build_clip_cache(utterances, settings, seed=0, cache_dir=tmp_path, workers=1)
    assert again.path == cache.path and os.stat(again.path).st_mtime_ns == mtime  # not rebuilt
    again.close()
    # other clip settings or no augmentation: another cache
    other = build_clip_cache(utterances, settings, augmentation={}, seed=0, cache_dir=tmp_path, workers=1)
    assert other.path != cache.path and other.copies == ["original"]
    other.close()


def test_clip_features_equal_the_seed_librosa_calls(corpus):
    path = sorted(corpus.glob("Actor_01/*.wav"))[0]
    y, _ = librosa.load(path, sr=22050, offset=0.6, duration=2.5)
    np.testing.assert_allclose(clip_features(y), reference_clip_features(y), rtol=1e-5, atol=1e-7)
    assert clip_features(y).shape == (162,)


def _utterances(n_speakers=6, corpora=("ravdess", "emodb"), per_speaker=4):
    emotions = ["angry", "sad", "happy", "neutral"]
    return [Utterance(f"/x/{c}/{s}/{k}.wav", c, f"{s:02d}", emotions[k % 4], "x")
            for c in corpora for s in range(1, n_speakers + 1) for k in range(per_speaker)]


@pytest.mark.parametrize("protocol, extra", [("loso", {}), ("speaker-kfold", {"folds": 3}), ("split", {})])
def test_folds_never_share_a_speaker(protocol, extra):
    utterances = _utterances()
    config = resolve_config({"protocol": protocol, **extra})
    folds = make_folds(utterances, config)
    assert folds
    tested = []
    for fold in folds:
        parts = {name: {speaker_key(utterances[i]) for i in getattr(fold, name)} for name in ("train", "val", "test")}
        assert parts["train"] and parts["test"]
        assert not parts["train"] & parts["test"]
        assert not parts["val"] & parts["test"]
        assert not parts["train"] & parts["val"]
        assert set(fold.test_speakers) == parts["test"]
        tested += list(fold.test)
    if protocol != "split":  # every file is tested exactly once
        assert sorted(tested) == list(range(len(utterances)))
    if protocol == "loso":
        assert len(folds) == 12 and all(":" not in f.name for f in folds)  # folder-safe names


def test_leaky_split_is_by_file_and_flagged():
    utterances = _utterances()
    config = resolve_config({"leaky_file_split": True})
    assert config["protocol"] == "split"
    (fold,) = make_folds(utterances, config)
    assert fold.name == "file-split"
    train = {speaker_key(utterances[i]) for i in fold.train}
    assert train & set(fold.test_speakers)  # leaky: speakers in training and test
    with pytest.raises(SERError, match="loso"):
        resolve_config({"leaky_file_split": True, "protocol": "loso"})


def test_config_errors_name_the_value():
    with pytest.raises(SERError, match="'jackknife'"):
        resolve_config({"protocol": "jackknife"})
    with pytest.raises(SERError, match="epochs"):
        resolve_config({"epochs": 0})
    with pytest.raises(SERError, match="colour"):
        resolve_config({"colour": "red"})
    assert set(resolve_config({})) == set(DEFAULTS)


def test_class_weights_are_sklearn_balanced():
    y = np.array([0, 0, 0, 1, 2, 2])
    w = class_weights(y, 4)
    np.testing.assert_allclose(w[:3], [6 / 9, 6 / 3, 6 / 6])
    assert w[3] == 1.0  # absent class


def test_metrics_equal_scikit_learn():
    labels = ["angry", "happy", "neutral", "sad"]
    y_true = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3, 3])
    y_pred = np.array([0, 0, 1, 3, 1, 1, 0, 2, 3, 3, 3, 2, 3, 0])
    m = classification_metrics(y_true, y_pred, labels)
    assert m["ua"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    assert m["ua"] == pytest.approx(recall_score(y_true, y_pred, average="macro"))
    assert m["wa"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert m["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert m["weighted_f1"] == pytest.approx(f1_score(y_true, y_pred, average="weighted"))
    assert m["confusion"] == confusion_matrix(y_true, y_pred).tolist()
    assert m["per_class"]["sad"]["recall"] == pytest.approx(3 / 5) and m["per_class"]["sad"]["support"] == 5
    assert m["labels"] == labels
    # hand-checked: recalls 2/4, 2/3, 1/2, 3/5
    assert m["ua"] == pytest.approx((0.5 + 2 / 3 + 0.5 + 0.6) / 4)


def test_cached_fin_features_give_the_full_frozen_models_output(corpus, tmp_path):
    """The frozen shortcut on real clips: classifier(cached FIN outputs) == ser model(frames), and the cache is reused."""
    import keras

    from ser.inputs import fin_features
    from ser.model import build_fin_stack, build_ser_model, fin_digest, load_fins

    utterances, _ = discover("ravdess", corpus)
    cache = build_clip_cache(utterances[:4], ClipSettings(), augmentation={}, cache_dir=tmp_path, workers=1)
    stack = build_fin_stack(load_fins("pretrained"), cache.settings.n_frames)
    features = fin_features(cache, stack, fin_digest(stack))
    assert features.shape == (4, 108, 162)
    model = build_ser_model(8, freeze="all", n_frames=108, seed=0)
    assert fin_digest(model.get_layer("fin_stack")) == fin_digest(stack)
    full = keras.ops.convert_to_numpy(model(cache.frames(np.arange(4)), training=False))
    masks = cache.frame_masks(np.arange(4))
    # 2.5 s clips of the demo's shorter utterances: audio first, then all-zero padding frames
    assert masks.shape == (4, 108) and masks[:, :20].all() and not masks[:, -10:].any()
    shortcut = keras.ops.convert_to_numpy(model.get_layer("classifier")([features, masks], training=False))
    np.testing.assert_allclose(shortcut, full, rtol=1e-5, atol=1e-6)
    again = fin_features(cache, None, fin_digest(stack))  # read back from disk: no model needed
    np.testing.assert_array_equal(again, features)
    cache.close()


# per-feature tolerances of librosa's frame features against the closed-form FINs (measured on all 173,340 frames
# of EMO-DB x 3 copies: zcr equal; rms within 6e-8; mel within 9e-7 of each frame's largest mel value; mfcc within
# 0.0015 dB on values up to 1131 in magnitude; chroma within 1e-4 on all but 37 frames, most of them near-silent
# (rms below 1e-16, where the max-normalised chroma is round-off), and 4 audible frames where the float32 and
# float64 tuning estimates differ)
FRAME_TOLERANCES = {
    "zcr": dict(rtol=0, atol=1e-6),  # a count / 2048: one crossing more is 4.9e-4
    "rms": dict(rtol=1e-5, atol=1e-7),  # float32 mean of squares
    "mfcc": dict(rtol=0, atol=1e-2),  # dB: float32 log of the mel powers, DCT of 128 values
}
MEL_RTOL, MEL_ATOL_OF_FRAME_MAX = 1e-3, 1e-5  # float32 FFT round-off scales with the frame's largest bin
CHROMA_ATOL, CHROMA_MAX_OFF, AUDIBLE_RMS = 1e-2, 0.01, 1e-4  # at most 1 % of audible frames off (tuning flips)


def _frame_caches(kind, corpus, shared_data_dir, tmp_path):
    if kind == "demo":
        utterances, _ = discover("ravdess", corpus)
        utterances = utterances[:4]
    else:
        utterances, _ = discover("emodb", shared_data_dir / "emodb")
        utterances = utterances[::90][:6]  # six speakers' recordings
    return build_clip_cache(utterances, ClipSettings(), augmentation={}, cache_dir=tmp_path, workers=1)


@pytest.mark.parametrize("kind", ["demo", "emodb"])
def test_librosa_frame_features_equal_the_closed_form_fins(kind, corpus, tmp_path, request):
    """ser.baseline --features frames sees what frozen closed-form FINs give ser.finetune --freeze all."""
    from data_prep.targets import FEATURE_DIMS
    from ser.features import frame_features, librosa_frame_features
    from ser.inputs import fin_features
    from ser.model import FEATURE_ORDER, build_fin_stack, fin_digest, load_fins

    shared = request.getfixturevalue("shared_data") if kind == "emodb" else None
    cache = _frame_caches(kind, corpus, shared, tmp_path)
    ours = librosa_frame_features(cache)
    stack = build_fin_stack(load_fins("pretrained"), cache.settings.n_frames)
    fins = fin_features(cache, stack, fin_digest(stack))
    assert ours.shape == fins.shape == (len(cache), 108, 162)
    audio = cache.frame_masks(np.arange(len(cache))).astype(bool)
    assert audio.sum() > 100 and (~audio).any()  # audio frames and end padding both checked
    columns = dict(zip(FEATURE_ORDER, np.split(np.arange(162), np.cumsum([FEATURE_DIMS[f] for f in FEATURE_ORDER])[:-1])))
    a = {f: ours[..., c] for f, c in columns.items()}
    b = {f: fins[..., c] for f, c in columns.items()}
    for f, tol in FRAME_TOLERANCES.items():
        np.testing.assert_allclose(a[f], b[f], **tol, err_msg=f)
    mel_scale = a["mel"].max(axis=-1, keepdims=True)
    assert np.all(np.abs(a["mel"] - b["mel"]) <= MEL_RTOL * np.abs(a["mel"]) + MEL_ATOL_OF_FRAME_MAX * mel_scale)
    audible = a["rms"][..., 0] > AUDIBLE_RMS
    chroma_err = np.abs(a["chroma"] - b["chroma"]).max(axis=-1)[audible]
    assert np.mean(chroma_err > CHROMA_ATOL) <= CHROMA_MAX_OFF and np.median(chroma_err) < 1e-5
    # read back from the cache; per clip equals batched (silent frames are computed once per batch)
    np.testing.assert_array_equal(librosa_frame_features(cache), ours)
    # one clip against a batch: other BLAS/FFT blockings (e.g. OPENBLAS_CORETYPE=Haswell) move MFCC (dB) and chroma
    # by about 1e-5; 1e-4 of a dB or of a max-normalised chroma, and 1e-4 relative for the energies
    np.testing.assert_allclose(frame_features(cache.frames([1]))[0], ours[1], rtol=1e-4, atol=1e-4)
    cache.close()


@pytest.mark.parametrize("options", [{}, {"pooling": "stats", "compress": "log", "head": "mlp", "speaker_norm": True}])
def test_the_frame_baseline_trains_the_classifier_of_frozen_fins(options, corpus, tmp_path):
    """Same options, same seed: LibrosaFrameInputs and FINFeatureInputs train the same model on their features."""
    import keras

    from ser.baseline import resolve as resolve_baseline
    from ser.finetune import resolve as resolve_finetune
    from ser.inputs import FINFeatureInputs, LibrosaFrameInputs

    utterances, _ = discover("ravdess", corpus)
    cache = build_clip_cache(utterances[:6], ClipSettings(), augmentation={}, cache_dir=tmp_path, workers=1)
    fin = FINFeatureInputs(resolve_finetune({"freeze": "all", **options}), cache)
    lib = LibrosaFrameInputs(resolve_baseline({"features": "frames", **options}), cache)
    fitted = []
    for inputs in (fin, lib):
        inputs.prepare(None)
        fitted.append(inputs.build(8, seed=0)[1])
    x = fin.example(np.arange(len(cache)))
    assert [w.shape for w in fitted[0].weights] == [w.shape for w in fitted[1].weights]
    for w0, w1 in zip(fitted[0].weights, fitted[1].weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(w0), keras.ops.convert_to_numpy(w1))
    np.testing.assert_allclose(fitted[1].predict_on_batch(x), fitted[0].predict_on_batch(x), rtol=1e-6, atol=1e-7)
    cache.close()


def test_validation_speakers_vary_per_fold():
    """EMO-DB-like LOSO (10 speakers): each fold its own validation speaker, each speaker once; reproducible."""
    utterances = _utterances(n_speakers=10, corpora=("emodb",))
    config = resolve_config({"protocol": "loso"})
    folds = make_folds(utterances, config)
    val = [tuple(sorted({speaker_key(utterances[i]) for i in f.val})) for f in folds]
    assert len(folds) == 10 and all(len(v) == 1 for v in val)  # 15 % of 9 training speakers: one
    assert sorted(v[0] for v in val) == sorted({speaker_key(u) for u in utterances})  # each speaker validates once
    assert [tuple(sorted({speaker_key(utterances[i]) for i in f.val})) for f in make_folds(utterances, config)] == val
    other = [tuple(sorted({speaker_key(utterances[i]) for i in f.val}))
             for f in make_folds(utterances, resolve_config({"protocol": "loso", "seed": 1}))]
    assert other != val  # the seed orders the speakers
    # speaker k-fold on RAVDESS-like 24 speakers: validation speakers differ between folds too
    ravdess = _utterances(n_speakers=24, corpora=("ravdess",))
    kfold = make_folds(ravdess, resolve_config({"protocol": "speaker-kfold", "folds": 6}))
    val_sets = {tuple(sorted({speaker_key(ravdess[i]) for i in f.val})) for f in kfold}
    assert len(val_sets) == 6 and all(len(v) == 3 for v in val_sets)  # 15 % of 20 training speakers
