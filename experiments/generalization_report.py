"""The outputs of :mod:`experiments.generalization`: the stdout table, the JSON, and the report folder.

Everything here works on the plain results (the dicts :func:`experiments.generalization.main` collects), never on
models or audio, so a report can be rewritten from ``results.json`` and the measurement stays apart from how it
is shown. The report folder holds ``README.md`` (the tables, links to the plots), ``results.json`` and PNGs:
per-coefficient R² of chroma, MFCC and mel (``<corpus>_<feature>_r2.png``), FIN output against target on one
utterance (``<corpus>_<feature>_utterance.png``), error against frame energy (``<corpus>_energy.png``) and on
band-limited input (``<corpus>_band_limited.png``). Every file is written under a temporary name and moved into
place.
"""

import json
import math
from pathlib import Path

import numpy as np

from data_prep.atomic import atomic_write

#: Features whose per-coefficient R² gets a bar plot in the report.
PER_OUTPUT_PLOTS = ("chroma", "mfcc", "mel")


def format_table(corpora, fins=None):
    """The stdout table: one row per corpus and feature (R², variance-weighted R², MSE, frames).

    Examples
    --------
    >>> print(format_table({"demo": {"rms": {"r2": 0.99, "r2_vw": 0.99, "mse": 1e-6, "frames": 10}}}))
    corpus       feature       R²    R² vw         MSE     frames
    demo         rms       0.9900   0.9900   1.000e-06         10
    """
    lines = [f"{'corpus':<12} {'feature':<8} {'R²':>7} {'R² vw':>8} {'MSE':>11} {'frames':>10}"]
    for name, features in corpora.items():
        if not features:
            lines.append(f"{name:<12} {'-':<8} {'no readable files':>39}")
        for feature, m in features.items():
            lines.append(f"{name:<12} {feature:<8} {_num(m['r2'], '7.4f')} {_num(m['r2_vw'], '8.4f')} "
                         f"{_num(m['mse'], '11.3e')} {m['frames']:>10}")  # fmt: skip
    return "\n".join(lines)


def _num(value, fmt):
    width = int(fmt.split(".")[0])
    if value is None or not math.isfinite(value):
        return f"{'n/a':>{width}}"
    if fmt.endswith("f") and abs(value) >= 1e4:  # a diverged FIN: keep the column width
        return format(value, f"{width}.2e")
    return format(value, fmt)


def _short(value):
    """An R² for a bar label: 3 decimals, or 3 significant digits when far below 0."""
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.3g}"


def _finite(value):
    """``value`` with every non-finite float replaced by ``None`` (JSON has no NaN), numpy scalars as Python's."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_json(path, data):
    """Write ``data`` as indented JSON (non-finite numbers as ``null``), atomically."""
    text = json.dumps(_finite(data), indent=2) + "\n"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _metric_of(feature):
    from fin import get_feature

    return get_feature(feature).metric


def energy_plot(energy, path, corpus=""):
    """Grouped bars: per energy bin, each feature's MSE over the corpus-wide target variance (log scale)."""
    from fin.plots import plt, save_figure

    features = list(energy["features"])
    bins = energy["bins"]
    frames = energy["frames"] or [0] * len(bins)
    x = np.arange(len(bins))
    width = 0.8 / max(1, len(features))
    fig, ax = plt.subplots(figsize=(8, 3.8))
    for k, f in enumerate(features):
        key = "nmse_vw" if _metric_of(f) == "r2_vw" else "nmse"
        values = np.array([np.nan if v is None else max(v, 1e-12) for v in energy["features"][f][key]])
        ax.bar(x + (k - (len(features) - 1) / 2) * width, values, width, label=f + (" (vw)" if key == "nmse_vw" else ""))
    ax.set_yscale("log")
    ax.set_xticks(x, [f"{b} dBFS\n{n} frames" for b, n in zip(bins, frames)])
    ax.set(ylabel="MSE / corpus target variance", title=f"{corpus}: error against frame energy".strip(": "))
    ax.axhline(0.03, color="k", lw=0.8, ls="--", label="R² 0.97 level")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save_figure(fig, path)


