"""A built-in synthetic emotional-speech corpus, so the toolkit runs end to end with no download.

Every utterance is made by a source-filter voice:

1. **Source.** A Rosenberg glottal-flow pulse train whose period follows an f0 contour, perturbed per
   cycle by jitter (period) and shimmer (amplitude), with pulse-synchronous aspiration noise. The open
   quotient and a one-pole spectral tilt set how pressed (bright) or breathy (dark) the voice is.
2. **Filter.** A cascade of five second-order formant resonators (Klatt's resonator, unity gain at DC),
   run block by block with ``scipy.signal.sosfilt`` (a cascade of ``lfilter`` biquads) so the formants
   glide between vowel targets, followed by lip radiation (a first difference).
3. **Text.** One of RAVDESS's two statements, "Kids are talking by the door" and "Dogs are sitting by the
   door", as seven consonant-vowel syllables: plosive bursts, fricative noise and a short phrase pause
   between the voiced vowels.
4. **Prosody.** One :class:`EmotionProsody` per emotion (the table :data:`PROSODY`) sets pitch level,
   range and accent shape, declination and final contour, speaking rate, pauses, energy accents and
   slope, voice quality (open quotient, tilt, breathiness, jitter, shimmer, creak), tremor, formant
   shifts and the loudness (peak level) of the file. Every utterance draws its own variation around
   those values, so no two utterances of a class are alike.

Six voices (:data:`DEMO_SPEAKERS`, three male at odd actor numbers, three female at even ones, as in
RAVDESS) speak every emotion. :func:`generate_demo_corpus` writes the files in the RAVDESS layout::

    <root>/Actor_01/03-01-05-01-01-01-01.wav     modality-channel-emotion-intensity-statement-repetition-actor
    <root>/demo_corpus.json                      the parameters; a second call with the same ones is a no-op

so ``data_prep.corpora``'s RAVDESS loader reads it like the real corpus. Each file's random stream is
keyed on (seed, actor, emotion, statement, repetition), so a file does not depend on which other files
were generated or in which order, and the same seed gives byte-identical files.

Run it from the shell::

    python -m data_prep.demo --out /tmp/demo --speakers 6 --per-emotion 3
"""

import argparse
import dataclasses
import functools
import json
import os
import pathlib
import sys

import numpy as np
import scipy.signal
import soundfile

from data_prep.atomic import atomic_write
from data_prep.errors import DataPrepError
from data_prep.labels import SEED_EMOTIONS

__all__ = [
    "DEMO_SEED",
    "DEMO_SPEAKERS",
    "PROSODY",
    "RAVDESS_EMOTION_CODES",
    "EmotionProsody",
    "SpeakerVoice",
    "corpus_args_or_demo",
    "default_demo_root",
    "demo_corpus_arg",
    "demo_speaker",
    "generate_demo_corpus",
    "main",
    "ravdess_filename",
    "synthesize_utterance",
]

#: Seed of the demo corpus everyone gets by default.
DEMO_SEED = 0
#: Sample rate of the demo corpus (the toolkit's rate).
DEMO_SR = 22050
#: Name of the parameter file written beside the audio.
MANIFEST_NAME = "demo_corpus.json"
#: Bumped whenever the synthesiser changes what it writes, so old caches are regenerated.
GENERATOR_VERSION = 1

#: RAVDESS's two-digit emotion codes (the third field of a file name).
RAVDESS_EMOTION_CODES = {
    "neutral": 1,
    "calm": 2,
    "happy": 3,
    "sad": 4,
    "angry": 5,
    "fear": 6,
    "disgust": 7,
    "surprise": 8,
}

_MAX_ACTORS = 99  # two digits in the file name
_MAX_PER_EMOTION = 2 * 99  # two statements x two-digit repetition


# ------------------------------------------------------------------------------------------- voices


@dataclasses.dataclass(frozen=True)
class SpeakerVoice:
    """One synthetic speaker.

    Parameters
    ----------
    name : str
        A label for reports, e.g. ``"Actor_01"``.
    sex : str
        ``"male"`` or ``"female"``.
    f0_hz : float
        Base (neutral, mid-utterance) pitch in Hz.
    formant_scale : float
        Multiplies every formant frequency: 1.0 for an adult male vocal tract, about 1.15 for a female one
        (a shorter tract has higher resonances).
    jitter : float
        Relative standard deviation of the glottal period from cycle to cycle (0.005 is 0.5 %).
    shimmer : float
        Standard deviation of the per-cycle log amplitude (0.04 is about 0.35 dB).
    breathiness : float
        Level of aspiration noise relative to the glottal pulse.
    """

    name: str
    sex: str
    f0_hz: float
    formant_scale: float
    jitter: float
    shimmer: float
    breathiness: float


#: The six default voices; RAVDESS numbers male actors odd and female actors even.
DEMO_SPEAKERS = (
    SpeakerVoice("Actor_01", "male", 112.0, 1.00, 0.006, 0.035, 0.04),
    SpeakerVoice("Actor_02", "female", 205.0, 1.17, 0.005, 0.030, 0.08),
    SpeakerVoice("Actor_03", "male", 96.0, 0.95, 0.008, 0.045, 0.03),
    SpeakerVoice("Actor_04", "female", 226.0, 1.21, 0.006, 0.035, 0.10),
    SpeakerVoice("Actor_05", "male", 128.0, 1.04, 0.007, 0.040, 0.06),
    SpeakerVoice("Actor_06", "female", 188.0, 1.13, 0.007, 0.040, 0.06),
)


