"""A tf.data pipeline over a frame store: shuffled, batched, prefetched, never loaded whole.

The store is read in blocks of consecutive frames (one HDF5 read each). Every epoch the block order is
shuffled, a few blocks at a time are pooled and their frames permuted, and batches are cut from the pool:
a shuffle that mixes frames of many files with bounded memory (``pool_blocks * block_frames`` frames).
"""

import numpy as np
import tensorflow as tf

from data_prep.errors import DataPrepError
from data_prep.store import open_store
from data_prep.targets import FEATURE_DIMS, FRAME_LENGTH


def iterate_batches(path, split, features, batch_size=64, shuffle=True, seed=0, epoch=0, block_frames=4096,
                    pool_blocks=4, shard=(0, 1)):
    """Yield ``(frames, targets)`` numpy batches of one epoch; ``targets`` is a dict feature -> array.

    ``shard=(index, count)`` keeps every ``count``-th block starting at ``index`` (one share per worker).
    """
    rng = np.random.default_rng([seed, epoch])
    with open_store(path) as store:
        n = store.num_frames(split)
        # small splits get smaller blocks, so that every shard holds a few of them
        block_frames = max(1, min(block_frames, -(-n // (shard[1] * pool_blocks))))
        starts = np.arange(0, n, block_frames)
        if shuffle:
            rng.shuffle(starts)
        starts = starts[shard[0] :: shard[1]]
        for p in range(0, len(starts), pool_blocks if shuffle else 1):
            blocks = [slice(s, min(s + block_frames, n)) for s in starts[p : p + (pool_blocks if shuffle else 1)]]
            frames = np.concatenate([store.frames(split, b) for b in blocks])
            targets = {f: np.concatenate([store.targets(split, f, b) for b in blocks]) for f in features}
            order = rng.permutation(len(frames)) if shuffle else np.arange(len(frames))
            for i in range(0, len(order), batch_size):
                rows = order[i : i + batch_size]
                yield frames[rows], {f: targets[f][rows] for f in features}


def frame_dataset(path, split, features, batch_size=64, shuffle=True, seed=0, block_frames=4096, pool_blocks=4,
                  shard=(0, 1), prefetch=2):
    """A ``tf.data.Dataset`` of ``(frames, targets)`` batches from a store.

    Parameters
    ----------
    path : str or Path
        The store.
    split : str
    features : str or sequence of str
        One feature name: targets are a tensor ``(batch, dim)``; several: a dict of tensors.
    batch_size : int
    shuffle : bool
        Reshuffle every epoch (seeded by ``seed`` and the epoch number); False keeps store order.
    shard : (index, count)
        Share of the blocks this input pipeline reads (for several workers).

    Returns
    -------
    dataset : tf.data.Dataset
        Elements ``(frames [shape=(batch, 2048), float32], targets)``; each iteration is one epoch.
    """
    single = isinstance(features, str)
    features = [features] if single else list(features)
    for f in features:
        if f not in FEATURE_DIMS:
            raise DataPrepError(f"unknown feature {f!r}; expected one of {', '.join(FEATURE_DIMS)}")
    with open_store(path) as store:
        if split not in store.splits:
            raise DataPrepError(f"{path} has no split {split!r}; it has {', '.join(store.splits)}")
        if store.num_frames(split) < shard[1]:
            # an empty pipeline would make .repeat() spin forever
            raise DataPrepError(f"split {split!r} of {path} has {store.num_frames(split)} frames, fewer than {shard[1]} shard(s)")
    epochs = iter(range(1 << 30))

    def generate():
        epoch = next(epochs)
        for frames, targets in iterate_batches(path, split, features, batch_size, shuffle, seed, epoch, block_frames, pool_blocks, shard):
            yield frames, (targets[features[0]] if single else targets)

    target_spec = {f: tf.TensorSpec((None, FEATURE_DIMS[f]), tf.float32) for f in features}
    signature = (tf.TensorSpec((None, FRAME_LENGTH), tf.float32), target_spec[features[0]] if single else target_spec)
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    return dataset.prefetch(prefetch)
