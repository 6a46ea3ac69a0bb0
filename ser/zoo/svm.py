"""``opensmile_svm``: openSMILE functionals, per-speaker normalisation and a linear SVM, on the FIN model's folds.

Per clip-cache row the eGeMAPS v02 (88) or ComParE 2016 (6,373) functionals of the clip (:mod:`ser.zoo.features`,
cached). Every row is z-normalised with its speaker's statistics, computed from that speaker's original recordings
without labels (for a test speaker from the test speaker's own recordings: the usual speaker-normalised LOSO
protocol, as ``ser.finetune --speaker-norm``). Then per fold:

1. training rows: the training *and* validation speakers' files (no early stopping to feed: the SVM uses every
   training speaker), with their augmented copies when ``augment`` is on; test rows: the test speakers' originals;
2. a ``StandardScaler`` is fit on the training rows only;
3. ``C`` is chosen from :data:`C_GRID` by a speaker-grouped inner cross-validation (``GroupKFold``, at most 5
   groups of training speakers, scored by unweighted accuracy), so no test speaker takes part in the choice;
4. ``SVC(kernel="linear", C, class_weight="balanced")`` is fit on every training row and scores the test rows
   (the inner cross-validation runs the same SVM on a precomputed Gram matrix, shared by every C and inner fold).

The fold's outputs are those of :class:`ser.training.RunWriter` (``metrics.json``, plots, ``predictions.csv``,
``config.yaml``); the "probabilities" in ``predictions.csv`` are a softmax of the SVM's decision values (not
calibrated), and the learning-curve plot shows, per C of the grid (x axis), the inner-CV UA (dashed) and the
inner fits' training accuracy. Each fold's fitted pipeline is saved as ``model.joblib``; ``ser.predict`` does not load it.
"""

import time

import numpy as np

from ser.svm import C_GRID, choose_c, svc, without_validation, write_fold_record


def speaker_normalised(features, cache):
    """Each row z-normalised with its speaker's mean and std over the speaker's original rows (no labels used)."""
    from data_prep.splits import speaker_key
    from ser.layers import normalise_by_speaker, speaker_statistics

    speakers = np.array([speaker_key(cache.utterances[i]) for i in cache.source])
    stats = speaker_statistics(features, speakers, reference=cache.copy == "original")
    return normalise_by_speaker(features, speakers, stats), speakers


class SVMFold:
    """Trains and tests the SVM of one fold; records the rows its scaler was fit on (``scaler_rows``)."""

    def __init__(self, config, data, x, speakers):
        self.config, self.data, self.x, self.speakers = config, data, x, speakers
        self.copies = data.cache.copies if config["augment"] else ["original"]
        self.scaler_rows = []

    def fit(self, plan, fold_dir):
        """Fit on the fold's training speakers, save ``model.joblib`` and ``history.csv``, score the test part."""
        import joblib
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from ser.training import FoldOutcome

        cache, y_all = self.data.cache, self.data.y
        plan = without_validation(plan)  # the SVM trains on every training speaker: nothing to stop early
        train_rows = cache.rows(plan.train, self.copies)
        test_rows = cache.rows(plan.test)
        y_train = y_all[cache.source[train_rows]]
        t0 = time.time()
        scaler = StandardScaler().fit(self.x[train_rows])
        self.scaler_rows.append(train_rows)
        x_train = scaler.transform(self.x[train_rows])
        c, scores, train_acc = choose_c(x_train, y_train, self.speakers[train_rows])
        pipeline = make_pipeline(scaler, svc(c, kernel="linear").fit(x_train, y_train))
        seconds = time.time() - t0
        joblib.dump(pipeline, fold_dir / "model.joblib")
        history = write_fold_record(fold_dir, {"C": c, "grid": list(C_GRID), "inner_cv_ua": scores,
                                               "train_accuracy": train_acc})
        outcome = FoldOutcome(plan, train_rows, len(C_GRID), seconds, history)
        if len(plan.test):
            decision = pipeline.decision_function(self.x[test_rows])
            decision = decision if decision.ndim == 2 else np.stack([-decision, decision], axis=1)
            scores_all = np.full((len(test_rows), len(self.data.labels)), -np.inf)
            scores_all[:, pipeline[-1].classes_] = decision
            prob = np.exp(scores_all - scores_all.max(axis=1, keepdims=True))
            outcome.test_rows, outcome.y_test = test_rows, y_all[cache.source[test_rows]]
            outcome.prob = prob / prob.sum(axis=1, keepdims=True)
        return outcome


def run_svm(config, verbose=None, progress=None, log=None):
    """Cross-validate ``opensmile_svm`` on ``config``'s corpora and folds; write the outputs of a SER run.

    Parameters
    ----------
    config : dict
        A resolved ``ser.train`` configuration with ``feature_set`` (``egemaps`` or ``compare``).
    verbose : int or None
        Unused (no epochs); accepted as :func:`ser.training.run` accepts it.
    progress : bool or None
    log : callable or None

    Returns
    -------
    metrics : dict
        The contents of ``metrics.json``.
    """
    import sys

    from fin.runs import RunFolder
    from ser.training import RunWriter, check_resumable, fit_folds, load_run_data
    from ser.zoo.features import cached_features

    log = log or (lambda text: print(text, flush=True))
    progress = sys.stderr.isatty() if progress is None else progress
    t_start = time.time()
    if config.get("resume"):
        check_resumable(config["out"], config)
    folder = RunFolder.open(config["out"])
    data = load_run_data(config, progress, log)
    log(f"opensmile_svm ({config['feature_set']}): {len(data.utterances)} files ({len(data.skipped)} skipped), "
        f"{len(data.labels)} classes, {len(data.folds)} fold(s) ({config['protocol']})")
    folder.write_config(config)
    features = cached_features(data.cache, "opensmile", feature_set=config["feature_set"], progress=progress)
    x, speakers = speaker_normalised(features, data.cache)
    trainer = SVMFold(config, data, x, speakers)
    writer = RunWriter(folder.out, "opensmile_svm", config, data, log)
    fit_folds(data.folds, trainer, writer, folder, config, log)
    info = {"model": "opensmile_svm", "feature_set": config["feature_set"], "n_features": int(features.shape[1]),
            "c_grid": list(C_GRID),
            "fold_models": "folds/<name>/model.joblib (sklearn StandardScaler + linear SVC; not for ser.predict)"}
    result = writer.finish("opensmile_functionals", 1, time.time() - t_start, info)
    data.cache.close()
    return result
