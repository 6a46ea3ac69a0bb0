"""The maths of the FIN layers: closed-form operators (numpy) and their forward passes (``keras.ops``).

The layers in :mod:`fin.layers` only hold weights and constants and call these functions. Two kinds live here:

- **closed-form operators** (numpy, computed once when a layer is built): librosa's window, the factors of a
  mixed-radix DFT, the DCT-II matrix, the tuning histogram edges and their float32 cell table;
- **forward functions** (``keras.ops`` only, so they run on any Keras backend): the factorised DFT, power and
  magnitude, ``power_to_db`` per frame, max normalisation, RMS, ZCR and librosa's tuning estimate.

Axis convention: every tensor is ``(batch, ..., features)``, one row per 2048-sample frame, as Keras wants;
librosa's ``(features, frames)`` layout never appears in this package.
"""

import functools

import numpy as np
from keras import ops

from fin.errors import FINError

# ---------------------------------------------------------------------------------------------------------
# closed-form operators (numpy)
# ---------------------------------------------------------------------------------------------------------


def hann_window(n_fft=2048):
    """librosa's STFT window: the periodic Hann window, ``get_window('hann', n_fft, fftbins=True)``.

    Returns
    -------
    window : np.ndarray [shape=(n_fft,), dtype=float32]

    Examples
    --------
    >>> w = hann_window(2048)
    >>> w.shape, round(float(w[0]), 6), round(float(w[1024]), 6)
    ((2048,), 0.0, 1.0)
    """
    import librosa

    return librosa.filters.get_window("hann", n_fft, fftbins=True).astype(np.float32)


