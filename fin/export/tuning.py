"""Swapping a FIN's :class:`fin.layers.TuningEstimate`: the TFLite variant (float32, builtin ops) and, for the
parity check, a variant that returns given tuning bins.

TFLite has no float64 kernels and no ``DenseBincount``, which the chroma ``spectral`` FIN's tuning estimate uses to
reproduce librosa's rounding; for TFLite that one layer is swapped for the float32 rounding of the same estimate
(:func:`fin.ops.estimate_tuning_index` with ``cells``), which gets the same histogram bin from exact float32
comparisons with a precomputed table (:func:`fin.ops.tuning_cell_table`, 0.35 MB) and counts with a one-hot sum.
In TensorFlow it equals the layer on every one of 35,778 speech frames.
"""


def tuning_layers(model):
    """The :class:`fin.layers.TuningEstimate` layers of ``model`` (one for chroma ``spectral``, else none)."""
    from fin.layers import TuningEstimate

    return [layer for layer in model.layers if isinstance(layer, TuningEstimate)]


def swap_tuning(model, make_layer):
    """A clone of ``model`` sharing every layer (and weight) but its TuningEstimate, replaced by ``make_layer``."""
    import keras

    from fin.layers import TuningEstimate

    def clone(layer):
        return make_layer(layer.get_config()) if isinstance(layer, TuningEstimate) else layer

    return keras.models.clone_model(model, clone_function=clone)


def tflite_graph(model):
    """``model`` ready for TFLite builtins (its tuning estimate in float32), and a note on what was changed.

    The replacement layers live only for the conversion (they are never saved), so they are not registered.
    """
    from fin import ops as fops
    from fin.layers import TuningEstimate

    if not tuning_layers(model):
        return model, []

    class Float32TuningEstimate(TuningEstimate):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            # built here, eagerly: the table evaluates TensorFlow's log2 on concrete values
            self._cells = fops.tuning_cell_table(self._lo, self._hi, self.sr, self.n_fft, self.resolution,
                                                 self.bins_per_octave)

        def call(self, magnitudes):
            from keras import ops

            return fops.estimate_tuning_index(
                ops.stop_gradient(magnitudes), self._lo, self._hi, self.sr, self.n_fft, self._edges, self._zero_index,
                threshold=self.threshold, bins_per_octave=self.bins_per_octave, cells=self._cells,
            )

    note = ("TuningEstimate without float64 (TFLite has no float64 kernels and no DenseBincount): the histogram bin "
            "comes from exact float32 comparisons of the interpolation shift with precomputed thresholds and a one-hot "
            "histogram; only the float32 shift itself can differ by an ulp, rarely flipping a frame's tuning bin")
    return swap_tuning(model, Float32TuningEstimate.from_config), [note]
