"""data_prep: from emotional-speech corpora to a verified HDF5 store of frames and librosa targets.

Public API::

    from data_prep import frame_targets, open_store
"""

from data_prep.errors import DataPrepError, ToolkitError
from data_prep.labels import EMOTIONS, SEED_EMOTIONS
from data_prep.targets import FEATURE_DIMS, FEATURES, FRAME_LENGTH, HOP_LENGTH, SR, TARGET_SETS, frame_targets

__all__ = [
    "DataPrepError",
    "EMOTIONS",
    "SEED_EMOTIONS",
    "FEATURES",
    "FEATURE_DIMS",
    "FRAME_LENGTH",
    "HOP_LENGTH",
    "SR",
    "TARGET_SETS",
    "ToolkitError",
    "frame_targets",
    "open_store",
]


def __getattr__(name):
    # the store pulls in h5py; import it on first use only
    if name == "open_store":
        from data_prep.store import open_store

        return open_store
    raise AttributeError(f"module 'data_prep' has no attribute {name!r}")
