"""The linear SVM of the toolkit: ``C`` chosen inside the training speakers, and its weights as a Keras head.

Two users: ``opensmile_svm`` in the zoo (:mod:`ser.zoo.svm`, sklearn pipelines saved with joblib), and
``--head svm`` of ``ser.finetune`` / ``ser.baseline``, where the SVM is fitted by sklearn on the speaker-normalised
pooled vectors and written into :class:`ser.layers.OneVsOneSVM`, so the whole model (FINs, pooling, speaker
normalisation, SVM) is one ``.keras`` file that ``ser.predict`` loads.

Why libsvm's one-vs-one ``SVC`` and not ``LinearSVC`` (one-vs-rest, one weight vector per class): in an
exploratory run on EMO-DB leave-one-speaker-out with descriptive pooling of the closed-form FINs' features (whole
utterances, originals), the one-vs-one SVM reached about 80 % UA and ``LinearSVC`` with the same ``C`` about 72 %.
Its decision is not one linear map, but it is a fixed function of 21 (for 7 classes) linear ones, which
:class:`ser.layers.OneVsOneSVM` computes exactly as sklearn's ``decision_function`` (``"ovr"`` shape).
"""

import json
from dataclasses import replace

import numpy as np


#: The C values the inner cross-validation chooses from.
C_GRID = (1e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 1e-1, 1.0, 10.0)
#: At most this many speaker groups in the inner cross-validation.
INNER_FOLDS = 5


def svc(c, kernel="precomputed"):
    """sklearn's ``SVC`` (libsvm, one-vs-one), balanced class weights; on a precomputed Gram matrix by default."""
    from sklearn.svm import SVC

    return SVC(C=c, kernel=kernel, class_weight="balanced", decision_function_shape="ovr")