def demo_speaker(actor, seed=DEMO_SEED):
    """The voice of demo actor ``actor`` (1-based).

    Actors 1-6 are :data:`DEMO_SPEAKERS`; later ones are drawn from ``seed`` and the actor number, odd
    male and even female as in RAVDESS.

    Parameters
    ----------
    actor : int
        Actor number, 1 to 99.
    seed : int
        Corpus seed; only actors beyond the sixth depend on it.

    Returns
    -------
    SpeakerVoice

    Examples
    --------
    >>> demo_speaker(1).sex, demo_speaker(2).sex, demo_speaker(9).sex
    ('male', 'female', 'male')
    """
    if not isinstance(actor, (int, np.integer)) or isinstance(actor, bool) or not 1 <= actor <= _MAX_ACTORS:
        raise DataPrepError(f"actor {actor!r} is out of range; expected an integer from 1 to {_MAX_ACTORS}")
    if actor <= len(DEMO_SPEAKERS):
        return DEMO_SPEAKERS[actor - 1]
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(0, int(actor))))
    male = actor % 2 == 1
    return SpeakerVoice(
        name=f"Actor_{actor:02d}",
        sex="male" if male else "female",
        f0_hz=float(rng.uniform(92.0, 135.0) if male else rng.uniform(180.0, 235.0)),
        formant_scale=float(rng.uniform(0.94, 1.05) if male else rng.uniform(1.11, 1.22)),
        jitter=float(rng.uniform(0.005, 0.009)),
        shimmer=float(rng.uniform(0.03, 0.05)),
        breathiness=float(rng.uniform(0.03, 0.10)),
    )


# ------------------------------------------------------------------------------------------ prosody


@dataclasses.dataclass(frozen=True)
class EmotionProsody:
    """How one emotion shapes pitch, timing, energy and voice quality.

    Pitch values are in semitones relative to the speaker's base f0; durations multiply the neutral ones.

    Parameters
    ----------
    pitch_shift_st : float
        Pitch level.
    pitch_range_st : float
        Size of the pitch accent on a stressed syllable.
    accent : str
        Accent shape over a vowel: ``"hat"`` (rise-fall), ``"fall"`` (starts high, falls steeply),
        ``"rise"``, ``"dip"`` (falls then rises) or ``"flat"``.
    declination_st : float
        Pitch change from the first to the last syllable (negative: falls).
    final_st : float
        Extra movement over the last vowel (positive: a final rise, as in surprise).
    rate : float
        Syllable duration multiplier (above 1: slower).
    pause_s : float
        Phrase pause between "Kids are talking" and "by the door".
    accent_db, slope_db : float
        Loudness boost of stressed syllables; loudness change from first to last syllable.
    open_quotient : float
        Fraction of a glottal cycle the glottis is open: low is pressed and bright, high is breathy.
    tilt : float
        Pole of a one-pole low-pass on the source, 0 (bright) to about 0.7 (dark).
    breathiness : float
        Aspiration noise added to the speaker's own.
    jitter_mult, shimmer_mult : float
        Multiply the speaker's jitter and shimmer.
    tremor_hz, tremor_st : float
        Rate and depth of a pitch tremor (also a 15 % amplitude tremor when ``tremor_st`` > 0.3).
    creak : float
        Strength of creaky phonation at the end of vowels: lower, irregular, alternating pulses.
    f1_scale, f2_scale : float
        Formant shifts (a smile or an open jaw raises F1 and F2).
    peak : float
        Peak level the file is normalised to (louder emotions nearer full scale).
    """

    pitch_shift_st: float
    pitch_range_st: float
    accent: str
    declination_st: float
    final_st: float
    rate: float
    pause_s: float
    accent_db: float
    slope_db: float
    open_quotient: float
    tilt: float
    breathiness: float
    jitter_mult: float
    shimmer_mult: float
    tremor_hz: float
    tremor_st: float
    creak: float
    f1_scale: float
    f2_scale: float
    peak: float


_P = EmotionProsody
#: The prosody of each emotion, following the usual acoustic profiles of acted emotional speech
#: (e.g. Banse & Scherer 1996): anger and fear high and fast, sadness low, slow and breathy, surprise rising.
PROSODY = {
    #            shift range accent  decl  final rate  pause acc  slope  OQ    tilt breath jit  shim trem_hz trem_st creak F1    F2   peak
    "neutral":  _P(0.0, 2.0, "hat", -2.0, -2.0, 1.00, 0.12, 2.0, -2.0, 0.60, 0.30, 0.00, 1.0, 1.0, 0.0, 0.00, 0.0, 1.00, 1.00, 0.68),
    "calm":     _P(-1.0, 1.2, "flat", -1.5, -1.5, 1.15, 0.18, 1.0, -2.0, 0.66, 0.45, 0.04, 0.9, 0.9, 0.0, 0.00, 0.0, 0.99, 0.99, 0.60),
    "happy":    _P(4.0, 7.0, "hat", -2.0, -3.0, 0.90, 0.10, 4.0, -1.0, 0.55, 0.20, 0.00, 1.0, 1.0, 0.0, 0.00, 0.0, 1.03, 1.07, 0.80),
    "sad":      _P(-3.0, 1.5, "fall", -3.0, -2.0, 1.40, 0.30, 1.5, -7.0, 0.72, 0.62, 0.12, 1.4, 1.3, 5.0, 0.20, 0.0, 0.95, 0.97, 0.55),
    "angry":    _P(5.0, 6.0, "fall", -3.0, -5.0, 0.80, 0.08, 6.0, 0.0, 0.42, 0.00, 0.00, 1.2, 1.2, 0.0, 0.00, 0.0, 1.10, 1.02, 0.87),
    "fear":     _P(6.0, 3.0, "rise", -0.5, 2.0, 0.78, 0.10, 2.0, -1.0, 0.60, 0.30, 0.08, 2.5, 2.0, 7.0, 0.70, 0.0, 1.02, 1.03, 0.70),
    "disgust":  _P(-2.5, 3.5, "dip", -2.5, -3.0, 1.30, 0.22, 3.0, -3.0, 0.50, 0.35, 0.02, 2.0, 2.0, 0.0, 0.00, 0.7, 0.97, 0.96, 0.64),
    "surprise": _P(5.0, 8.0, "rise", 2.0, 8.0, 0.95, 0.15, 4.0, 1.0, 0.55, 0.20, 0.03, 1.0, 1.0, 0.0, 0.00, 0.0, 1.04, 1.03, 0.80),
}  # fmt: skip
del _P

