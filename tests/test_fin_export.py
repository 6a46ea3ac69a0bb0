"""fin.export: TFLite and ONNX exports against Keras, the chroma tuning estimate without float64, the tuning-flip
rule, the CLI's files and exit codes, unsupported ops."""

import json

import keras
import numpy as np
import pytest

import fin
from fin import FINError
from fin import export as fe
from fin import ops as fops
from tests.conftest import SHARED_DATA

pytest.importorskip("tf2onnx")
pytest.importorskip("onnxruntime")

FORMATS = tuple(fe.FORMATS)
# small and fast, and between them every family of layers: Dense (paper), Conv1D + BatchNorm + Destandardize
# (compact), window + factorised DFT + mel + dB + DCT (spectral); chroma spectral has its own tests below
CASES = [("rms", "paper"), ("rms", "compact"), ("mfcc", "spectral")]


def _model(feature, arch):
    return fin.build_model(feature, arch, init="closed-form" if arch == "spectral" else "random", seed=0)


def _predict(model, frames):
    return keras.ops.convert_to_numpy(model(frames, training=False))


@pytest.fixture(scope="module")
def frames():
    """48 frames: real speech from the shared corpora when present, else synthetic speech."""
    frames, _ = fe.parity_frames(48, corpora={name: SHARED_DATA / name for name in ("emodb", "ravdess")})
    return frames


@pytest.fixture(scope="module")
def chroma():
    return _model("chroma", "spectral")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("feature,arch", CASES)
def test_export_matches_keras(fmt, feature, arch, frames, tmp_path):
    model = _model(feature, arch)
    out = tmp_path / f"model{fe.FORMATS[fmt].suffix}"
    report = fe.export_model(model, fmt, out, frames, model_spec="spec")
    assert report["passed"] and report["frames"] == len(frames)
    assert report["max_rel_error"] < 1e-5  # measured 1e-7 .. 2e-6 over every architecture
    assert report["tolerance"] == pytest.approx(fe.DEFAULT_RTOL * np.abs(_predict(model, frames)).max())
    assert json.loads((tmp_path / f"{out.name}.json").read_text()) == report
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, f"{out.name}.json"])  # no temporary left
    # the batch dimension is dynamic: batches of 5, 5 and 2 frames give the Keras outputs
    np.testing.assert_allclose(fe.FORMATS[fmt].run(out, frames[:12], batch_size=5), _predict(model, frames[:12]),
                               atol=1e-5 * report["output_scale"])


def test_tflite_tuning_estimate_equals_the_layer(chroma, frames):
    """The float32 TuningEstimate that TFLite gets picks the layer's histogram bin on every frame (in TensorFlow)."""
    graph, notes = fe.tflite_graph(chroma)
    assert notes and graph.get_layer("tuning") is not chroma.get_layer("tuning")
    assert graph.get_layer("dft") is chroma.get_layer("dft")  # every other layer, and its weights, is shared
    original = keras.Model(chroma.input, chroma.get_layer("tuning").output)
    lowered = keras.Model(graph.input, graph.get_layer("tuning").output)
    np.testing.assert_array_equal(_predict(lowered, frames), _predict(original, frames))


def test_tuning_cell_table_is_exact(rng):
    lo, hi = fops.piptrack_bins()
    thresholds, first = fops.tuning_cell_table(lo, hi)
    edges = fops.float32_ceil(fops.tuning_edges(0.01))
    k = rng.integers(lo, hi, 5000)
    shift = rng.uniform(-1, 1, 5000).astype(np.float32)
    at = thresholds[k - lo, rng.integers(0, thresholds.shape[1], 5000)]
    keep = np.isfinite(at)  # each threshold and the float32 just below it: the cell changes exactly there
    k = np.concatenate([k, k[keep], k[keep]])
    shift = np.concatenate([shift, at[keep], np.nextafter(at[keep], np.float32(-2))])
    from_table = first[k - lo] + (shift[:, None] >= thresholds[k - lo]).sum(axis=1)
    np.testing.assert_array_equal(from_table, fops.tuning_cells(k, shift, 22050, 2048, edges, 12))


@pytest.mark.parametrize("fmt", FORMATS)
def test_chroma_spectral_export(fmt, chroma, frames, tmp_path):
    report = fe.export_model(chroma, fmt, tmp_path / f"chroma.{fmt}", frames)
    assert report["passed"] and report["tuning_flips"] <= report["allowed_tuning_flips"]
    assert report["max_abs_error_excluding_tuning_flips"] < 1e-5


def _with_tuning(model, frames, index):
    """The Keras chroma of ``frames`` computed with the given tuning bins."""
    magnitudes = _predict(keras.Model(model.input, model.get_layer("magnitude").output), frames)
    raw = model.get_layer("chroma_filterbank")([magnitudes, np.asarray(index, np.int32)])
    return keras.ops.convert_to_numpy(model.get_layer("chroma")(raw))


def test_tuning_flip_is_explained_and_capped(chroma, frames):
    index = _predict(keras.Model(chroma.input, chroma.get_layer("tuning").output), frames)
    voiced = np.flatnonzero(index != fe.tuning_layers(chroma)[0]._zero_index)[:2]
    flipped = index.copy()
    flipped[voiced] = (flipped[voiced] + 7) % 100
    one_flip = _predict(chroma, frames)
    one_flip[voiced[0]] = _with_tuning(chroma, frames[voiced[:1]], flipped[voiced[:1]])[0]
    report = fe.check_parity(chroma, one_flip, frames)
    assert report["passed"] and report["tuning_flips"] == 1 and report["allowed_tuning_flips"] == 1
    assert report["max_abs_error"] > 1e-3 > 1e-5 > report["max_abs_error_excluding_tuning_flips"]
    # more flips than allowed (1 % of 48 frames: at least one) fail, and so does a frame no tuning bin explains
    two_flips = _with_tuning(chroma, frames, flipped)
    assert not fe.check_parity(chroma, two_flips, frames)["passed"]
    noisy = _predict(chroma, frames)
    noisy[voiced[0]] += 0.01
    report = fe.check_parity(chroma, noisy, frames)
    assert not report["passed"] and report["tuning_flips"] == 0 and report["frames_over_tolerance"] == 1