def check_dft_factors(n_fft, factors, n_bins):
    """Validate a two-stage factorisation ``n_fft = N1 * N2``; return ``(N1, N2, K2)``.

    ``K2 = ceil(n_bins / N1)`` is the number of second-stage outputs needed to cover bins ``0 .. n_bins-1``.
    """
    if len(factors) != 2 or int(factors[0]) * int(factors[1]) != n_fft:
        raise FINError(f"DFT factors {tuple(factors)} must be two integers whose product is n_fft={n_fft}")
    n1, n2 = int(factors[0]), int(factors[1])
    k2 = -(-n_bins // n1)
    if not 1 <= n_bins <= n_fft or k2 > n2:
        raise FINError(f"n_bins={n_bins} must lie in 1..{n_fft}")
    return n1, n2, k2


def dft_factors(n_fft=2048, factors=(32, 64), n_bins=None):
    """The three factors of a two-stage (Cooley-Tukey, decimation in time) real-input DFT.

    With ``n_fft = N1 * N2``, sample index ``n = N2 * n1 + n2`` and bin index ``k = k1 + N1 * k2``::

        X[k] = sum_n2 F2[n2, k2] * ( W[k1, n2] * sum_n1 F1[k1, n1] * x[N2 * n1 + n2] )

        F1[k1, n1] = exp(-2j pi k1 n1 / N1)      N1-point DFT over the "rows" of x.reshape(N1, N2)
        W[k1, n2]  = exp(-2j pi k1 n2 / n_fft)   twiddle factors
        F2[n2, k2] = exp(-2j pi n2 k2 / N2)      N2-point DFT, only the K2 = ceil(n_bins / N1) columns needed

    so ``1 + n_fft // 2`` bins of a real frame cost ``N1 * N1 * N2 * 2 + N1 * (2 * N2) * (2 * K2)``
    multiply-adds (0.4 M for 2048 = 32 x 64) instead of ``2048 * 2050`` (4.2 M) for a dense projection.

    Returns
    -------
    stage1 : np.ndarray [shape=(2, N1, N1), dtype=float32]
        Real and imaginary parts of ``F1`` indexed ``[k1, n1]``.
    twiddle : np.ndarray [shape=(2, N1, N2), dtype=float32]
        Real and imaginary parts of ``W`` indexed ``[k1, n2]``.
    stage2 : np.ndarray [shape=(2, N2, K2), dtype=float32]
        Real and imaginary parts of ``F2`` indexed ``[n2, k2]``.

    Examples
    --------
    >>> s1, tw, s2 = dft_factors(2048, (32, 64))
    >>> s1.shape, tw.shape, s2.shape
    ((2, 32, 32), (2, 32, 64), (2, 64, 33))
    """
    n_bins = 1 + n_fft // 2 if n_bins is None else n_bins
    n1, n2, k2 = check_dft_factors(n_fft, factors, n_bins)
    f1 = np.exp(-2j * np.pi * np.outer(np.arange(n1), np.arange(n1)) / n1)
    w = np.exp(-2j * np.pi * np.outer(np.arange(n1), np.arange(n2)) / n_fft)
    f2 = np.exp(-2j * np.pi * np.outer(np.arange(n2), np.arange(k2)) / n2)
    return tuple(np.stack([m.real, m.imag]).astype(np.float32) for m in (f1, w, f2))


def dct_matrix(n_in=128, n_out=20):
    """DCT-II with orthonormal scaling as a matrix applied on the right: ``y = x @ D``.

    ``D = scipy.fft.dct(np.eye(n_in), type=2, norm='ortho', axis=0)[:n_out].T``, so ``x @ D`` equals
    ``scipy.fft.dct(x, type=2, norm='ortho', axis=-1)[..., :n_out]``, librosa's MFCC transform.

    Returns
    -------
    D : np.ndarray [shape=(n_in, n_out), dtype=float32]
    """
    import scipy.fft

    return np.ascontiguousarray(scipy.fft.dct(np.eye(n_in), type=2, norm="ortho", axis=0)[:n_out].T, dtype=np.float32)


def tuning_edges(resolution=0.01):
    """``estimate_tuning``'s histogram edges: ``np.linspace(-0.5, 0.5, ceil(1 / resolution) + 1)`` (float64)."""
    return np.linspace(-0.5, 0.5, int(np.ceil(1.0 / resolution)) + 1)


def float32_ceil(values):
    """The smallest float32 ``>= v`` for each float64 ``v``.

    For a float32 ``r``, ``r >= v`` holds exactly when ``r >= float32_ceil(v)``: comparing float32 residuals
    with these edges reproduces numpy's float64 histogram binning bit for bit.
    """
    values = np.asarray(values, dtype=np.float64)
    rounded = values.astype(np.float32)
    return np.where(rounded < values, np.nextafter(rounded, np.float32(np.inf)), rounded).astype(np.float32)


def piptrack_bins(sr=22050, n_fft=2048, fmin=150.0, fmax=4000.0):
    """Bins ``lo .. hi-1`` that ``piptrack`` searches: ``fmin <= f_k < min(fmax, sr / 2)``.

    Raises :class:`FINError` unless every such bin has a neighbour on both sides (the local-maximum and
    parabolic rules are then the interior ones; librosa's edge rules never apply).
    """
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / sr)
    inside = np.nonzero((max(fmin, 0.0) <= freqs) & (freqs < min(fmax, sr / 2.0)))[0]
    if inside.size == 0 or inside[0] < 1 or inside[-1] > len(freqs) - 2:
        raise FINError(f"fmin={fmin}, fmax={fmax} must select interior FFT bins at sr={sr}, n_fft={n_fft}")
    return int(inside[0]), int(inside[-1]) + 1


def _float32_keys(x):
    """Integer keys in the order of the float32 values ``x`` (``-0.0`` and ``0.0`` share key 0)."""
    bits = np.asarray(x, dtype=np.float32).view(np.int32).astype(np.int64)
    return np.where(bits < 0, -(bits & 0x7FFFFFFF), bits)


def _float32_from_keys(keys):
    keys = np.asarray(keys, dtype=np.int64)
    bits = np.where(keys < 0, (-keys) | 0x80000000, keys).astype(np.uint32)
    return bits.view(np.float32)


