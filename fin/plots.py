"""Plots of FIN runs: learning curves, per-output R², FIN output beside the librosa target."""

import csv

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save_figure(fig, path):
    """Lay out, write ``path`` (PNG, 110 dpi) and close the figure; returns ``path``. Shared with :mod:`ser.plots`."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def read_history(history_csv):
    """Keras' CSVLogger file as a dict column -> list of floats (columns without any value left out).

    Keras writes ``NA`` for a metric an epoch did not have (``val_loss`` when there was no validation data);
    those cells are left out. Shared with :mod:`ser.plots`.
    """
    with open(history_csv) as f:
        rows = list(csv.DictReader(f))
    columns = {key: [float(r[key]) for r in rows if r.get(key) not in (None, "", "NA")] for key in (rows[0] if rows else {})}
    return {key: values for key, values in columns.items() if values}


def learning_curves(history_csv, path, title=""):
    """Training and validation loss (log scale) and learning rate per epoch, from Keras' CSVLogger file."""
    history = read_history(history_csv)
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    for key in ("loss", "val_loss"):
        if history.get(key):
            ax[0].plot(range(1, len(history[key]) + 1), history[key], marker=".", label=key)
    lr_key = "learning_rate" if "learning_rate" in history else "lr" if "lr" in history else None
    if lr_key:
        ax[1].plot(range(1, len(history[lr_key]) + 1), history[lr_key], marker=".")
    ax[0].set(xlabel="epoch", ylabel="loss", yscale="log", title=f"{title} loss".strip())
    if ax[0].lines:
        ax[0].legend()
    ax[1].set(xlabel="epoch", ylabel="learning rate", yscale="log", title="learning rate")
    return save_figure(fig, path)


def r2_bars(per_output, path, feature=""):
    """One bar per output with its R² (clipped at -1 for display)."""
    per_output = np.asarray(per_output)
    fig, ax = plt.subplots(figsize=(max(4, 0.09 * len(per_output) + 3), 3.4))
    ax.bar(np.arange(len(per_output)), np.clip(per_output, -1, 1), color=np.where(per_output >= 0.99, "tab:green", "tab:orange"))
    ax.axhline(0.99, color="k", lw=0.8, ls="--", label="0.99")
    ax.set(xlabel="output", ylabel="R²", ylim=(min(0, per_output.min()) - 0.05, 1.02), title=f"{feature} per-output R²")
    ax.legend(loc="lower right")
    return save_figure(fig, path)


def utterance_comparison(target, output, path, feature="", seconds_per_frame=512 / 22050):
    """The librosa target beside the FIN output for one utterance: two heatmaps, or two curves for 1-D features."""
    target, output = np.asarray(target), np.asarray(output)
    t = np.arange(len(target)) * seconds_per_frame
    if target.shape[1] == 1:
        fig, ax = plt.subplots(figsize=(8, 3.2))
        ax.plot(t, target[:, 0], label="librosa")
        ax.plot(t, output[:, 0], label="FIN", ls="--")
        ax.set(xlabel="time (s)", ylabel=feature, title=f"{feature}: FIN against librosa")
        ax.legend()
        return save_figure(fig, path)
    show_t, show_o = target, output
    if feature == "mel":  # linear power spans decades: show it in dB
        show_t, show_o = 10 * np.log10(np.maximum(target, 1e-10)), 10 * np.log10(np.maximum(output, 1e-10))
    lo, hi = np.percentile(show_t, [1, 99.5])
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
    for a, data, name in zip(ax, (show_t, show_o), ("librosa", "FIN")):
        im = a.imshow(data.T, origin="lower", aspect="auto", vmin=lo, vmax=hi, extent=(0, t[-1] if len(t) else 1, 0, data.shape[1]))
        a.set(xlabel="time (s)", title=f"{feature} ({name})" + (" dB" if feature == "mel" else ""))
    ax[0].set_ylabel("output")
    fig.colorbar(im, ax=ax)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
