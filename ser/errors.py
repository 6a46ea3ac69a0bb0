"""The one exception type of :mod:`ser`."""

from data_prep.errors import ToolkitError


class SERError(ToolkitError):
    """Raised for bad input to ser: an unknown name or option, a model folder that is not one, no usable data.

    The message names the offending value and what was expected.
    """
