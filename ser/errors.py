"""The one exception type of :mod:`ser`."""


class SERError(Exception):
    """Raised for bad input to ser: an unknown name or option, a model folder that is not one, no usable data.

    The message names the offending value and what was expected.
    """
