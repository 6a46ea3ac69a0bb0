"""Execute the walkthrough notebooks and write them as ``.ipynb`` with their outputs.

::

    python notebooks/render.py [--quick] [--out DIR] [--timeout S] [NOTEBOOK ...]

The sources are the jupytext percent-format scripts ``notebooks/NN_*.py`` (diffable, reviewed, run by the test
suite); this reads each one with jupytext, runs it in a fresh Python kernel with nbclient (working directory: the
repository root, so ``runs/`` is the repository's) and writes ``NN_*.ipynb`` with every output and plot into
``--out`` (default ``notebooks/``, where git ignores them). ``--quick`` sets ``FIN_NOTEBOOK_QUICK=1``: the tiny
settings the tests use. Exit status 0 when every notebook ran, 1 otherwise (the failed notebook is still written,
up to the failing cell, to show where it stopped).
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# TensorFlow's C++ start-up lines, printed to stderr whatever TF_CPP_MIN_LOG_LEVEL says: not worth a reader's time
_NOISE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\).*|[IW]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] .*)$\n?",
                    re.MULTILINE)


def sources(names=()):
    """The walkthrough scripts, in order: all ``NN_*.py`` of this folder, or those named (path, stem or ``NN``)."""
    found = sorted(HERE.glob("[0-9][0-9]_*.py"))
    picked = []
    for name in names:
        stem = Path(name).stem
        match = [p for p in found if p.stem == stem or p.stem.split("_")[0] == stem]
        if not match:
            raise SystemExit(f"error: unknown notebook {name!r}; expected one of {', '.join(p.stem for p in found)}")
        picked += match
    return picked if names else found


def render(source, out_dir, env=None, timeout=900, cwd=ROOT):
    """Run one percent-format script as a notebook; write ``out_dir/<stem>.ipynb``; returns ``(path, seconds)``.

    ``env`` is the kernel's environment (default: this process's). Raises ``nbclient``'s ``CellExecutionError``
    when a cell fails, after writing the notebook up to that cell.
    """
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    # "python3" is the kernel of the running interpreter (jupyter_client's native kernel), so no kernelspec
    # needs installing and the notebook sees the same packages as this process
    client = NotebookClient(notebook, kernel_name="python3", timeout=timeout, resources={"metadata": {"path": str(cwd)}})
    out = Path(out_dir) / f"{Path(source).stem}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    try:
        client.execute(env=dict(os.environ if env is None else env))
    finally:
        _drop_noise(notebook)
        nbformat.write(notebook, out)
    return out, time.time() - t0


def _drop_noise(notebook):
    for cell in notebook.cells:
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                output["text"] = _NOISE.sub("", output["text"])
                if not output["text"].strip():
                    continue
            outputs.append(output)
        if cell.cell_type == "code":
            cell.outputs = outputs


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python notebooks/render.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="stems or paths of the notebooks to run (default: all)")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the .ipynb files (default: notebooks/)")
    parser.add_argument("--quick", action="store_true", help="the tests' tiny settings (FIN_NOTEBOOK_QUICK=1)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds a cell may run (default 900)")
    args = parser.parse_args(argv)
    env = dict(os.environ, **({"FIN_NOTEBOOK_QUICK": "1"} if args.quick else {}))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    failed = []
    for source in sources(args.notebooks):
        try:
            out, seconds = render(source, args.out, env=env, timeout=args.timeout)
            print(f"{source.name}: {seconds:.0f} s -> {out}", flush=True)
        except Exception as err:  # report every notebook, then fail
            failed.append(source.name)
            print(f"{source.name}: FAILED ({type(err).__name__}: {str(err)[-2000:]})", file=sys.stderr, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
