"""The one exception type of :mod:`fin`."""

from data_prep.errors import ToolkitError


class FINError(ToolkitError):
    """Raised for bad input to fin: an unknown feature or architecture name, an invalid option.

    The message names the offending value and what was expected.
    """
