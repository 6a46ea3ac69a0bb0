"""Errors: every package's domain error is one ToolkitError (a ValueError), and a translated error keeps its cause."""

import pytest

from data_prep.audio import AudioError, load_audio
from data_prep.errors import DataPrepError, ToolkitError
from experiments.generalization import GeneralizationError
from fin import FINError
from fin.export import ParityError
from ser import SERError


@pytest.mark.parametrize("error", [DataPrepError, AudioError, FINError, ParityError, SERError, GeneralizationError])
def test_every_domain_error_is_a_toolkit_error(error):
    assert issubclass(error, ToolkitError) and issubclass(error, ValueError)


def test_translated_error_keeps_its_cause(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEfmt not really audio")
    with pytest.raises(AudioError) as info:
        load_audio(bad)
    assert info.value.__cause__ is not None  # raise ... from err, not from None