def tuning_cells(k, shift, sr, n_fft, edges, bins_per_octave):
    """The tuning cell ``n_hist * semitone + bin`` of a peak at FFT bin ``k`` shifted by ``shift`` (float32).

    Mirrors :func:`estimate_tuning_index` step by step (pitch rounded once from float64, float32 ratio,
    TensorFlow's float64 ``log2`` rounded to float32, the float32 edges), so it gives the layer's histogram bin
    (``cell mod n_hist``) bit for bit. The cell grows with ``shift``: a semitone's bins, then the next semitone's.
    """
    n_hist = len(edges) - 1
    shift = np.asarray(shift, dtype=np.float32)
    pitch = ((np.asarray(k, dtype=np.float64) + shift) * float(sr) / n_fft).astype(np.float32)
    ratio = pitch / np.float32(27.5)
    log2 = ops.convert_to_numpy(ops.log2(ops.convert_to_tensor(ratio.astype(np.float64))))  # the layer's kernel
    octaves = np.float32(bins_per_octave) * log2.astype(np.float32)
    whole = np.floor(octaves)
    residual = octaves - whole
    wrap = residual >= 0.5
    residual = np.where(wrap, residual - np.float32(1.0), residual)
    index = np.clip(np.searchsorted(edges, residual, side="right") - 1, 0, n_hist - 1)
    return n_hist * (whole.astype(np.int64) + wrap) + index


@functools.lru_cache(maxsize=4)
def tuning_cell_table(lo, hi, sr=22050, n_fft=2048, resolution=0.01, bins_per_octave=12):
    """Where the tuning cell of each searched FFT bin changes, as thresholds on the interpolation shift.

    For bin ``k`` the parabolic shift lies in ``[-1, 1]`` and the layer's cell (:func:`tuning_cells`) is a
    non-decreasing step function of it; ``thresholds[k - lo, j]`` is the smallest float32 shift whose cell is at
    least ``first[k - lo] + j + 1`` (found by bisection over the float32 values), so the cell of a shift ``s``
    is ``first[k - lo] + sum(s >= thresholds[k - lo])``. Rows are padded with ``+inf``.

    Returns
    -------
    thresholds : np.ndarray [shape=(hi - lo, width), dtype=float32]
    first : np.ndarray [shape=(hi - lo,), dtype=int32]
        The cell at shift ``-1``.
    """
    edges = float32_ceil(tuning_edges(resolution))
    bins = np.arange(lo, hi)
    cells = lambda k, s: tuning_cells(k, s, sr, n_fft, edges, bins_per_octave)  # noqa: E731
    first = cells(bins, np.full(bins.shape, -1.0, np.float32))
    last = cells(bins, np.full(bins.shape, 1.0, np.float32))
    rows = np.repeat(np.arange(len(bins)), last - first)
    targets = first[rows] + 1 + np.concatenate([np.arange(n) for n in last - first]) if rows.size else rows
    below = np.full(rows.shape, _float32_keys(-1.0)[()], np.int64)  # cell < target here
    above = np.full(rows.shape, _float32_keys(1.0)[()], np.int64)  # cell >= target here
    while np.any(above - below > 1):
        middle = (below + above) // 2
        reached = cells(bins[rows], _float32_from_keys(middle)) >= targets
        above, below = np.where(reached, middle, above), np.where(reached, below, middle)
    width = int((last - first).max(initial=1))
    thresholds = np.full((len(bins), width), np.inf, np.float32)
    thresholds[rows, targets - first[rows] - 1] = _float32_from_keys(above)
    return thresholds, first.astype(np.int32)


# ---------------------------------------------------------------------------------------------------------
# forward functions (keras.ops)
# ---------------------------------------------------------------------------------------------------------


