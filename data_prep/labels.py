"""The unified emotion label set shared by every corpus.

The seed uses eight classes; EMO-DB adds boredom. Each corpus loader maps its own codes onto these
names (see :mod:`data_prep.corpora`) and keeps the original code beside the unified label.
"""

#: The seed's eight classes, in the seed's order.
SEED_EMOTIONS = ("angry", "calm", "disgust", "fear", "happy", "neutral", "sad", "surprise")

#: Every unified label, the seed's eight plus EMO-DB's boredom.
EMOTIONS = SEED_EMOTIONS + ("boredom",)


def emotion_index(emotion):
    """Index of ``emotion`` in :data:`EMOTIONS`.

    Examples
    --------
    >>> emotion_index("angry")
    0
    """
    from data_prep.errors import DataPrepError

    try:
        return EMOTIONS.index(emotion)
    except ValueError as err:
        raise DataPrepError(f"unknown emotion {emotion!r}; expected one of {', '.join(EMOTIONS)}") from err
