"""R² as scikit-learn defines it, accumulated over batches so a whole split never sits in memory.

``R2Accumulator`` keeps per-output counts, means and sums of squares (Chan et al.'s pairwise update, stable
for near-constant outputs such as silent mel bins) and the sum of squared errors. Its results equal
``sklearn.metrics.r2_score`` with ``multioutput="uniform_average"`` and ``"variance_weighted"`` on the
concatenated batches, including sklearn's rule for constant outputs (R² 1 if predicted exactly, else 0).
"""

import numpy as np


class R2Accumulator:
    """Streaming R², MSE and per-output R² of predictions against targets.

    Examples
    --------
    >>> acc = R2Accumulator()
    >>> acc.update(np.array([[1.0], [2.0]]), np.array([[1.1], [1.9]]))
    >>> acc.update(np.array([[3.0]]), np.array([[3.0]]))
    >>> round(acc.result()["r2"], 4)
    0.99
    """

    def __init__(self):
        self.n = 0
        self.mean = None
        self.m2 = None
        self.sse = None

    def update(self, y_true, y_pred):
        """Add a batch: ``y_true``, ``y_pred`` of shape ``(n, dim)``."""
        y_true = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
        y_pred = np.asarray(y_pred, dtype=np.float64).reshape(len(y_pred), -1)
        if y_true.shape != y_pred.shape:
            raise ValueError(f"targets {y_true.shape} and predictions {y_pred.shape} differ in shape")
        n_b = len(y_true)
        if n_b == 0:
            return
        mean_b = y_true.mean(axis=0)
        m2_b = ((y_true - mean_b) ** 2).sum(axis=0)
        sse_b = ((y_true - y_pred) ** 2).sum(axis=0)
        if self.n == 0:
            self.n, self.mean, self.m2, self.sse = n_b, mean_b, m2_b, sse_b
            return
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * n_b / n
        self.m2 = self.m2 + m2_b + delta**2 * self.n * n_b / n
        self.sse = self.sse + sse_b
        self.n = n

    def per_output(self):
        """R² of each output, sklearn's rule for constant targets included."""
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = 1.0 - self.sse / self.m2
        constant = self.m2 == 0
        r2[constant] = np.where(self.sse[constant] == 0, 1.0, 0.0)
        return r2

    def result(self):
        """``{"r2", "r2_vw", "r2_per_output", "mse", "frames"}``; ``r2`` is the uniform average."""
        if self.n == 0:
            raise ValueError("no predictions were accumulated")
        per_output = self.per_output()
        total = self.m2.sum()
        if total > 0:
            r2_vw = float(1.0 - self.sse.sum() / total)
        else:
            r2_vw = 1.0 if self.sse.sum() == 0 else 0.0
        return {
            "r2": float(per_output.mean()),
            "r2_vw": r2_vw,
            "r2_per_output": [float(v) for v in per_output],
            "mse": float(self.sse.sum() / (self.n * len(self.sse))),
            "frames": int(self.n),
        }


def r2_scores(y_true, y_pred):
    """One-shot version of :class:`R2Accumulator` for arrays in memory."""
    acc = R2Accumulator()
    acc.update(y_true, y_pred)
    return acc.result()
