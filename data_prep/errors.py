"""The one exception type of :mod:`data_prep`."""


class DataPrepError(Exception):
    """Raised for bad input to data_prep: a bad argument, an unreadable store, an unknown name.

    The message names the offending value and what was expected.
    """
