"""The run folder and the Keras callbacks a training run shares: ``fin.train`` (one FIN) and ``ser.training`` (the
SER folds) both write through these.

A run writes into its ``--out`` folder. Under a multi-worker strategy every worker runs the same program, but only
the chief (worker 0, or the only process) writes there; the others write into a scratch folder
``out/.worker-N`` that is removed when they finish (:class:`RunFolder`). Training uses the seed's learning-rate
schedule, ``ReduceLROnPlateau`` on the training loss, a CSV history, and early stopping with the best weights
restored (:func:`fit_callbacks`).
"""

import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from data_prep.atomic import atomic_write, atomic_write_text, remove_stale_temporaries


@dataclass(frozen=True)
class RunFolder:
    """Where this process writes.

    Attributes
    ----------
    out : Path
        The run's output folder.
    write_dir : Path
        ``out`` for the chief, ``out/.worker-N`` for another worker.
    worker, n_workers : int
    chief : bool
    """

    out: Path
    write_dir: Path
    worker: int
    n_workers: int
    chief: bool

    @classmethod
    def open(cls, out):
        """The run folder of this process (from ``TF_CONFIG``, :func:`fin.distribute.worker_info`), created, with
        the temporaries of a killed run removed (:func:`data_prep.atomic.remove_stale_temporaries`)."""
        from fin.distribute import worker_info

        out = Path(out)
        worker, n_workers, chief = worker_info()
        write_dir = out if chief else out / f".worker-{worker}"
        write_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(write_dir)  # model or metrics files a killed run was writing
        return cls(out, write_dir, worker, n_workers, chief)

    def write_config(self, config):
        """``config.yaml``: the resolved configuration, written by the chief only (atomically)."""
        if self.chief:
            atomic_write_text(self.out / "config.yaml", yaml.safe_dump(config, sort_keys=False))

    def discard_scratch(self):
        """Remove a non-chief worker's scratch folder; returns ``True`` there (the chief reports), else ``False``."""
        if self.chief:
            return False
        shutil.rmtree(self.write_dir, ignore_errors=True)
        return True


def save_model(model, path):
    """``model.save(path)`` atomically: a ``.keras`` file at ``path`` is always complete."""
    return atomic_write(path, model.save)


def fit_callbacks(config, history_csv, monitor="val_loss", early_stopping=True, append=False):
    """The callbacks of every training run: learning-rate schedule, CSV history, early stopping.

    Parameters
    ----------
    config : dict
        With ``lr_factor``, ``lr_patience``, ``min_lr`` (``ReduceLROnPlateau`` on the training loss, the seed's)
        and ``early_stopping_patience`` (0: no early stopping).
    history_csv : str or Path
        Where ``CSVLogger`` writes the per-epoch history.
    monitor : str
        What early stopping watches.
    early_stopping : bool
        ``False`` where there is nothing to watch (no validation data).
    append : bool
        Append to an existing history (a resumed run).

    Returns
    -------
    callbacks : list of keras.callbacks.Callback
    """
    import keras

    callbacks = [
        keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=config["lr_factor"], patience=config["lr_patience"],
                                          min_lr=config["min_lr"]),
        keras.callbacks.CSVLogger(str(history_csv), append=append),
    ]
    if early_stopping and config["early_stopping_patience"]:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=config["early_stopping_patience"],
                                                       restore_best_weights=True))
    return callbacks
