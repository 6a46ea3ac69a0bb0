"""The toolkit's base exception, :class:`ToolkitError`, and the one exception type of :mod:`data_prep`.

Every package raises one domain type (``DataPrepError``, :class:`data_prep.audio.AudioError`, ``fin.FINError``,
``ser.SERError``, ``experiments.generalization.GeneralizationError``), each a :class:`ToolkitError`, which is a
``ValueError`` (as librosa's ``ParameterError``): ``except ToolkitError`` catches every error the toolkit raises
on bad input, and code that expects a ``ValueError`` for a bad value still gets one. The base lives here because
``data_prep`` is the first stage: every other package imports it already. An error translated from another keeps
the original as its cause (``raise ... from err``).
"""


class ToolkitError(ValueError):
    """Base of every error the toolkit raises on bad input; the message names the offending value and what was
    expected.

    Examples
    --------
    >>> from fin import FINError
    >>> from ser import SERError
    >>> all(issubclass(e, ToolkitError) for e in (DataPrepError, FINError, SERError))
    True
    """


class DataPrepError(ToolkitError):
    """Raised for bad input to data_prep: a bad argument, an unreadable store, an unknown name.

    The message names the offending value and what was expected.
    """