def choose_c(x, y, groups, grid=C_GRID):
    """The ``C`` of ``grid`` with the best speaker-grouped inner-CV unweighted accuracy on ``(x, y)``.

    A linear SVM on a precomputed Gram matrix ``x @ x.T``, computed once and shared by every ``C`` and inner fold.

    Parameters
    ----------
    x : np.ndarray [shape=(n, dim)]
        Training rows, already scaled.
    y : np.ndarray [shape=(n,)]
    groups : np.ndarray [shape=(n,)]
        Each row's speaker; rows of one speaker stay in one inner fold.

    Returns
    -------
    c : float
    scores : list of float
        Inner-CV UA per value of ``grid``.
    train_scores : list of float
        Mean accuracy of the inner fits on their own training rows, per value of ``grid``.
    """
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import GroupKFold

    n_groups = len(np.unique(groups))
    if n_groups < 2:
        nan = [float("nan")] * len(grid)
        return float(grid[len(grid) // 2]), nan, nan
    gram = x.astype(np.float64) @ x.T.astype(np.float64)
    folds = list(GroupKFold(n_splits=min(INNER_FOLDS, n_groups)).split(x, y, groups))
    scores, train_scores = [], []
    for c in grid:
        fold_scores, fold_train = [], []
        for train, val in folds:
            model = svc(c).fit(gram[np.ix_(train, train)], y[train])
            fold_scores.append(balanced_accuracy_score(y[val], model.predict(gram[np.ix_(val, train)])))
            fold_train.append(float(np.mean(model.predict(gram[np.ix_(train, train)]) == y[train])))
        scores.append(float(np.mean(fold_scores)))
        train_scores.append(float(np.mean(fold_train)))
    return float(grid[int(np.argmax(scores))]), scores, train_scores


def pair_index(n_classes):
    """The class pairs ``(i, j)``, ``i < j``, in libsvm's order (that of ``SVC.coef_`` rows)."""
    return [(i, j) for i in range(n_classes) for j in range(i + 1, n_classes)]


#: Bias given to a pair whose class never occurs in training, so that the present class always wins it.
ABSENT_CLASS_BIAS = 1e3


def ovo_weights(model, scaler, n_classes):
    """A fitted linear ``SVC`` (behind ``scaler``) as the kernel and bias of :class:`ser.layers.OneVsOneSVM`.

    The scaler is folded in: ``w . (x - mean) / scale + b = (w / scale) . x + (b - w . mean / scale)``. Classes
    that the training rows lack (``model.classes_`` a subset of ``range(n_classes)``) lose every pair they are in.

    Returns
    -------
    kernel : np.ndarray [shape=(dim, n_pairs), dtype=float32]
    bias : np.ndarray [shape=(n_pairs,), dtype=float32]
    """
    classes = [int(c) for c in model.classes_]
    coef = np.asarray(model.coef_, dtype=np.float64)
    fitted = {pair: k for k, pair in enumerate(pair_index(len(classes)))}
    dim = coef.shape[1]
    scale = np.asarray(scaler.scale_, dtype=np.float64)
    mean = np.asarray(scaler.mean_, dtype=np.float64)
    kernel = np.zeros((dim, n_classes * (n_classes - 1) // 2))
    bias = np.zeros(kernel.shape[1])
    for k, (i, j) in enumerate(pair_index(n_classes)):
        if i in classes and j in classes:
            row = fitted[(classes.index(i), classes.index(j))]
            kernel[:, k] = coef[row] / scale
            bias[k] = model.intercept_[row] - np.dot(coef[row], mean / scale)
        elif i in classes or j in classes:  # dec >= 0 votes for i
            bias[k] = ABSENT_CLASS_BIAS if i in classes else -ABSENT_CLASS_BIAS
    return kernel.astype(np.float32), bias.astype(np.float32)


def fit_svm_head(head, x, y, groups, n_classes):
    """Fit a linear SVM on ``(x, y)`` (``C`` by :func:`choose_c` over ``groups``) and write it into ``head``.

    Parameters
    ----------
    head : keras.Model
        Ends in a :class:`ser.layers.OneVsOneSVM` layer named ``"emotion"`` directly on its input (the head model
        of a classifier with ``head="svm"``).
    x : np.ndarray [shape=(n, dim)]
        The speaker-normalised pooled vectors of the training rows.
    y : np.ndarray [shape=(n,)]
    groups : np.ndarray [shape=(n,)]
        Each row's speaker (inner folds keep a speaker together).
    n_classes : int

    Returns
    -------
    info : dict
        ``C``, the grid, inner-CV UA and training accuracy per ``C``.
    """
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(x, dtype=np.float64)
    scaler = StandardScaler().fit(x)
    scaled = scaler.transform(x)
    c, scores, train_acc = choose_c(scaled, y, groups)
    model = svc(c, kernel="linear").fit(scaled, y)
    kernel, bias = ovo_weights(model, scaler, n_classes)
    head.get_layer("emotion").set_weights([kernel, bias])
    return {"C": c, "grid": list(C_GRID), "inner_cv_ua": scores, "train_accuracy": train_acc}


def without_validation(plan):
    """``plan`` with its validation files joined to training: an SVM has no early stopping to feed."""
    return replace(plan, train=np.concatenate([plan.train, plan.val]).astype(int), val=np.zeros(0, dtype=int))


def write_fold_record(fold_dir, info):
    """Write a fold's ``history.csv`` (inner-CV UA and training accuracy per ``C``) and ``svm.json`` (``info``, as
    :func:`fit_svm_head` returns it); returns the history in the form :class:`ser.training.FoldOutcome` keeps."""
    from data_prep.atomic import atomic_write_text

    rows = zip(info["grid"], info["inner_cv_ua"], info["train_accuracy"])
    atomic_write_text(fold_dir / "history.csv",
                      "C,inner_cv_ua,train_accuracy\n" + "".join(f"{c},{u:.5f},{a:.5f}\n" for c, u, a in rows))
    atomic_write_text(fold_dir / "svm.json", json.dumps(info, indent=2) + "\n")
    return {"loss": [1.0 - u for u in info["inner_cv_ua"]], "accuracy": info["train_accuracy"],
            "val_accuracy": info["inner_cv_ua"], "C": info["grid"]}
