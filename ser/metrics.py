"""Classification metrics of a SER run, as scikit-learn defines them.

- ``ua`` (unweighted accuracy): the mean of the per-class recalls over the classes present in ``y_true``,
  ``sklearn.metrics.balanced_accuracy_score`` (= ``recall_score(average="macro")`` when every class occurs);
- ``wa`` (weighted accuracy): plain accuracy, ``accuracy_score``;
- ``macro_f1``, ``weighted_f1``: ``f1_score`` over the classes present in ``y_true`` or ``y_pred``;
- ``per_class``: precision, recall, F1 and support of every label; ``confusion``: counts, rows true, columns
  predicted, in label order.
"""

import warnings

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


def classification_metrics(y_true, y_pred, labels):
    """UA, WA, F1 scores, per-class scores and the confusion matrix.

    Parameters
    ----------
    y_true, y_pred : array-like [shape=(n,)] of int
        Class indices into ``labels``.
    labels : sequence of str
        Class names.

    Returns
    -------
    metrics : dict
        ``{"ua", "wa", "macro_f1", "weighted_f1", "per_class", "labels", "confusion", "n"}``; ``per_class`` maps a
        label to ``{"precision", "recall", "f1", "support"}``.

    Examples
    --------
    >>> m = classification_metrics([0, 0, 0, 1], [0, 0, 1, 1], ["sad", "happy"])
    >>> round(m["ua"], 4), m["wa"], m["confusion"]
    (0.8333, 0.75, [[2, 1], [0, 1]])
    """
    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(y_pred, dtype=int)
    labels = list(labels)
    index = list(range(len(labels)))
    present = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=index, zero_division=0)
    with warnings.catch_warnings():  # a test speaker without some emotion is normal in a fold
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        ua = float(balanced_accuracy_score(y_true, y_pred))
    return {
        "ua": ua,
        "wa": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, labels=present, average="weighted", zero_division=0)),
        "per_class": {
            label: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                    "support": int(support[i])}
            for i, label in enumerate(labels)
        },
        "labels": labels,
        "confusion": confusion_matrix(y_true, y_pred, labels=index).tolist(),
        "n": int(len(y_true)),
    }
