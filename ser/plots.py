"""Plots of SER runs: the confusion matrix and learning curves. Each writer also saves its data as JSON."""

import json

import numpy as np

from fin.plots import plt
from fin.plots import read_history  # noqa: F401  (ser.training reads fold histories with it)
from fin.plots import save_figure as _save


def confusion_plot(confusion, labels, path, title=""):
    """Confusion matrix, rows normalised to recall (colour) with the counts written in each cell.

    Writes ``path`` (PNG) and the same data beside it as ``<stem>.json`` (labels, counts, row-normalised).
    """
    counts = np.asarray(confusion, dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    recall = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    n = len(labels)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * n, 0.8 + 0.65 * n))
    im = ax.imshow(recall, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{int(counts[i, j])}\n{recall[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if recall[i, j] > 0.6 else "black")
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="true", title=title)
    ax.set_xticklabels(labels, rotation=45, ha="right")
    ax.set_yticklabels(labels)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="recall")
    path = _save(fig, path)
    data = {"labels": list(labels), "counts": counts.astype(int).tolist(), "recall": np.round(recall, 6).tolist()}
    path.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n")
    return path


def learning_curves(histories, path, title=""):
    """Loss and accuracy per epoch (training solid, validation dashed) of one or more folds.

    Parameters
    ----------
    histories : dict
        Fold name -> history dict (:func:`read_history`).
    path : Path
        The PNG; the histories are written beside it as ``<stem>.json``.
    """
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (name, h) in enumerate(histories.items()):
        color = colors[k % len(colors)]
        epochs = np.arange(1, len(h.get("loss", [])) + 1)
        for a, key in zip(ax, ("loss", "accuracy")):
            if h.get(key):
                a.plot(epochs, h[key], color=color, lw=1, label=f"{name} train" if len(histories) < 7 else None)
            if h.get("val_" + key):
                a.plot(epochs[: len(h["val_" + key])], h["val_" + key], color=color, lw=1, ls="--",
                       label=f"{name} val" if len(histories) < 7 else None)
    ax[0].set(xlabel="epoch", ylabel="loss", yscale="log", title=f"{title} loss".strip())
    ax[1].set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1), title=f"{title} accuracy (dashed: validation)".strip())
    if len(histories) < 7:
        ax[1].legend(fontsize=7)
    path = _save(fig, path)
    path.with_suffix(".json").write_text(json.dumps(histories, indent=1) + "\n")
    return path