# ------------------------------------------------------------------------------------------- text

# Vowel formants F1-F3 in Hz for an adult male (Peterson & Barney 1952).
_VOWELS = {
    "i": (270.0, 2290.0, 3010.0),
    "I": (390.0, 1990.0, 2550.0),
    "a": (730.0, 1090.0, 2440.0),
    "o": (570.0, 840.0, 2410.0),
    "u": (300.0, 870.0, 2240.0),
    "V": (520.0, 1190.0, 2390.0),
    "e": (530.0, 1840.0, 2480.0),
}
# Formant loci F1-F3 the transition into a vowel starts from, per place of articulation.
_LOCI = {
    "labial": (250.0, 900.0, 2200.0),
    "alveolar": (250.0, 1700.0, 2600.0),
    "velar": (250.0, 1900.0, 2300.0),
    "dental": (300.0, 1400.0, 2500.0),
}
# Onset consonants: (kind, place, noise band in Hz, noise level in dB re the vowel RMS, duration in s).
_CONSONANTS = {
    "k": ("plosive", "velar", (1500.0, 4000.0), -8.0, 0.075),
    "t": ("plosive", "alveolar", (3000.0, 7000.0), -8.0, 0.070),
    "b": ("voiced_plosive", "labial", (500.0, 2500.0), -14.0, 0.055),
    "d": ("voiced_plosive", "alveolar", (2500.0, 6000.0), -14.0, 0.055),
    "s": ("fricative", "alveolar", (4000.0, 9000.0), -9.0, 0.095),
    "dh": ("voiced_fricative", "dental", (1500.0, 6000.0), -22.0, 0.045),
    "": ("none", None, None, None, 0.0),
}
# RAVDESS's statements as (onset, vowel start, vowel end, stressed); a phrase pause before syllable 4.
_STATEMENTS = {
    1: (  # "Kids are talking by the door"
        ("k", "I", "I", True), ("", "a", "a", False), ("t", "o", "o", True), ("k", "I", "i", False),
        ("b", "a", "i", True), ("dh", "V", "V", False), ("d", "o", "u", True),
    ),
    2: (  # "Dogs are sitting by the door"
        ("d", "o", "o", True), ("", "a", "a", False), ("s", "I", "I", True), ("t", "I", "i", False),
        ("b", "a", "i", True), ("dh", "V", "V", False), ("d", "o", "u", True),
    ),
}  # fmt: skip
_PHRASE_BREAK = 4  # pause before this syllable (0-based)

_MIN_DURATION_S, _MAX_DURATION_S = 2.0, 3.5
_CONTROL_RATE = 200.0  # pitch and formant contours are built at 5 ms steps, then interpolated
_BLOCK = 128  # samples per block of the time-varying vocal-tract filter (5.8 ms)
_ASPIRATION = 0.35  # white aspiration noise per unit breathiness, against a glottal pulse of peak 1


# -------------------------------------------------------------------------------------- synthesis


def _rosenberg(phase, open_quotient):
    """Rosenberg glottal flow for the fractional cycle position ``phase`` in [0, 1), peak 1."""
    rise = 0.7 * open_quotient
    fall = 0.3 * open_quotient
    opening = 0.5 * (1.0 - np.cos(np.pi * phase / rise))
    closing = np.cos(0.5 * np.pi * np.minimum((phase - rise) / fall, 1.0))
    return np.where(phase < rise, opening, np.where(phase < rise + fall, closing, 0.0))


def _accent_shape(shape, u):
    """Pitch accent over a vowel, ``u`` from 0 to 1, peak about 1."""
    if shape == "hat":
        return np.sin(np.pi * u)
    if shape == "fall":
        return (1.0 - u) ** 2 + 0.3 * np.sin(np.pi * u)
    if shape == "rise":
        return u**1.5
    if shape == "dip":
        return 0.5 + 0.5 * np.cos(2.0 * np.pi * u) - 0.3 * np.sin(np.pi * u)
    return 0.3 * np.sin(np.pi * u)  # flat


