"""Several FINs on the same frames as one model, computing each layer they have in common once.

The closed-form chroma, MFCC and mel FINs all start with the same Hann window and the same 2048-point DFT, and
MFCC's mel filter bank is the mel FIN's: run side by side, as the SER model runs the five, they compute three DFTs
where one would do. :func:`stack_fins` builds one graph in which every FIN's leading chain of layers is shared with
the FINs before it as far as the layers are equal (same class, same configuration, same weights), and each FIN's
remaining layers run on the shared tensor. Nothing is approximated: a shared layer is the same layer applied to
the same input, so each output equals the FIN's own up to float round-off (a test checks it). FINs whose weights
differ (learned FINs, or FINs being fine-tuned apart) share nothing and run as they are.

Sharing is for inference: a shared layer has one set of weights, so training the stack would tie FINs that
:mod:`ser.finetune` trains apart. ``python -m experiments.benchmark fin`` times it against the FINs run side by side.

Examples
--------
>>> import fin
>>> from fin.layers import FactorisedDFT
>>> from fin.stack import stack_fins
>>> model = stack_fins({f: fin.load_preset(f) for f in ("chroma", "mfcc", "mel")})
>>> model.output_shape
[(None, 12), (None, 20), (None, 128)]
>>> sum(isinstance(layer, FactorisedDFT) for layer in model.layers)  # one DFT for the three
1
"""

import hashlib
import json

import keras
import numpy as np

from fin.errors import FINError


def _signature(layer):
    """What makes two layers compute the same function: class, configuration without the name, weights."""
    config = {k: v for k, v in layer.get_config().items() if k != "name"}
    digest = hashlib.sha1()
    for w in layer.get_weights():
        w = np.ascontiguousarray(w)
        digest.update(str((w.dtype, w.shape)).encode())
        digest.update(w.tobytes())
    return type(layer).__name__, json.dumps(config, sort_keys=True, default=str), digest.hexdigest()


def _ids(tensors):
    return [id(t) for t in keras.tree.flatten(tensors)]


def leading_chain(model):
    """The layers of ``model`` that form a chain from its input, each taking exactly the previous one's output, with
    the rest of the model depending on the input through that output alone: ``[(layer, rest)]``, ``rest`` the
    sub-model from the layer's output to the model's output (``None`` after the model's last layer).

    For the closed-form chroma FIN: window, DFT, magnitude (the tuning estimate is not in it: the filter bank after
    it takes the magnitudes too); for the mel FIN: window, DFT, power, mel filter bank (the whole model).
    """
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    outputs = model.outputs[0] if len(model.outputs) == 1 else model.outputs
    chain, previous = [], model.inputs
    for layer in layers:
        if _ids(layer.input) != _ids(previous):
            break
        if _ids(layer.output) == _ids(model.outputs):
            chain.append((layer, None))
            break
        try:  # the rest of the model must depend on the input through this layer's output alone
            rest = keras.Model(layer.output, outputs, name=f"{model.name}_after_{layer.name}")
        except ValueError:
            break
        chain.append((layer, rest))
        previous = layer.output
    return chain


def stack_fins(fins, name="shared_fins"):
    """One model running ``fins`` on the same frames, with the layers they have in common computed once.

    Each FIN's leading chain (:func:`leading_chain`) is walked from the frames: a layer equal to one already applied
    to the same tensor is not applied again; the first that differs, and the rest of the FIN after it, run on their
    own. A FIN whose first layer is new runs whole.

    Parameters
    ----------
    fins : dict
        Name -> FIN (``keras.Model``, ``(batch, n) -> (batch, dim)``), all taking the same frame length.
    name : str

    Returns
    -------
    model : keras.Model
        ``(batch, n)`` -> the list of the FINs' outputs, in the order of ``fins``. It holds the FINs' own layers
        (their weights are the FINs', not copies).
    """
    fins = dict(fins)
    if not fins:
        raise FINError("stack_fins needs at least one FIN")
    shapes = {f: tuple(m.input_shape[1:]) for f, m in fins.items()}
    if len(set(shapes.values())) != 1:
        raise FINError(f"FINs with different inputs cannot share frames: {shapes}")
    frames = keras.Input(shape=next(iter(shapes.values())), name="frame")
    applied = {}  # (ids of the input tensors, layer signature) -> that layer's output, already in the graph
    names = set()  # layer names in the graph (two different layers may not share one)
    outputs = []
    for model in fins.values():
        chain = leading_chain(model)
        x, k = frames, 0
        while k < len(chain):
            layer = chain[k][0]
            key = (tuple(_ids(x)), _signature(layer))
            if key not in applied:
                if layer.name in names:
                    break
                names.add(layer.name)
                applied[key] = layer(x)
            x = applied[key]
            k += 1
        if k == 0:
            outputs.append(model(frames))
        else:
            rest = chain[k - 1][1]
            outputs.append(x if rest is None else rest(x))
    return keras.Model(frames, outputs, name=name)