def test_cli_writes_file_and_json(tiny_store, tmp_path, capsys):
    _model("rms", "compact").save(tmp_path / "rms.keras")
    out = tmp_path / "export" / "rms.onnx"
    assert fe.main(["--model", str(tmp_path / "rms.keras"), "--format", "onnx", "--out", str(out), "--data",
                    str(tiny_store), "--frames", "16"]) == 0
    report = json.loads((out.parent / "rms.onnx.json").read_text())
    assert out.is_file() and report["passed"] is True
    assert {"model", "format", "frames", "max_abs_error", "max_rel_error", "tolerance", "passed"} <= set(report)
    assert report["model"] == str(tmp_path / "rms.keras") and report["format"] == "onnx" and report["frames"] == 16
    assert "split test" in report["frames_source"]
    assert "PASSED" in capsys.readouterr().out


def test_cli_synthetic_frames_and_atol(tmp_path):
    fin.build_model("zcr", "spectral", init="closed-form").save(tmp_path / "zcr.keras")
    out = tmp_path / "zcr.tflite"
    assert fe.main(["--model", str(tmp_path / "zcr.keras"), "--format", "tflite", "--out", str(out), "--frames", "8",
                    "--atol", "1e-6"]) == 0
    report = json.loads((tmp_path / "zcr.tflite.json").read_text())
    assert report["frames_source"].startswith("synthetic") and report["tolerance"] == 1e-6
    assert report["max_abs_error"] == 0.0  # a count of sign changes: exact in both


def test_cli_fails_loudly_on_a_corrupted_export(tmp_path, monkeypatch, capsys):
    run = fe.FORMATS["onnx"].run
    monkeypatch.setitem(fe.FORMATS, "onnx", fe.ExportFormat("onnx", ".onnx", fe.to_onnx,
                                                            lambda path, frames: run(path, frames) * 1.01, "noisy"))
    _model("rms", "compact").save(tmp_path / "rms.keras")
    out = tmp_path / "rms.onnx"
    out.write_bytes(b"an earlier export")
    args = ["--model", str(tmp_path / "rms.keras"), "--format", "onnx", "--out", str(out), "--frames", "8"]
    assert fe.main(args) == 1
    assert "FAILED" in capsys.readouterr().err
    assert out.read_bytes() == b"an earlier export"  # left as it was
    report = json.loads((tmp_path / "rms.onnx.failed.json").read_text())
    assert report["passed"] is False and report["max_rel_error"] > fe.DEFAULT_RTOL
    assert (tmp_path / "rms.onnx.failed").stat().st_size > 1000
    names = ["rms.keras", "rms.onnx", "rms.onnx.failed", "rms.onnx.failed.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names


def test_parity_frames_come_from_the_corpora_given(ravdess_tree):
    frames, source = fe.parity_frames(16, corpora={"ravdess": ravdess_tree})
    assert frames.shape == (16, 2048) and "ravdess" in source and str(ravdess_tree) in source
    assert fe.parity_frames(4, corpora={"ravdess": ravdess_tree / "missing"})[1].startswith("synthetic")


@pytest.mark.parametrize("args,message", [
    (["--model", "M", "--format", "onnx", "--corpus", "ravdess=/no/such/folder"], "/no/such/folder"),
    (["--model", "no-such-model", "--format", "onnx"], "no-such-model"),
    (["--model", "rms-missing.keras", "--format", "tflite"], "rms-missing.keras"),
    (["--model", "M", "--format", "coreml"], "coreml"),
    (["--model", "M", "--format", "onnx", "--frames", "0"], "--frames"),
    (["--model", "M", "--format", "onnx", "--atol", "-1"], "--atol"),
])
def test_cli_bad_arguments_exit_2(args, message, tmp_path, capsys):
    _model("rms", "paper").save(tmp_path / "M.keras")
    args = [a.replace("M", str(tmp_path / "M.keras")) if a == "M" else a for a in args]
    with pytest.raises(SystemExit) as exit_info:
        fe.main([*args, "--out", str(tmp_path / "out.bin")])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out.bin").exists()


def test_cli_bad_store_exits_2(tmp_path, capsys):
    _model("rms", "paper").save(tmp_path / "m.keras")
    with pytest.raises(SystemExit) as exit_info:
        fe.main(["--model", str(tmp_path / "m.keras"), "--format", "onnx", "--out", str(tmp_path / "m.onnx"),
                 "--data", str(tmp_path / "missing.h5")])
    assert exit_info.value.code == 2 and "missing.h5" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", FORMATS)
def test_unsupported_op_is_named(fmt, tmp_path):
    frame = keras.Input((2048,))
    erfinv = keras.layers.Lambda(lambda x: keras.ops.erfinv(0.5 * keras.ops.tanh(x)))
    model = keras.Model(frame, erfinv(frame), name="erfinv")
    with pytest.raises(FINError, match="Erfinv"):
        fe.export_model(model, fmt, tmp_path / "erfinv.bin", np.zeros((2, 2048), np.float32))
    assert list(tmp_path.iterdir()) == []
