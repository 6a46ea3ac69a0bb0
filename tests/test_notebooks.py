"""The walkthrough notebooks (notebooks/NN_*.py) run end to end in their quick settings, show their plots and
write the files they promise."""

import importlib.util
import json
import os
from pathlib import Path

import pytest

pytest.importorskip("jupytext")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]


def _renderer():
    spec = importlib.util.spec_from_file_location("notebooks_render", ROOT / "notebooks" / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render = _renderer()
NOTEBOOKS = [p.stem for p in render.sources()]

# per notebook: files it writes under its output folder, and the fewest plots (PNG outputs) it shows
PROMISES = {
    "01_imitate_a_feature": (["demo.h5", "training.png", "utterance.png", "summary.json"], 2),
    "02_fins_in_your_model": (["demo.h5", "training.png", "export_parity.png", "frame_emotion.keras",
                               "frame_emotion.tflite", "frame_emotion.tflite.json", "frame_emotion.onnx",
                               "frame_emotion.onnx.json", "chroma.tflite", "chroma.tflite.json", "summary.json"], 2),
    "03_emotion_recognition": (["finetune/metrics.json", "finetune/ser_model.json", "finetune/confusion.png",
                                "confusion.png", "four_emotions.wav", "timeline.json", "timeline.png", "summary.json"],
                               2),
    "04_generalisation": (["results.json", "report/README.md", "r2.png", "summary.json"], 4),
}


def test_every_notebook_is_listed():
    assert NOTEBOOKS == sorted(PROMISES)


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    """One output folder for all four, as `make notebooks` uses: the quick demo corpus is generated once."""
    return tmp_path_factory.mktemp("notebooks")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_and_shows_its_plots(name, out):
    import nbformat

    env = dict(os.environ, FIN_NOTEBOOK_QUICK="1", FIN_NOTEBOOK_OUT=str(out / "runs"), PYTHONPATH=str(ROOT),
               FIN_DEMO_DIR=str(out / "demo_corpus"), FIN_CACHE_DIR=str(out / "cache"), TF_CPP_MIN_LOG_LEVEL="2")
    path, seconds = render.render(ROOT / "notebooks" / f"{name}.py", out / "ipynb", env=env, timeout=300)
    print(f"{name}: {seconds:.1f} s")

    notebook = nbformat.read(path, as_version=4)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    files, min_plots = PROMISES[name]
    plots = sum("image/png" in o.get("data", {}) for o in outputs)
    assert plots >= min_plots, f"{name} showed {plots} plot(s), expected at least {min_plots}"
    folder = out / "runs" / name
    for file in files:
        assert (folder / file).is_file(), f"{name} did not write {file}"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["quick"] is True
    if name == "01_imitate_a_feature":  # the run folder of the feature's default learned architecture
        run = folder / f"{summary['feature']}-{summary['arch']}"
        assert (run / "model.keras").is_file() and (run / "metrics.json").is_file()
    if name == "02_fins_in_your_model":
        assert summary["exports"] == {"tflite": True, "onnx": True} and summary["chroma_tflite"] is True
    if name == "03_emotion_recognition":
        assert summary["timeline_windows"] >= 2
    if name == "04_generalisation":  # the presets are librosa's closed form, on any corpus
        assert summary["plots"] >= 3 and min(summary["r2"].values()) > 0.99
