"""experiments.loco: leave-one-corpus-out on two tiny corpora in different layouts (RAVDESS and a manifest CSV),
every step run once, resumed without redoing anything, results in loco.json and loco.md; bad arguments exit 2."""

import csv
import json

import pytest

from data_prep.demo import generate_demo_corpus
from experiments import loco


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    base = tmp_path_factory.mktemp("loco")
    ravdess = generate_demo_corpus(base / "ravdess", n_speakers=3, utterances_per_emotion=1, emotions=("angry", "sad"))
    other = generate_demo_corpus(base / "other", n_speakers=3, utterances_per_emotion=1, emotions=("happy", "neutral"))
    manifest = base / "manifest.csv"
    with open(manifest, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "speaker", "emotion"])
        for path in sorted(other.rglob("*.wav")):
            writer.writerow([str(path), f"m{path.parent.name[-2:]}", "happy" if "-03-" in path.name[5:9] else "neutral"])
    config = base / "fin.yaml"
    config.write_text("steps_per_epoch: 2\nvalidation_frames: 256\ntest_frames: 256\nbatch_size: 16\n")
    return {"base": base, "args": ["--corpus", f"ravdess={ravdess}", "--corpus", f"manifest={manifest}"],
            "config": config}


def test_loco_trains_on_the_others_and_measures_the_held_out(corpora, capsys):
    out = corpora["base"] / "run"
    argv = [*corpora["args"], "--recipe", "compact", "--features", "rms", "--epochs", "1",
            "--fin-config", str(corpora["config"]), "--out", str(out)]
    assert loco.main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.count("$ python -m fin.train") == 2 and printed.count("$ python -m data_prep.build") == 2
    result = json.loads((out / "loco.json").read_text())
    assert set(result["held_out"]) == {"ravdess", "manifest"}
    assert result["held_out"]["ravdess"]["trained_on"] == ["manifest"]
    assert result["held_out"]["manifest"]["trained_on"] == ["ravdess"]
    for held in ("ravdess", "manifest"):
        entry = result["held_out"][held]["features"]["rms"]
        assert set(entry) == {"r2", "r2_vw", "mse", "frames"} and entry["frames"] > 100
        # the generalization run measured the held-out corpus only
        gen = json.loads((out / held / "gen.json").read_text())
        assert list(gen["corpora"]) == [held]
        assert (out / held / "report" / "README.md").is_file()
    table = (out / "loco.md").read_text()
    assert "| ravdess (trained on manifest) |" in table and "| manifest (trained on ravdess) |" in table

    # a second run finds every output and redoes nothing, with the same results
    assert loco.main(argv) == 0
    assert "$ python" not in capsys.readouterr().out
    assert json.loads((out / "loco.json").read_text()) == result


@pytest.mark.parametrize("extra, message", [
    (["--corpus", "ravdess=/nonexistent"], "at least two"),
    (["--corpus", "ravdess=/a", "--corpus", "ravdess=/b"], "twice"),
    (["--corpus", "ravdess=/a", "--corpus", "tess=/b", "--epochs", "0"], "--epochs"),
    (["--corpus", "nosuch=/a", "--corpus", "tess=/b"], "nosuch"),
])
def test_bad_arguments_exit_2(tmp_path, extra, message, capsys):
    with pytest.raises(SystemExit) as exc:
        loco.main([*extra, "--out", str(tmp_path)])
    assert exc.value.code == 2 and message in capsys.readouterr().err