def band_limited_plot(band, path, corpus=""):
    """Bars per feature: R² (mel: variance-weighted) full-band and band-limited, on the same files."""
    from fin.plots import plt, save_figure

    features = list(band["features"])
    full, limited = [], []
    for f in features:
        key = _metric_of(f)
        full.append(band["features"][f]["full_band"][key])
        limited.append(band["features"][f][key])
    full = np.array([np.nan if v is None else v for v in full], dtype=float)
    limited = np.array([np.nan if v is None else v for v in limited], dtype=float)
    x = np.arange(len(features))
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for offset, values, name in ((-0.2, full, "full band"), (0.2, limited, f"via {band['via_sr'] // 1000} kHz")):
        ax.bar(x + offset, np.clip(values, -1, 1), 0.4, label=name)
        for xi, v in zip(x + offset, values):
            if np.isfinite(v):
                ax.annotate(_short(v), (xi, max(min(v, 1), -1)), ha="center", va="bottom", fontsize=7)
    low = np.nanmin(np.concatenate([full, limited, [0.0]])) if len(features) else 0.0
    ax.set_xticks(x, [f + (" (vw)" if _metric_of(f) == "r2_vw" else "") for f in features])
    ax.set(ylabel="R²", ylim=(max(-1.0, low) - 0.05, 1.08),
           title=f"{corpus}: band-limited input ({band['files']} files)".strip(": "))  # fmt: skip
    ax.axhline(0.97, color="k", lw=0.8, ls="--", label="0.97")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save_figure(fig, path)


def write_plots(out, name, corpus_result):
    """Every PNG of one corpus into ``out``; returns ``{kind: [file names]}`` for the README."""
    from fin import plots

    files = {"r2": [], "utterance": [], "energy": [], "band_limited": []}
    metrics = corpus_result["metrics"]
    for f in PER_OUTPUT_PLOTS:
        if f in metrics:
            target = out / f"{name}_{f}_r2.png"
            per_output = np.array([np.nan if v is None else v for v in metrics[f]["per_output"]], dtype=float)
            atomic_write(target, lambda tmp, p=per_output, f=f: plots.r2_bars(np.nan_to_num(p, nan=-1.0), tmp, feature=f"{name} {f}"))
            files["r2"].append(target.name)
    if corpus_result["example"] is not None:
        _, targets, outputs = corpus_result["example"]
        for f in outputs:
            target = out / f"{name}_{f}_utterance.png"
            atomic_write(target, lambda tmp, f=f: plots.utterance_comparison(targets[f], outputs[f], tmp, feature=f))
            files["utterance"].append(target.name)
    if corpus_result["energy"]["features"]:
        target = out / f"{name}_energy.png"
        atomic_write(target, lambda tmp: energy_plot(corpus_result["energy"], tmp, name))
        files["energy"].append(target.name)
    if corpus_result["band_limited"]["features"]:
        target = out / f"{name}_band_limited.png"
        atomic_write(target, lambda tmp: band_limited_plot(corpus_result["band_limited"], tmp, name))
        files["band_limited"].append(target.name)
    return files


def _fmt(value, spec=".4f"):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if spec.endswith("f") and abs(value) >= 1e4:  # a diverged FIN
        return format(value, ".2e")
    return format(value, spec)