def _plan(rng, prosody, statement):
    """Lay out the utterance: segments (kind, start, end, syllable info) in seconds, and its duration."""
    rate = prosody.rate * rng.uniform(0.92, 1.08)
    syllables = _STATEMENTS[statement]
    segments = []
    t = 0.0
    for i, (onset, v_start, v_end, stressed) in enumerate(syllables):
        if i == _PHRASE_BREAK:
            pause = prosody.pause_s * rng.uniform(0.7, 1.3)
            segments.append(("pause", t, t + pause, None))
            t += pause
        if onset:
            # consonants compress and stretch less than vowels
            dur = _CONSONANTS[onset][4] * rate**0.5 * rng.uniform(0.85, 1.15)
            segments.append(("consonant", t, t + dur, onset))
            t += dur
        dur = 0.12 * rate * (1.3 if stressed else 0.8) * rng.uniform(0.85, 1.15)
        if i == len(syllables) - 1:
            dur *= 1.5  # phrase-final lengthening
        segments.append(("vowel", t, t + dur, (i, onset, v_start, v_end, stressed)))
        t += dur
    speech = t
    limit = 2.8  # leaves room for the lead and trail within the maximum duration
    if speech > limit:
        segments = [(kind, a * limit / speech, b * limit / speech, info) for kind, a, b, info in segments]
        speech = limit
    lead = rng.uniform(0.15, 0.35)
    trail = max(rng.uniform(0.2, 0.35), rng.uniform(_MIN_DURATION_S, 2.5) - lead - speech)
    segments = [(kind, a + lead, b + lead, info) for kind, a, b, info in segments]
    return segments, lead, lead + speech, min(lead + speech + trail, _MAX_DURATION_S)


def _pitch_contour(rng, speaker, prosody, segments, speech_start, speech_end, times):
    """f0 in Hz at ``times`` (control rate) and the creak strength there."""
    level = prosody.pitch_shift_st + rng.normal(0.0, 0.8)
    span = prosody.pitch_range_st * rng.uniform(0.75, 1.25)
    pos = np.clip((times - speech_start) / (speech_end - speech_start), 0.0, 1.0)
    semitones = level + prosody.declination_st * rng.uniform(0.7, 1.3) * pos
    creak = np.zeros_like(times)
    vowels = [s for s in segments if s[0] == "vowel"]
    for n, (_, a, b, (i, *_rest, stressed)) in enumerate(vowels):
        inside = (times >= a) & (times < b)
        u = (times[inside] - a) / (b - a)
        weight = (1.0 if stressed else 0.3) * rng.uniform(0.6, 1.2)
        bump = span * weight * _accent_shape(prosody.accent, u)
        if n == len(vowels) - 1:
            bump = bump + prosody.final_st * rng.uniform(0.75, 1.25) * u**1.5
        semitones[inside] += bump
        if prosody.creak > 0 and (n == len(vowels) - 1 or rng.random() < 0.35):
            creak[inside] = prosody.creak * np.clip((u - 0.55) / 0.3, 0.0, 1.0)
    if prosody.tremor_st > 0:
        f = prosody.tremor_hz * rng.uniform(0.85, 1.15)
        semitones += prosody.tremor_st * np.sin(2 * np.pi * f * times + rng.uniform(0, 2 * np.pi))
    # slow random drift, 0.25 semitone at 60 ms knots
    knots = np.arange(0.0, times[-1] + 0.12, 0.06)
    semitones += np.interp(times, knots, rng.normal(0.0, 0.25, knots.size))
    semitones -= 5.0 * creak  # creak drops the pitch
    smooth = np.ones(7) / 7.0  # 35 ms moving average removes jumps between vowels
    semitones = np.convolve(np.pad(semitones, 3, mode="edge"), smooth, mode="valid")
    f0 = speaker.f0_hz * 2.0 ** (semitones / 12.0)
    return np.clip(f0, 0.5 * speaker.f0_hz, min(2.8 * speaker.f0_hz, 650.0)), creak


def _formant_tracks(rng, speaker, prosody, segments, times, sr):
    """F1..F5 and bandwidths B1..B5 in Hz at ``times``, shapes (5, n)."""
    scale = speaker.formant_scale * rng.uniform(0.98, 1.02)
    knots_t, knots_f = [0.0], [_VOWELS["V"]]
    for kind, a, b, info in segments:
        if kind != "vowel":
            continue
        _, onset, v_start, v_end, _stressed = info
        start, end = np.array(_VOWELS[v_start]), np.array(_VOWELS[v_end])
        jitter = rng.uniform(0.95, 1.05, 3)
        start, end = start * jitter, end * jitter
        place = _CONSONANTS[onset][1]
        if place is not None:
            knots_t.append(a)
            knots_f.append(_LOCI[place])
        knots_t += [a + min(0.03, 0.3 * (b - a)), b]
        knots_f += [start, end]
    knots_t.append(times[-1] + 1.0)
    knots_f.append(knots_f[-1])
    knots_t = np.asarray(knots_t)
    knots_f = np.asarray(knots_f, dtype=float)
    f123 = np.stack([np.interp(times, knots_t, knots_f[:, k]) for k in range(3)])
    f123 *= np.array([[prosody.f1_scale], [prosody.f2_scale], [1.0]])
    f45 = np.array([[3400.0], [4400.0]]) * np.ones_like(times)
    freqs = np.concatenate([f123, f45]) * scale
    breath = speaker.breathiness + prosody.breathiness
    bandwidths = np.array([[70.0 + 150.0 * breath], [90.0], [130.0], [220.0], [280.0]]) * np.ones_like(times)
    freqs = np.minimum(freqs, 0.45 * sr)  # keep every resonance below Nyquist
    return freqs, bandwidths