def safe_sqrt(x):
    """``sqrt(x)`` with a finite gradient at ``x = 0`` (there it is 0): the forward stays exact.

    ``sqrt(x + eps)`` would make silent frames non-zero, and librosa maps them to exact zeros.
    """
    positive = x > 0
    return ops.where(positive, ops.sqrt(ops.where(positive, x, ops.ones_like(x))), ops.zeros_like(x))


def factorised_rdft(frames, stage1, twiddle, stage2, n_bins):
    """Bins ``0 .. n_bins-1`` of the DFT of real frames, by the two-stage factorisation of :func:`dft_factors`.

    Parameters
    ----------
    frames : tensor [shape=(batch, N1 * N2)]
    stage1 : tensor [shape=(2, N1, N1)]
        First-stage matrix (real, imaginary), indexed ``[k1, n1]``.
    twiddle : tensor [shape=(2, N1, N2)]
        Twiddle factors (real, imaginary), indexed ``[k1, n2]``.
    stage2 : tensor [shape=(2, N2, K2)]
        Second-stage matrix (real, imaginary), indexed ``[n2, k2]``.
    n_bins : int
        Bins kept, ``<= N1 * K2``.

    Returns
    -------
    real, imag : tensor [shape=(batch, n_bins)]
        In natural bin order.
    """
    n1, n2 = stage1.shape[1], twiddle.shape[2]
    k2 = stage2.shape[2]
    # The layout keeps every large tensor in a matmul and no elementwise pass over it (a CPU runs those without
    # fusion: the twiddle products on (batch, N1, N2) cost as much as both DFT stages, forward and backward).
    # Stage 1, real input, as one 2D matmul: rows (real|imag, k1), columns (frame b, n2).
    batch = ops.shape(frames)[0]  # named, not -1, in the reshapes: TFLite cannot infer a -1 that is not leading
    x = ops.reshape(ops.transpose(ops.reshape(frames, (batch, n1, n2)), (1, 0, 2)), (n1, batch * n2))  # x[n1, (b, n2)]
    a = ops.matmul(ops.concatenate([stage1[0], stage1[1]], axis=0), x)  # (2 * N1, batch * N2)
    a = ops.reshape(ops.transpose(ops.reshape(a, (2, n1, batch, n2)), (1, 2, 0, 3)), (n1, batch, 2 * n2))  # a[k1, b, (re|im, n2)]
    # The twiddles scale the rows of stage 2, one (N2, K2) complex matrix per k1: G[k1] = diag(W[k1]) F2, a small
    # (N1, N2, K2) product; complex times complex as one real matmul [a_re, a_im] @ [[G_re, G_im], [-G_im, G_re]].
    w_re, w_im = twiddle[0][:, :, None], twiddle[1][:, :, None]
    f_re, f_im = stage2[0][None], stage2[1][None]
    g_re = w_re * f_re - w_im * f_im
    g_im = w_re * f_im + w_im * f_re
    g = ops.concatenate([ops.concatenate([g_re, g_im], axis=2), ops.concatenate([-g_im, g_re], axis=2)], axis=1)
    y = ops.matmul(a, g)  # (N1, batch, 2 * K2), y[k1, b, (re|im, k2)]
    # natural order k = k1 + N1 * k2: put k2 before k1, flatten, keep the first n_bins
    y = ops.transpose(ops.reshape(y, (n1, batch, 2, k2)), (1, 2, 3, 0))
    y = ops.reshape(y, (batch, 2, k2 * n1))[:, :, :n_bins]
    return y[:, 0], y[:, 1]


def power_to_db(power, amin=1e-10, top_db=80.0):
    """``librosa.power_to_db(p, ref=1.0, amin, top_db)`` on each row ``p`` separately.

    ``10 * log10(max(amin, p))``, then ``max(x, max_over_bins(x) - top_db)``; ``top_db=None`` skips the clip.

    Parameters
    ----------
    power : tensor [shape=(batch, n_bins)]

    Returns
    -------
    db : tensor [shape=(batch, n_bins)]
    """
    db = 10.0 * ops.log10(ops.maximum(power, amin))
    if top_db is None:
        return db
    return ops.maximum(db, ops.max(db, axis=-1, keepdims=True) - top_db)