def format_report(results, plot_files):
    """The report's README.md: command, FINs, the tables and links to every plot."""
    config = results["config"]
    via_sr = config["band_limit_via_sr"]
    lines = ["# FIN generalisation report", "", "```", config["command"], "```", "",
             "Targets: the seed's per-frame librosa calls (target set `seed`) on every 2048-sample frame (hop 512) of "
             "each file loaded at 22,050 Hz, no augmentation. R² is scikit-learn's `r2_score` over all frames of a "
             "corpus: uniform average over outputs (R²) and variance-weighted (R² vw). Machine-readable: "
             "[results.json](results.json).", "", "## FINs", "", "| feature | arch | params | source |", "|---|---|---:|---|"]
    for f, d in results["fins"].items():
        lines.append(f"| {f} | {d['arch']} | {d['params']:,} | `{d['source']}` |")
    lines += ["", "## R² per corpus and feature", "", "| corpus | feature | R² | R² vw | MSE | frames |",
              "|---|---|---:|---:|---:|---:|"]
    for name, features in results["corpora"].items():
        for f, m in features.items():
            lines.append(f"| {name} | {f} | {_fmt(m['r2'])} | {_fmt(m['r2_vw'])} | {_fmt(m['mse'], '.3e')} | {m['frames']} |")
    lines += ["", "| corpus | root | discovered | evaluated | read | skipped |", "|---|---|---:|---:|---:|---:|"]
    for name, c in results["files"].items():
        lines.append(f"| {name} | `{c['root']}` | {c['discovered']} | {c['evaluated']} | {c['read']} | {c['skipped']} |")

    lines += ["", "## Per-coefficient R²", ""]
    for name, files in plot_files.items():
        lines += [f"![{Path(p).stem}]({p})" for p in files["r2"]]
    lines += ["", "## FIN output against the librosa target, one utterance", ""]
    for name, files in plot_files.items():
        example = results["examples"].get(name)
        if example:
            lines.append(f"{name}: `{example}`")
            lines.append("")
        lines += [f"![{Path(p).stem}]({p})" for p in files["utterance"]]
        lines.append("")

    lines += ["", "## Error against frame energy", "",
              "Frames binned by their RMS in dBFS (20 log10 rms, full scale 1.0). nMSE: the bin's MSE of each output "
              "over that output's variance across the whole corpus, averaged over outputs (mel: summed before "
              "dividing, as R² vw); 1 - nMSE is the R² the corpus would have if every frame erred as in that bin. "
              "R² in bin: R² within the bin's frames only (harsh where the bin's targets hardly vary).", ""]
    for name, energy in results["energy"].items():
        if not energy["features"]:
            continue
        bins = energy["bins"]
        lines += [f"**{name}** (frames per bin: " + ", ".join(f"{b} dBFS: {n}" for b, n in zip(bins, energy["frames"])) + ")", "",
                  "| feature | " + " | ".join(f"nMSE {b}" for b in bins) + " | " + " | ".join(f"R² in {b}" for b in bins) + " |",
                  "|---|" + "---:|" * (2 * len(bins))]  # fmt: skip
        for f, d in energy["features"].items():
            key = "nmse_vw" if _metric_of(f) == "r2_vw" else "nmse"
            r2key = "r2_vw" if key == "nmse_vw" else "r2"
            lines.append(f"| {f}{' (vw)' if key == 'nmse_vw' else ''} | " + " | ".join(_fmt(v, '.2e') for v in d[key]) + " | "
                         + " | ".join(_fmt(v, '.3f') for v in d[r2key]) + " |")  # fmt: skip
        lines.append("")
        lines += [f"![{name} energy]({p})" for p in plot_files.get(name, {}).get("energy", [])]
        lines.append("")

    lines += ["## Band-limited input", "",
              f"Every k-th file resampled 22,050 -> {via_sr:,} -> 22,050 Hz (librosa.resample), which leaves "
              f"nothing above {via_sr // 2000} kHz, with its targets recomputed on the band-limited signal; the "
              "full-band columns are the same files unchanged.", "",
              "| corpus | files | feature | R² | R² vw | R² full band | R² vw full band | frames |",
              "|---|---:|---|---:|---:|---:|---:|---:|"]
    for name, band in results["band_limited"].items():
        for f, d in band["features"].items():
            lines.append(f"| {name} | {band['files']} | {f} | {_fmt(d['r2'])} | {_fmt(d['r2_vw'])} | "
                         f"{_fmt(d['full_band']['r2'])} | {_fmt(d['full_band']['r2_vw'])} | {d['frames']} |")  # fmt: skip
    lines.append("")
    for name, files in plot_files.items():
        lines += [f"![{name} band-limited]({p})" for p in files["band_limited"]]

    skipped = [(name, s) for name, items in results["skipped"].items() for s in items]
    lines += ["", "## Skipped files", ""]
    if not skipped:
        lines.append("None.")
    else:
        lines += ["| corpus | stage | file | reason |", "|---|---|---|---|"]
        lines += [f"| {name} | {s['stage']} | `{s['path']}` | {s['reason'].replace('|', '/')} |" for name, s in skipped]
    return "\n".join(lines) + "\n"


def write_report(out, results, corpus_results):
    """Write README.md, results.json and every PNG into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plot_files = {name: write_plots(out, name, r) for name, r in corpus_results.items()}
    write_json(out / "results.json", results)
    text = format_report(results, plot_files)
    atomic_write(out / "README.md", lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return out
