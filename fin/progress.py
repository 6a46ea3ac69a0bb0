"""Training callbacks a person watches: one progress bar over the whole run, and validation R² per epoch."""

import sys
import time

import keras
import numpy as np

from fin.metrics import R2Accumulator


class ValidationR2(keras.callbacks.Callback):
    """Adds ``val_r2`` (and ``val_r2_vw``) to the epoch logs: R² of the model on fixed validation frames.

    Runs before the loggers (CSVLogger, TensorBoard) in the callback list, so they record it too.

    Parameters
    ----------
    frames : np.ndarray [shape=(n, 2048)]
    targets : np.ndarray [shape=(n, dim)]
    batch_size : int
    """

    def __init__(self, frames, targets, batch_size=1024):
        super().__init__()
        self.frames, self.targets, self.batch_size = frames, targets, batch_size
        self.seconds = 0.0  # time spent measuring, so that WallClock can leave it out

    def on_epoch_end(self, epoch, logs=None):
        t0 = time.time()
        self._measure(logs)
        self.seconds += time.time() - t0

    def _measure(self, logs):
        acc = R2Accumulator()
        for i in range(0, len(self.frames), self.batch_size):
            acc.update(self.targets[i : i + self.batch_size], self.model(self.frames[i : i + self.batch_size], training=False))
        result = acc.result()
        if logs is not None:
            logs["val_r2"], logs["val_r2_vw"] = float(result["r2"]), float(result["r2_vw"])


class TrainingProgress(keras.callbacks.Callback):
    """One tqdm bar over every step of the run (ETA for the whole run), with the loss and validation R².

    Where standard error is not a terminal, one line per epoch instead (logs stay readable).

    Parameters
    ----------
    epochs, steps : int
        Epochs and steps per epoch of the run.
    initial_epoch : int
        First epoch (a resumed run starts later).
    metric : str
        The epoch log to show as validation R² (``val_r2`` or ``val_r2_vw``).
    """

    def __init__(self, epochs, steps, initial_epoch=0, metric="val_r2", stream=None):
        super().__init__()
        self.epochs, self.steps, self.initial_epoch, self.metric = epochs, steps, initial_epoch, metric
        self.stream = stream or sys.stderr
        self.bar = None

    def on_train_begin(self, logs=None):
        from tqdm.auto import tqdm

        self.t0 = time.time()
        if self.stream.isatty():
            self.bar = tqdm(total=self.epochs * self.steps, initial=self.initial_epoch * self.steps, unit="step",
                            file=self.stream, dynamic_ncols=True, desc="training")

    def on_train_batch_end(self, batch, logs=None):
        if self.bar is not None:
            self.bar.update(1)
            if batch % 20 == 0 and logs and "loss" in logs:
                self.bar.set_postfix_str(self._postfix(logs), refresh=False)

    def _postfix(self, logs):
        parts = [f"loss {float(logs['loss']):.4g}"]
        if self.metric in logs:
            parts.append(f"val R² {logs[self.metric]:.4f}")
        return ", ".join(parts)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        self.last = logs
        if self.bar is not None:
            self.bar.set_description(f"epoch {epoch + 1}/{self.epochs}")
            self.bar.set_postfix_str(self._postfix(logs))
        else:
            done = epoch + 1 - self.initial_epoch
            elapsed = time.time() - self.t0
            eta = elapsed / max(done, 1) * (self.epochs - epoch - 1)
            r2 = f", val R² {logs[self.metric]:.4f}" if self.metric in logs else ""
            print(f"epoch {epoch + 1}/{self.epochs}: loss {float(logs.get('loss', np.nan)):.4g}{r2}, "
                  f"{elapsed:.0f} s, ETA {eta:.0f} s", file=self.stream, flush=True)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()


class WallClock(keras.callbacks.Callback):
    """Adds ``wall_seconds`` (training time so far) to the epoch logs; stops training past ``budget`` seconds.

    Training time is wall time since training began less the time spent on validation (Keras's validation pass
    and the ``measuring`` callbacks, e.g. :class:`ValidationR2`), so that architectures whose evaluation is
    expensive are compared on the time they spend learning. The budget is checked at the end of each epoch, so a
    run overshoots it by at most one epoch: use short epochs (``steps_per_epoch``) for a tight budget. Place it
    after the measuring callbacks and before the loggers so ``history.csv`` has the column.
    """

    def __init__(self, budget=None, measuring=()):
        super().__init__()
        self.budget = budget
        self.measuring = list(measuring)

    def on_train_begin(self, logs=None):
        self.t0 = time.time()
        self.validation = 0.0

    def on_test_begin(self, logs=None):
        self.test_t0 = time.time()

    def on_test_end(self, logs=None):
        self.validation += time.time() - self.test_t0

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.time() - self.t0 - self.validation - sum(m.seconds for m in self.measuring)
        if logs is not None:
            logs["wall_seconds"] = elapsed
        if self.budget is not None and elapsed >= self.budget:
            self.model.stop_training = True