def max_normalize(x, threshold=None):
    """``librosa.util.normalize(x, norm=np.inf, axis=-1)``: divide each row by its largest ``|x|``.

    A row whose largest ``|x|`` is below ``threshold`` (default: the smallest normal float32, librosa's
    ``tiny``) is left as it is.

    Parameters
    ----------
    x : tensor [shape=(batch, n)]
    """
    threshold = float(np.finfo(np.float32).tiny) if threshold is None else threshold
    norm = ops.max(ops.abs(x), axis=-1, keepdims=True)
    return x / ops.where(norm < threshold, ops.ones_like(norm), norm)


def weighted_rms(frames, weights):
    """``sqrt(sum_n w[n] * x[n]**2)``: librosa's RMS when ``w = 1 / frame_length``.

    Parameters
    ----------
    frames : tensor [shape=(batch, n)]
    weights : tensor [shape=(n,)]

    Returns
    -------
    rms : tensor [shape=(batch, 1)]
    """
    return safe_sqrt(ops.sum(ops.square(frames) * weights, axis=-1, keepdims=True))


def zero_crossings(frames, threshold=1e-10, sharpness=1000.0):
    """librosa's zero crossings between adjacent samples, with a surrogate gradient.

    Forward (exact): samples with ``|x| <= threshold`` become ``+0``; pair ``i`` crosses when the sign bits of
    ``x[i]`` and ``x[i+1]`` differ (zero counts as positive), as ``librosa.zero_crossings(pad=False)``.

    Backward: the count is piecewise constant, so the gradient is that of the smooth surrogate
    ``c_i = (1 - tanh(a x[i]) tanh(a x[i+1])) / 2`` with a fixed sharpness ``a`` (a straight-through estimator
    written as a custom gradient, so the forward pass never evaluates the surrogate).

    Parameters
    ----------
    frames : tensor [shape=(batch, n)]

    Returns
    -------
    crossings : tensor [shape=(batch, n - 1)]
        1.0 where the pair crosses, else 0.0.
    """

    @ops.custom_gradient
    def crossings(x):
        clean = ops.where(ops.abs(x) <= threshold, ops.zeros_like(x), x)
        negative = clean < 0
        hard = ops.cast(ops.not_equal(negative[:, 1:], negative[:, :-1]), x.dtype)

        def grad(*args, upstream=None):
            upstream = args[0] if upstream is None else upstream
            t = ops.tanh(sharpness * x)
            slope = -0.5 * sharpness * (1.0 - ops.square(t))  # d c_i / d x[i] = slope[i] * t[i+1], and mirrored
            pad = ops.zeros_like(upstream[:, :1])
            from_left = ops.concatenate([pad, upstream * t[:, :-1]], axis=-1)  # pair i-1 -> sample i
            from_right = ops.concatenate([upstream * t[:, 1:], pad], axis=-1)  # pair i -> sample i
            return slope * (from_left + from_right)

        return hard, grad

    return crossings(frames)


def zero_crossing_rate(frames, weights, threshold=1e-10, sharpness=1000.0):
    """``sum_i w[i] * crossing[i]`` over the ``n - 1`` adjacent pairs of each frame (:func:`zero_crossings`).

    With ``w = 1 / n`` this is ``librosa.feature.zero_crossing_rate(..., center=False)`` of the frame: with
    ``pad=False`` the first sample never counts and the mean is over ``n``. The weights get their exact
    gradient ``crossing[i]``; the frame gets the surrogate one.

    Parameters
    ----------
    frames : tensor [shape=(batch, n)]
    weights : tensor [shape=(n - 1,)]

    Returns
    -------
    zcr : tensor [shape=(batch, 1)]
    """
    return ops.sum(zero_crossings(frames, threshold, sharpness) * weights, axis=-1, keepdims=True)


