"""ser: speech emotion recognition on pretrained Feature Imitating Networks.

The model takes the raw 2048-sample frames of a clip, runs the five FINs (zcr, chroma, mfcc, rms, mel) on every
frame, pools their 162 outputs over time and classifies the result with the seed's 1D-CNN head
(:mod:`ser.model`). The FINs can be fine-tuned, frozen (all or some) or randomly initialised; the baseline is the
same head on librosa's features averaged over the clip, or the frozen-FIN classifier on librosa's features of
every frame (:mod:`ser.features`); :mod:`ser.compare` sets runs on the same folds side by side.

Command lines::

    python -m ser.finetune --freeze none|all|FEATURE[,FEATURE] [--init pretrained|random] [--corpus NAME=PATH ...]
    python -m ser.baseline [--features averaged|frames] [--corpus NAME=PATH ...]
    python -m ser.train --model NAME [--frontend librosa|fin] [--corpus NAME=PATH ...]   # the model zoo (ser.zoo)
    python -m ser.compare RUN_DIR RUN_DIR [...]
    python -m ser.predict FILE_OR_DIR [--model DIR] [--models final|ensemble|FOLD] [--window 2.5] [--hop 0.5] [--json]

Public API::

    from ser.model import build_ser_model, load_fins
    model = build_ser_model(7, fins="pretrained", freeze="all")      # (batch, 108, 2048) -> (batch, 7)

Importing :mod:`ser.layers` (done by :mod:`ser.model` and :mod:`ser.predict`) registers the SER layers with Keras;
``import fin`` registers the FIN layers. Both are needed before ``keras.saving.load_model`` of a SER model.
"""

from ser.errors import SERError

__all__ = ["SERError"]
