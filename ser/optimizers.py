"""The optimizers a SER run can train with, by name: one table, one constructor.

``config["optimizer"]`` names one of :data:`OPTIMIZERS` (default ``"adam"``, what ``ser.finetune`` and
``ser.baseline`` always used); ``config["lr"]`` is its learning rate, ``config["weight_decay"]`` (optional) its
decoupled weight decay and ``config["lr_decay"]`` (optional) the legacy Keras 2 time-based decay
``lr / (1 + lr_decay * iterations)`` that seed code written for Keras 2 passes as ``decay=`` (PS_AC1D_FIF's
RMSprop ``decay=1e-6``). Keras 3 optimizers have no ``decay`` argument and a learning-rate schedule would stop
``ReduceLROnPlateau`` from setting the rate, so the decay is a callback (:func:`time_decay_callback`) that
divides the rate by ``1 + lr_decay * iterations`` at the start of every epoch (piecewise constant over an epoch,
composed with ``ReduceLROnPlateau``'s factors).
"""

from ser.errors import SERError

#: Optimizer name -> keras.optimizers class name.
OPTIMIZERS = {"adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "sgd": "SGD"}


def check_optimizer(name):
    """``name`` if it is in :data:`OPTIMIZERS`; :class:`SERError` listing the valid names otherwise.

    Examples
    --------
    >>> check_optimizer("rmsprop")
    'rmsprop'
    """
    if name not in OPTIMIZERS:
        raise SERError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")
    return name


def make_optimizer(config):
    """The optimizer of a run and the callbacks it needs.

    Parameters
    ----------
    config : dict
        ``lr``; optional ``optimizer`` (default ``"adam"``), ``weight_decay``, ``lr_decay``.

    Returns
    -------
    optimizer : keras.optimizers.Optimizer
    callbacks : list of keras.callbacks.Callback
        The time-based decay callback when ``lr_decay`` is set, else empty.
    """
    import keras

    name = check_optimizer(config.get("optimizer") or "adam")
    kwargs = {"learning_rate": config["lr"]}
    if config.get("weight_decay"):
        kwargs["weight_decay"] = float(config["weight_decay"])
    optimizer = getattr(keras.optimizers, OPTIMIZERS[name])(**kwargs)
    decay = config.get("lr_decay")
    return optimizer, [time_decay_callback(float(decay))] if decay else []


def time_decay_callback(decay):
    """A callback dividing the learning rate by ``1 + decay * iterations`` (Keras 2's ``decay=``), per epoch."""
    import keras

    class TimeDecay(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.applied = 1.0  # the factor 1 / (1 + decay * iterations) already in the rate

        def on_epoch_begin(self, epoch, logs=None):
            optimizer = self.model.optimizer
            factor = 1.0 / (1.0 + decay * int(keras.ops.convert_to_numpy(optimizer.iterations)))
            optimizer.learning_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate)) * factor / self.applied
            self.applied = factor

    return TimeDecay()
