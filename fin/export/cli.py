"""``python -m fin.export``: export a FIN to TFLite or ONNX and check the exported file against Keras.

::

    python -m fin.export --model DIR_OR_PRESET --format {tflite,onnx} --out FILE [--data STORE.h5]
        [--corpus NAME=PATH ...] [--frames N] [--atol X]

Parity frames come from the test split of ``--data`` (else its first split), else from a few files of each
``--corpus``, else synthetic speech. Exit status: 0 passed; 1 parity failure or a model the format cannot
represent; 2 bad arguments.
"""

import argparse
import sys
from pathlib import Path

from data_prep.targets import FRAME_LENGTH
from fin.errors import FINError
from fin.export.converters import FORMATS, ONNX_OPSET
from fin.export.exporter import export_model
from fin.export.frames import DEFAULT_FRAMES, parity_frames
from fin.export.parity import DEFAULT_RTOL, TUNING_FLIP_FRACTION, ParityError, summary


def main(argv=None):
    from fin.presets import load_model_spec

    parser = argparse.ArgumentParser(
        prog="python -m fin.export",
        description="Export a FIN to TFLite or ONNX and check the exported file against Keras on real frames.",
        epilog=(f"Parity passes when every frame's largest absolute error is within the tolerance: by default "
                f"{DEFAULT_RTOL:g} of the output scale (max |Keras output| over the frames); --atol sets an absolute "
                f"tolerance instead. A chroma spectral FIN may also flip its tuning bin on up to "
                f"{TUNING_FLIP_FRACTION:.0%} "
                "of the frames (at least one) when the exported output then equals Keras with that other bin. "
                "Exit status: 0 passed; 1 parity failure (the export goes to FILE.failed, with FILE.failed.json) or "
                "a model the format cannot represent (the unsupported ops are named); 2 bad arguments."),
    )
    parser.add_argument("--model", required=True, help="a fin.train output folder, a .keras file or a preset name")
    parser.add_argument("--format", required=True, choices=list(FORMATS), help="tflite (builtin ops) or onnx (opset "
                        f"{ONNX_OPSET})")
    parser.add_argument("--out", required=True, type=Path, help="the exported file; FILE.json is written beside it")
    parser.add_argument("--data", type=Path, help="a data_prep store: parity frames from its test split")
    parser.add_argument("--corpus", action="append", default=[], metavar="NAME=PATH",
                        help="without --data: parity frames from a few files of this corpus; repeatable "
                             "(default: synthetic speech)")
    parser.add_argument("--frames", type=int, default=DEFAULT_FRAMES,
                        help=f"frames to check on (default {DEFAULT_FRAMES})")
    parser.add_argument("--atol", type=float, help=f"absolute tolerance (default: {DEFAULT_RTOL:g} x the output scale)")
    args = parser.parse_args(argv)
    if args.frames < 1:
        parser.error(f"--frames must be at least 1, got {args.frames}")
    if args.atol is not None and not args.atol >= 0:
        parser.error(f"--atol must be a non-negative number, got {args.atol}")
    if args.out.is_dir():
        parser.error(f"--out {args.out} is a folder; expected a file name")
    from data_prep import DataPrepError
    from data_prep.corpora import parse_corpus_arg

    try:
        try:
            model = load_model_spec(args.model)
        except FINError:
            raise
        except (ValueError, OSError) as err:  # a .keras file that Keras cannot read
            raise FINError(f"cannot load the model {args.model}: {err}") from err
        if len(model.inputs) != 1 or tuple(model.input_shape[1:]) != (FRAME_LENGTH,):
            raise FINError(f"{args.model} takes input {model.input_shape}; a FIN takes (batch, {FRAME_LENGTH}) frames")
        corpora = dict(parse_corpus_arg(text) for text in args.corpus)
        missing = [f"{name}={root}" for name, root in corpora.items() if not Path(root).exists()]
        if missing:
            raise FINError(f"--corpus {', '.join(missing)}: no such folder or file")
        frames, source = parity_frames(args.frames, args.data, corpora)
    except (FINError, DataPrepError) as err:
        parser.error(str(err))
    try:
        report = export_model(model, args.format, args.out, frames, atol=args.atol, model_spec=args.model,
                              frames_source=source)
    except ParityError as err:
        print(f"fin.export: FAILED: {err}", file=sys.stderr)
        return 1
    except FINError as err:
        print(f"fin.export: error: {err}", file=sys.stderr)
        return 1
    print(f"{report['keras_model']} -> {args.out} ({report['bytes'] / 1e3:.1f} kB, {args.format}, batch dynamic); "
          f"frames from {source}")
    print(f"parity with Keras: {summary(report)}: PASSED")
    for note in report["notes"]:
        print(f"note: {note}")
    return 0