def _vocal_tract(source, freqs, bandwidths, sr):
    """Filter ``source`` through the cascade of resonators, updating the coefficients every block."""
    n = source.size
    n_blocks = -(-n // _BLOCK)
    # freqs and bandwidths: (n_formants, n_blocks), one value per block
    r = np.exp(-np.pi * bandwidths / sr)  # (5, n_blocks)
    c = 2.0 * r * np.cos(2.0 * np.pi * freqs / sr)
    sos = np.zeros((n_blocks, freqs.shape[0], 6))
    sos[..., 0] = (1.0 - c + r * r).T  # unity gain at DC
    sos[..., 3] = 1.0
    sos[..., 4] = -c.T
    sos[..., 5] = (r * r).T
    out = np.empty_like(source)
    zi = np.zeros((freqs.shape[0], 2))
    for k in range(n_blocks):
        sl = slice(k * _BLOCK, min((k + 1) * _BLOCK, n))
        out[sl], zi = scipy.signal.sosfilt(sos[k], source[sl], zi=zi)
    return out


@functools.lru_cache(maxsize=64)
def _bandpass(low, high, sr):
    nyquist = 0.5 * sr
    high = min(high, 0.95 * nyquist)
    low = min(low, 0.5 * high)
    return scipy.signal.butter(2, [low / nyquist, high / nyquist], btype="band", output="sos")


def _ramp_envelope(n, attack, release):
    """1 over ``n`` samples with raised-cosine ramps of ``attack`` and ``release`` samples."""
    env = np.ones(n)
    attack, release = min(attack, n // 2), min(release, n // 2)
    if attack:
        env[:attack] = 0.5 - 0.5 * np.cos(np.pi * np.arange(attack) / attack)
    if release:
        env[n - release :] = 0.5 + 0.5 * np.cos(np.pi * (np.arange(release) + 1) / release)
    return env


def synthesize_utterance(rng, speaker, emotion, sr=DEMO_SR, *, statement=None):
    """Synthesise one emotional utterance of a RAVDESS statement.

    Parameters
    ----------
    rng : np.random.Generator
        Source of all randomness; the same generator state gives the same samples.
    speaker : SpeakerVoice
        The voice, e.g. ``demo_speaker(1)``.
    emotion : str
        One of :data:`data_prep.labels.SEED_EMOTIONS`.
    sr : int
        Sample rate in Hz, at least 16,000.
    statement : {1, 2} or None
        Which statement to speak ("Kids are talking by the door" or "Dogs are sitting by the door");
        ``None`` picks one with ``rng``.

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
        Mono signal, 2.0 to 3.5 s long, peak between 0.5 and 0.9, with a little near-silence before and after.

    Raises
    ------
    DataPrepError
        If ``emotion``, ``sr`` or ``statement`` is not valid.

    Examples
    --------
    >>> y = synthesize_utterance(np.random.default_rng(0), demo_speaker(2), "happy")
    >>> y.dtype, 2.0 <= y.size / 22050 <= 3.5, 0.5 <= float(np.abs(y).max()) <= 0.9
    (dtype('float32'), True, True)
    """
    if emotion not in PROSODY:
        raise DataPrepError(f"unknown emotion {emotion!r}; expected one of {', '.join(PROSODY)}")
    if not isinstance(sr, (int, np.integer)) or isinstance(sr, bool) or sr < 16000:
        raise DataPrepError(f"sample rate {sr!r} is not supported; expected an integer of at least 16000 Hz")
    if statement is None:
        statement = int(rng.integers(1, 3))
    if statement not in _STATEMENTS:
        raise DataPrepError(f"statement {statement!r} is not valid; expected 1 or 2")
    if not isinstance(speaker, SpeakerVoice):
        raise DataPrepError(f"speaker {speaker!r} is not a SpeakerVoice")
    prosody = PROSODY[emotion]

    segments, speech_start, speech_end, duration = _plan(rng, prosody, statement)
    n = int(duration * sr)
    t = np.arange(n) / sr
    times = np.arange(0.0, duration + 2.0 / _CONTROL_RATE, 1.0 / _CONTROL_RATE)

    # ---- excitation contours at the control rate
    f0_c, creak_c = _pitch_contour(rng, speaker, prosody, segments, speech_start, speech_end, times)
    freqs_c, bw_c = _formant_tracks(rng, speaker, prosody, segments, times, sr)
    f0 = np.interp(t, times, f0_c)
    creak = np.interp(t, times, creak_c)

    # ---- voicing gate (with the energy contour) and consonant noise
    gate = np.zeros(n)
    noise_parts = []  # (start sample, signal, envelope, level dB)
    vowels = [s for s in segments if s[0] == "vowel"]
    accent_db = prosody.accent_db * rng.uniform(0.7, 1.3)
    slope_db = prosody.slope_db * rng.uniform(0.7, 1.3)
    for kind, a, b, info in segments:
        i0, i1 = int(a * sr), min(int(b * sr), n)
        if i1 <= i0:
            continue
        length = i1 - i0
        if kind == "vowel":
            idx, onset, _v0, _v1, stressed = info
            pos = idx / max(len(vowels) - 1, 1)
            db = (accent_db if stressed else 0.0) + slope_db * pos + rng.normal(0.0, 1.0)
            attack = int((0.012 if onset else 0.03) * sr)
            gate[i0:i1] += 10.0 ** (db / 20.0) * _ramp_envelope(length, attack, int(0.03 * sr))
        elif kind == "consonant":
            ckind, _place, band, level, _dur = _CONSONANTS[info]
            noise = scipy.signal.sosfilt(_bandpass(band[0], band[1], sr), rng.standard_normal(length))
            if ckind in ("plosive", "voiced_plosive"):
                # closure (silent, or a weak voice bar), then a burst decaying into aspiration
                closure = int(length * 0.55)
                tail = np.arange(length - closure) / sr
                env = np.zeros(length)
                env[closure:] = np.exp(-tail / (0.012 if ckind == "plosive" else 0.006))
                if ckind == "voiced_plosive":
                    gate[i0 : i0 + closure] += 0.08 * _ramp_envelope(closure, int(0.005 * sr), int(0.005 * sr))
            else:
                env = _ramp_envelope(length, int(0.4 * length), int(0.3 * length))
                if ckind == "voiced_fricative":
                    gate[i0:i1] += 0.25 * env
            noise_parts.append((i0, noise * env, env, level + rng.normal(0.0, 1.5)))
    if prosody.tremor_st > 0.3:
        gate *= 1.0 + 0.15 * np.sin(2 * np.pi * prosody.tremor_hz * t + rng.uniform(0, 2 * np.pi))

    # ---- glottal source: jittered pulse train, shimmer, creak, aspiration
    jitter = speaker.jitter * prosody.jitter_mult * (1.0 + 3.0 * creak)
    shimmer = speaker.shimmer * prosody.shimmer_mult * (1.0 + 2.0 * creak)
    n_cycles = int(np.sum(f0) / sr * 1.5) + 16
    cycle0 = np.floor(np.cumsum(f0) / sr).astype(np.int64)
    period_noise = np.clip(rng.standard_normal(n_cycles), -3.0, 3.0)
    inst_f0 = f0 * (1.0 + jitter * period_noise[np.minimum(cycle0, n_cycles - 1)])
    phase = np.cumsum(inst_f0) / sr
    cycle = np.minimum(np.floor(phase).astype(np.int64), n_cycles - 1)
    oq = np.clip(prosody.open_quotient + rng.normal(0.0, 0.03) + 0.1 * creak, 0.3, 0.85)
    pulse = _rosenberg(phase - np.floor(phase), oq)
    amp = np.exp(shimmer * rng.standard_normal(n_cycles)[cycle])
    amp *= np.where(cycle % 2 == 1, 1.0 - 0.6 * creak, 1.0)  # creak: alternating strong and weak pulses
    breath = speaker.breathiness + prosody.breathiness
    aspiration = _ASPIRATION * breath * rng.standard_normal(n) * (0.4 + 0.6 * pulse)
    tilt = np.clip(prosody.tilt + rng.normal(0.0, 0.04), 0.0, 0.9)
    source = scipy.signal.lfilter([1.0 - tilt], [1.0, -tilt], pulse * amp + aspiration)
    source *= gate

    # ---- vocal tract (formants glide block by block), lip radiation
    centres = (np.arange(-(-n // _BLOCK)) + 0.5) * _BLOCK / sr
    freqs = np.stack([np.interp(centres, times, row) for row in freqs_c])
    bws = np.stack([np.interp(centres, times, row) for row in bw_c])
    voiced = _vocal_tract(source, freqs, bws, sr)
    y = np.diff(voiced, prepend=0.0)

    # ---- consonant noise, scaled against the loudness of the vowels
    loud = gate > 0.5 * gate.max()
    vowel_rms = np.sqrt(np.mean(y[loud] ** 2)) if loud.any() else 1.0
    for i0, part, env, level in noise_parts:
        part_rms = np.sqrt(np.sum(part**2) / (np.sum(env**2) + 1e-12)) + 1e-12  # RMS where the noise sounds
        y[i0 : i0 + part.size] += part * (vowel_rms * 10.0 ** (level / 20.0) / part_rms)

    # ---- loudness: peak normalisation to the emotion's level, a faint noise floor
    peak = float(np.clip(prosody.peak + rng.uniform(-0.05, 0.05), 0.5, 0.9))
    y *= peak / np.max(np.abs(y))
    y += 3e-4 * rng.standard_normal(n)
    y = np.clip(y, -0.95, 0.95)
    return y.astype(np.float32)


# ------------------------------------------------------------------------------------------- corpus


def ravdess_filename(emotion, statement, repetition, actor, intensity=1):
    """RAVDESS file name of an audio-only speech utterance.

    Parameters
    ----------
    emotion : str
        One of :data:`RAVDESS_EMOTION_CODES`.
    statement : {1, 2}
    repetition, actor, intensity : int
        Two-digit fields, 1 to 99.

    Returns
    -------
    str

    Examples
    --------
    >>> ravdess_filename("angry", 2, 1, 12)
    '03-01-05-01-02-01-12.wav'
    """
    if emotion not in RAVDESS_EMOTION_CODES:
        raise DataPrepError(f"unknown emotion {emotion!r}; expected one of {', '.join(RAVDESS_EMOTION_CODES)}")
    for name, value in (("statement", statement), ("repetition", repetition), ("actor", actor),
                        ("intensity", intensity)):  # fmt: skip
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or not 1 <= value <= 99:
            raise DataPrepError(f"{name} {value!r} is out of range; expected an integer from 1 to 99")
    code = RAVDESS_EMOTION_CODES[emotion]
    return f"03-01-{code:02d}-{intensity:02d}-{statement:02d}-{repetition:02d}-{actor:02d}.wav"


def default_demo_root():
    """Folder the demo corpus is cached in: ``$FIN_DEMO_DIR`` if set, else ``~/.cache/fin-toolkit/demo_corpus``.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> default_demo_root().name in ("demo_corpus", os.path.basename(os.environ.get("FIN_DEMO_DIR", "")))
    True
    """
    env = os.environ.get("FIN_DEMO_DIR")
    if env:
        return pathlib.Path(env).expanduser()
    return pathlib.Path.home() / ".cache" / "fin-toolkit" / "demo_corpus"


def demo_corpus_arg(seed=DEMO_SEED):
    """The ``--corpus`` argument of the demo corpus, ``"ravdess=<root>"``, generated first if not cached.

    The one fallback every command uses when it is given no corpus (:func:`corpus_args_or_demo`): the corpus is
    written (or found) at :func:`default_demo_root`, in the RAVDESS layout.
    """
    return f"ravdess={generate_demo_corpus(default_demo_root(), seed=seed)}"


def corpus_args_or_demo(corpora, seed=DEMO_SEED):
    """``corpora`` (``NAME=PATH`` arguments) as a list, or the demo corpus's one (:func:`demo_corpus_arg`) if empty.

    Examples
    --------
    >>> corpus_args_or_demo(["emodb=/data/emodb"])
    ['emodb=/data/emodb']
    """
    return list(corpora) if corpora else [demo_corpus_arg(seed)]


def _positive_int(name, value, largest):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or not 1 <= value <= largest:
        raise DataPrepError(f"{name} {value!r} is out of range; expected an integer from 1 to {largest}")
    return int(value)


def _check_emotions(emotions):
    if isinstance(emotions, str):
        emotions = (emotions,)
    emotions = tuple(emotions)
    if not emotions:
        raise DataPrepError("emotions is empty; expected some of " + ", ".join(SEED_EMOTIONS))
    for emotion in emotions:
        if emotion not in SEED_EMOTIONS:
            raise DataPrepError(f"unknown emotion {emotion!r}; expected one of {', '.join(SEED_EMOTIONS)}")
    if len(set(emotions)) != len(emotions):
        raise DataPrepError(f"emotions {emotions!r} repeat a name; expected each at most once")
    return emotions


def _corpus_files(n_speakers, utterances_per_emotion, emotions):
    """(actor, emotion, statement, repetition, relative path) of every file, in a fixed order."""
    files = []
    for actor in range(1, n_speakers + 1):
        for emotion in emotions:
            for index in range(utterances_per_emotion):
                statement, repetition = index % 2 + 1, index // 2 + 1
                name = ravdess_filename(emotion, statement, repetition, actor)
                files.append((actor, emotion, statement, repetition, f"Actor_{actor:02d}/{name}"))
    return files


def _write_wav(path, y, sr):
    pcm = np.round(np.clip(y, -1.0, 1.0) * 32767.0).astype("<i2")  # 16-bit PCM, rounded here, not by libsndfile
    # the temporary name is hidden (a leading dot), so the corpus loaders never pick up a half-written file
    atomic_write(path, lambda tmp: soundfile.write(tmp, pcm, sr, format="WAV", subtype="PCM_16"))


def _write_json(path, data):
    text = json.dumps(data, indent=1) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _read_manifest(root):
    path = root / MANIFEST_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _generate(root, seed, n_speakers, utterances_per_emotion, emotions, sr, overwrite):
    """Generate (or find) the corpus; returns (root, number of files, whether anything was written)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataPrepError(f"seed {seed!r} is not valid; expected a non-negative integer")
    n_speakers = _positive_int("n_speakers", n_speakers, _MAX_ACTORS)
    utterances_per_emotion = _positive_int("utterances_per_emotion", utterances_per_emotion, _MAX_PER_EMOTION)
    emotions = _check_emotions(emotions)
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr < 16000:
        raise DataPrepError(f"sample rate {sr!r} is not supported; expected an integer of at least 16000 Hz")
    root = pathlib.Path(root).expanduser()
    if root.exists() and not root.is_dir():
        raise DataPrepError(f"demo corpus root {str(root)!r} is not a folder")

    params = {
        "generator": "data_prep.demo",
        "version": GENERATOR_VERSION,
        "seed": int(seed),
        "n_speakers": n_speakers,
        "utterances_per_emotion": utterances_per_emotion,
        "emotions": list(emotions),
        "sr": int(sr),
    }
    files = _corpus_files(n_speakers, utterances_per_emotion, emotions)
    old = _read_manifest(root) if root.is_dir() else None
    if old is None and root.is_dir() and any(root.iterdir()):
        raise DataPrepError(
            f"demo corpus root {str(root)!r} is not empty and holds no {MANIFEST_NAME}; expected an empty or "
            "missing folder, or one holding a demo corpus (refusing to write among other files)"
        )
    if (
        not overwrite
        and old is not None
        and old.get("complete")
        and old.get("parameters") == params
        and all((root / rel).is_file() for *_, rel in files)
    ):
        return root, len(files), False

    # start over: forget the old corpus's files (only those this generator listed), mark the folder ours
    root.mkdir(parents=True, exist_ok=True)
    wanted = {rel for *_, rel in files}
    if old is not None:
        for rel in old.get("files", []):
            stale = root / rel
            if rel not in wanted and stale.is_file() and stale.suffix == ".wav":
                stale.unlink()
                if stale.parent != root and not any(stale.parent.iterdir()):
                    stale.parent.rmdir()
    manifest = {"parameters": params, "complete": False, "statements": {
        "1": "Kids are talking by the door", "2": "Dogs are sitting by the door"}}  # fmt: skip
    _write_json(root / MANIFEST_NAME, {**manifest, "files": sorted(wanted | set(old.get("files", []) if old else []))})

    for actor, emotion, statement, repetition, rel in files:
        # keyed on what the file is, not on when it is made
        key = (int(actor), RAVDESS_EMOTION_CODES[emotion], int(statement), int(repetition))
        rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(1,) + key))
        y = synthesize_utterance(rng, demo_speaker(actor, seed), emotion, int(sr), statement=statement)
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_wav(path, y, int(sr))

    speakers = {f"{a:02d}": dataclasses.asdict(demo_speaker(a, seed)) for a in range(1, n_speakers + 1)}
    _write_json(
        root / MANIFEST_NAME,
        {**manifest, "complete": True, "n_files": len(files), "speakers": speakers, "files": [f[-1] for f in files]},
    )
    return root, len(files), True


def generate_demo_corpus(
    root,
    *,
    seed=DEMO_SEED,
    n_speakers=6,
    utterances_per_emotion=3,
    emotions=SEED_EMOTIONS,
    sr=DEMO_SR,
    overwrite=False,
):
    """Write the synthetic emotional-speech corpus in the RAVDESS layout, or find it already there.

    Parameters
    ----------
    root : str or Path
        Folder to write into; created if missing. It must be empty, missing, or hold a demo corpus.
    seed : int
        Seed of every random choice; the same seed gives byte-identical files.
    n_speakers : int
        Actors ``Actor_01`` ... ; odd numbers are male, even female. The first six are :data:`DEMO_SPEAKERS`.
    utterances_per_emotion : int
        Files per actor and emotion, alternating the two statements: statement 1 and 2 of repetition 1,
        then of repetition 2, and so on.
    emotions : sequence of str
        Some of :data:`data_prep.labels.SEED_EMOTIONS`.
    sr : int
        Sample rate in Hz.
    overwrite : bool
        Regenerate even if ``root`` already holds a corpus made with the same parameters.

    Returns
    -------
    root : pathlib.Path
        The corpus folder, holding ``Actor_XX/03-01-EE-01-SS-RR-XX.wav`` (16-bit PCM) and ``demo_corpus.json``.

    Raises
    ------
    DataPrepError
        If a parameter is out of range, or ``root`` holds other files and no demo corpus.

    Notes
    -----
    A second call with the same parameters returns at once without touching the files. With different
    parameters the corpus is regenerated and files of the old one that the new one lacks are removed.
    Each file is written under a temporary name and moved into place, so an interrupted run leaves no
    truncated file, and the parameter file is marked complete only at the end.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     root = generate_demo_corpus(tmp, n_speakers=1, utterances_per_emotion=1, emotions=("angry", "sad"))
    ...     sorted(p.name for p in root.glob("Actor_*/*.wav"))
    ['03-01-04-01-01-01-01.wav', '03-01-05-01-01-01-01.wav']
    """
    return _generate(root, seed, n_speakers, utterances_per_emotion, emotions, sr, overwrite)[0]


# ---------------------------------------------------------------------------------------------- CLI


def _arg_int(low, high):
    def parse(text):
        try:
            value = int(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from err
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range; expected {low} to {high}")
        return value

    return parse


def main(argv=None):
    """Command line: ``python -m data_prep.demo [--out DIR] [--seed S] [--speakers N] [--per-emotion N]``.

    Returns
    -------
    int
        Exit status: 0 on success, 1 on a :class:`DataPrepError` (bad arguments exit 2 through argparse).

    Examples
    --------
    >>> import tempfile, contextlib, io
    >>> with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()) as out:
    ...     status = main(["--out", tmp, "--speakers", "1", "--per-emotion", "1"])
    >>> status, "wrote 8 files" in out.getvalue()
    (0, True)
    """
    parser = argparse.ArgumentParser(
        prog="python -m data_prep.demo",
        description="Write the built-in synthetic emotional-speech corpus (RAVDESS layout).",
    )
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help="corpus folder (default: $FIN_DEMO_DIR or ~/.cache/fin-toolkit/demo_corpus)")  # fmt: skip
    parser.add_argument("--seed", type=_arg_int(0, 2**63 - 1), default=DEMO_SEED, help="random seed (default: 0)")
    parser.add_argument("--speakers", type=_arg_int(1, _MAX_ACTORS), default=6, help="number of actors (default: 6)")
    parser.add_argument("--per-emotion", type=_arg_int(1, _MAX_PER_EMOTION), default=3,
                        help="utterances per actor and emotion (default: 3)")  # fmt: skip
    parser.add_argument("--overwrite", action="store_true", help="regenerate even if the corpus is already there")
    args = parser.parse_args(argv)
    out = args.out if args.out is not None else default_demo_root()
    try:
        root, n_files, written = _generate(out, args.seed, args.speakers, args.per_emotion, SEED_EMOTIONS, DEMO_SR,
                                           args.overwrite)  # fmt: skip
    except DataPrepError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    verb = "wrote" if written else "already there:"
    print(f"{verb} {n_files} files ({args.speakers} speakers x {len(SEED_EMOTIONS)} emotions x "
          f"{args.per_emotion}) in {root}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