def log_mean_power(x, eps=1e-8):
    """``log(mean_t x[:, t, c]**2 + eps)``: the energy of each channel of a filterbank over time, in nepers.

    Parameters
    ----------
    x : tensor [shape=(batch, time, channels)]

    Returns
    -------
    y : tensor [shape=(batch, channels)]
    """
    return ops.log(ops.mean(ops.square(x), axis=1) + eps)


def _masked_median(values, mask):
    """``median(values[i][mask[i]])`` per row (``+inf`` where the mask is empty), like ``np.median``.

    ``mask`` marks local maxima, which are never adjacent, so a row of ``n`` holds at most ``ceil(n / 2)`` and
    the median needs only the ``ceil(n / 2) // 2 + 1`` smallest: ``top_k`` of the negated values with that
    static ``k`` orders them, faster than sorting the row and compilable by XLA.
    """
    n = values.shape[-1]
    k = min((n + 1) // 2 // 2 + 1, n)
    count = ops.sum(ops.cast(mask, "int32"), axis=-1, keepdims=True)
    lowest, _ = ops.top_k(ops.where(mask, -values, ops.full_like(values, -np.inf)), k)
    ordered = -lowest  # ascending: the k smallest of the masked values, then +inf
    low = ops.take_along_axis(ordered, ops.maximum(count - 1, 0) // 2, axis=-1)
    high = ops.take_along_axis(ordered, ops.maximum(count, 1) // 2 - ops.cast(count == 0, "int32"), axis=-1)
    median = ops.where(count % 2 == 1, low, (low + high) / 2.0)
    return ops.where(count > 0, median, ops.full_like(median, np.inf))


def estimate_tuning_index(S, lo, hi, sr, n_fft, edges, zero_index, threshold=0.1, bins_per_octave=12, cells=None):
    """``librosa.estimate_tuning(S=S_i)`` of every frame, as an index into the tuning histogram.

    ``piptrack``'s rules on each frame's magnitude spectrum: threshold at ``threshold * max(S_i)``; local maxima
    (``x[k] > x[k-1]`` and ``x[k] >= x[k+1]``) of the thresholded spectrum within bins ``lo .. hi-1``;
    parabolic interpolation ``shift = -b / a`` (0 where ``|b| >= |a|``) with ``a = x[k+1] + x[k-1] - 2 x[k]``,
    ``b = (x[k+1] - x[k-1]) / 2``; magnitude ``x[k] + b * shift / 2``; pitch ``(k + shift) * sr / n_fft``.
    Then ``estimate_tuning``: keep the peaks whose magnitude is at least their median, take
    ``12 * log2(f / 27.5) mod 1`` shifted into ``[-0.5, 0.5)``, histogram, first arg-max.

    Two roundings of the same steps. By default (``cells=None``, the :class:`fin.layers.TuningEstimate` layer)
    librosa's, step by step, with float64 where librosa computes in float64, and the histogram as one segment
    sum. With ``cells`` (the TFLite export, which has no float64 kernels and no ``DenseBincount``) float32 and
    builtin ops only: ``a`` is rounded to float32 before ``shift = -b / a`` (librosa divides in float64: the
    shift can differ by an ulp), the pitch, its log and the histogram bin come from exact comparisons of the
    shift with :func:`tuning_cell_table`'s thresholds (which give the default's bin for the same shift bit for
    bit), and the histogram is a sum of one-hot rows.

    Parameters
    ----------
    S : tensor [shape=(batch, n_bins)]
        Magnitude spectra (not power).
    lo, hi : int
        Searched bins, from :func:`piptrack_bins`.
    sr, n_fft : int
        Sample rate and FFT size: bin ``k`` is at ``k * sr / n_fft`` Hz.
    edges : np.ndarray [shape=(n_hist + 1,), dtype=float32]
        Histogram edges rounded up to float32 (:func:`float32_ceil` of :func:`tuning_edges`).
    zero_index : int
        Index returned for a frame without any peak (librosa's tuning 0.0).
    cells : tuple of np.ndarray or None
        ``(thresholds, first)`` from :func:`tuning_cell_table` for these ``lo, hi, sr, n_fft`` and edges: the
        float32-only variant.

    Returns
    -------
    index : tensor [shape=(batch,), dtype=int32]
        ``edges[index]`` is the frame's estimated tuning. Not differentiable (an arg-max).
    """
    n_hist = len(edges) - 1
    ref = threshold * ops.max(S, axis=-1, keepdims=True)
    gated = ops.where(S > ref, S, ops.zeros_like(S))
    prev, cur, nxt = S[:, lo - 1 : hi - 1], S[:, lo:hi], S[:, lo + 1 : hi + 1]
    peak = (gated[:, lo:hi] > gated[:, lo - 1 : hi - 1]) & (gated[:, lo:hi] >= gated[:, lo + 1 : hi + 1])
    # By default rounding follows librosa step by step, so that equal spectra give equal histograms: its
    # parabolic stencil mixes float32 sums with float64 products, its pitch is computed in float64 and stored in
    # float32, and hz_to_octs runs in float32 (log2 taken here in float64 and rounded: numpy's float32 log2 is
    # within an ulp of that, where TensorFlow's float32 log(x) / log(2) is not).
    f64 = (lambda t: ops.cast(t, "float64")) if cells is None else (lambda t: t)  # noqa: E731
    a = f64(nxt + prev) - 2.0 * f64(cur)
    b = f64(nxt - prev) / 2.0
    interpolate = ops.abs(b) < ops.abs(a)
    shift = ops.cast(ops.where(interpolate, -b / ops.where(interpolate, a, ops.ones_like(a)), ops.zeros_like(a)), S.dtype)
    magnitude = cur + (0.5 * ((nxt - prev) / 2.0)) * shift
    selected = peak & (magnitude >= _masked_median(magnitude, peak))
    if cells is None:
        index = _tuning_bin(shift, selected, lo, hi, sr, n_fft, edges, bins_per_octave, S.dtype)
    else:
        thresholds, first = cells
        passed = ops.cast(ops.expand_dims(shift, -1) >= ops.convert_to_tensor(thresholds), "int32")
        index = (ops.convert_to_tensor(first) + ops.sum(passed, axis=-1)) % n_hist  # (batch, hi - lo)
    index = ops.where(selected, index, n_hist)  # unselected peaks go to an overflow bin, dropped below
    if cells is None:
        # per-frame histogram as one segment sum over (frame, bin) ids: XLA-compilable, unlike a batched bincount
        batch = ops.shape(S)[0]
        ids = ops.reshape(index + ops.arange(batch, dtype="int32")[:, None] * (n_hist + 1), (-1,))
        counts = ops.segment_sum(ops.ones_like(ids, dtype=S.dtype), ids, num_segments=batch * (n_hist + 1))  # exact
        counts = ops.reshape(counts, (-1, n_hist + 1))[:, :n_hist]
    else:
        counts = ops.sum(ops.one_hot(index, n_hist + 1, dtype="int32"), axis=1)[:, :n_hist]
    best = ops.max(counts, axis=-1, keepdims=True)
    first_best = ops.min(ops.where(counts == best, ops.arange(n_hist, dtype="int32"), n_hist), axis=-1)
    return ops.cast(ops.where(ops.sum(counts, axis=-1) > 0, first_best, zero_index), "int32")


def _tuning_bin(shift, selected, lo, hi, sr, n_fft, edges, bins_per_octave, dtype):
    """The histogram bin of each peak's pitch, librosa's rounding (float64 pitch and log2, float32 residual)."""
    n_hist = len(edges) - 1
    f64 = lambda t: ops.cast(t, "float64")  # noqa: E731
    bins = ops.arange(lo, hi, dtype="float64")
    pitch = ops.cast((bins + f64(shift)) * float(sr) / n_fft, dtype)
    ratio = ops.where(selected, pitch, ops.full_like(pitch, 27.5)) / 27.5  # hz_to_octs, A440 / 16 = 27.5 Hz
    octaves = bins_per_octave * ops.cast(ops.log2(f64(ratio)), dtype)
    residual = octaves - ops.floor(octaves)  # == np.mod(octaves, 1.0) exactly, as octaves >= 0; 4x faster
    residual = ops.where(residual >= 0.5, residual - 1.0, residual)
    # a first guess from the uniform width, corrected against the exact edges
    edges_t = ops.convert_to_tensor(edges)
    index = ops.clip(ops.cast(ops.floor((residual - edges[0]) * (n_hist / (edges[-1] - edges[0]))), "int32"), 0, n_hist - 1)
    index = ops.where(residual < ops.take(edges_t, index), index - 1, index)
    index = ops.clip(index, 0, n_hist - 1)
    return ops.where((residual >= ops.take(edges_t, index + 1)) & (index < n_hist - 1), index + 1, index)


def normalize_power(frames, eps=1e-20):
    """Split frames into unit-power frames and their mean power: ``x / sqrt(p)`` and ``p = mean(x**2)``.

    Every energy feature is homogeneous in the frame's level (mel and power scale with ``p``), so a network that
    sees ``x / sqrt(p)`` and multiplies its energies by ``p`` learns one operator for every recording level.

    Parameters
    ----------
    frames : tensor [shape=(batch, n)]

    Returns
    -------
    unit : tensor [shape=(batch, n)]
        ``frames / sqrt(p + eps)``; silent frames stay zero.
    power : tensor [shape=(batch, 1)]
    """
    power = ops.mean(ops.square(frames), axis=-1, keepdims=True)
    return frames * ops.rsqrt(power + eps), power


def pair_magnitude(x):
    """``sqrt(x[2k]**2 + x[2k+1]**2)`` over consecutive pairs of the last axis (``safe_sqrt``: exact zeros).

    Parameters
    ----------
    x : tensor [shape=(batch, 2 * m)]

    Returns
    -------
    magnitude : tensor [shape=(batch, m)]
    """
    pairs = ops.reshape(ops.square(x), (-1, x.shape[-1] // 2, 2))
    return safe_sqrt(ops.sum(pairs, axis=-1))


def sign_sequence(frames):
    """``-1`` where a sample is negative, ``+1`` elsewhere (zero counts as positive). No gradient to the frame.

    Parameters
    ----------
    frames : tensor [shape=(batch, n)]

    Returns
    -------
    signs : tensor [shape=(batch, n, 1)]
    """
    signs = ops.where(frames < 0, -ops.ones_like(frames), ops.ones_like(frames))
    return ops.expand_dims(ops.stop_gradient(signs), -1)


def spectral_centroid(S, frequencies, threshold=None):
    """``librosa.feature.spectral_centroid(S=S)`` per row: ``sum_k f[k] S[k] / sum_k S[k]``.

    A row whose magnitudes sum below ``threshold`` (default: the smallest normal float32, librosa's ``tiny``)
    is not normalised, as ``librosa.util.normalize(S, norm=1)`` leaves it; a silent frame's centroid is 0.

    Parameters
    ----------
    S : tensor [shape=(batch, n_bins)]
        Magnitude spectra (non-negative).
    frequencies : tensor [shape=(n_bins,)]
        Each bin's frequency in Hz (closed form: ``librosa.fft_frequencies``).

    Returns
    -------
    centroid : tensor [shape=(batch, 1)]
        In Hz.
    """
    threshold = float(np.finfo(np.float32).tiny) if threshold is None else threshold
    norm = ops.sum(ops.abs(S), axis=-1, keepdims=True)
    norm = ops.where(norm < threshold, ops.ones_like(norm), norm)
    return ops.sum(S * frequencies, axis=-1, keepdims=True) / norm
