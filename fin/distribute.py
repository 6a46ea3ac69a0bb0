"""tf.distribute for the FIN and SER trainers: one place for strategies and their TensorFlow specifics.

- ``default``: TensorFlow's default strategy (one device).
- ``mirrored``: ``tf.distribute.MirroredStrategy`` over all local GPUs; with no GPU, over the CPU split into
  ``FIN_CPU_DEVICES`` logical devices (how the tests exercise it on a laptop).
- ``multiworker``: ``tf.distribute.MultiWorkerMirroredStrategy``, the cluster described by ``TF_CONFIG``;
  each worker runs the same command.

Keras 3's ``Model.fit`` does not run under MultiWorkerMirroredStrategy as released (keras-team/keras#20585):
it probes the first batch with a cross-worker reduce that fails on per-replica inputs, and it averages scalar
logs with ``strategy.reduce(..., axis=0)``, which is invalid for a scalar. :func:`patch_keras_for_multiworker`
fixes both at their source: the model, loss and optimizer are built from known input shapes before ``fit``,
and scalar logs are averaged across workers with ``axis=None``. Both patches touch private Keras functions and
are checked by the multi-worker test.
"""

import json
import os

from fin.errors import FINError

STRATEGIES = ("default", "mirrored", "multiworker")


def configure_cpu_devices():
    """Split the CPU into ``FIN_CPU_DEVICES`` logical devices; must run before TensorFlow touches a device."""
    import tensorflow as tf

    n = int(os.environ.get("FIN_CPU_DEVICES", "0") or 0)
    if n > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)


def make_strategy(name):
    """The tf.distribute strategy called ``name`` (one of :data:`STRATEGIES`)."""
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        configure_cpu_devices()
        gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
        return tf.distribute.MirroredStrategy(devices=gpus or [d.name for d in tf.config.list_logical_devices("CPU")])
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise FINError("--strategy multiworker needs TF_CONFIG (cluster and task) in the environment")
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        patch_keras_for_multiworker()
        return strategy
    raise FINError(f"unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}")


def worker_info():
    """``(index, count, is_chief)`` of this process in a ``TF_CONFIG`` cluster; ``(0, 1, True)`` alone."""
    tf_config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    cluster, task = tf_config.get("cluster", {}), tf_config.get("task", {})
    n_chief = len(cluster.get("chief", []))
    count = len(cluster.get("worker", [])) + n_chief
    if count <= 1:
        return 0, 1, True
    index = task.get("index", 0) + (n_chief if task.get("type") == "worker" else 0)
    return index, count, task.get("type") == "chief" or (index == 0 and not n_chief)


_PATCHED = False


def patch_keras_for_multiworker():
    """Make ``Model.fit`` work under MultiWorkerMirroredStrategy (see the module docstring). Idempotent."""
    global _PATCHED
    if _PATCHED:
        return
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original_reduce = tf_trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and tf_trainer._collective_all_reduce_multi_worker(strategy):
            return tf.nest.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return original_reduce(values, strategy, reduction)

    tf_trainer.reduce_per_replica = reduce_per_replica
    _PATCHED = True


def prebuild(model, strategy, example_batch):
    """Build model, loss and metrics from ``example_batch`` (x, y) in ``strategy``'s scope, and skip Keras'
    first-batch probe in ``fit`` (which fails under MultiWorkerMirroredStrategy)."""
    with strategy.scope():
        model._symbolic_build(data_batch=example_batch)
    model._maybe_symbolic_build = lambda *args, **kwargs: None
