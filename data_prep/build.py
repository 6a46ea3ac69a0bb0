"""Build a frame store from emotional-speech corpora.

::

    python -m data_prep.build --corpus emodb=../shared/data/emodb --corpus ravdess=../shared/data/ravdess \\
        --out /tmp/all.h5 [--augment/--no-augment] [--split-by speaker|file] [--workers N] [--max-files N] [--seed S]

With no ``--corpus`` the built-in demo corpus is generated (once, cached) and used. Each file is loaded
mono at 22,050 Hz, augmented (the seed's copies by default), framed (2048 / 512) and given its
per-frame targets; files are processed in parallel and written in a fixed order, so the same command
gives the same store. The store is written to a temporary file and renamed at the end: a build killed
at any point leaves no store behind, and the next build in that folder removes what it left. Bad files are
skipped with their path and reason, listed in the closing summary, which is also written as JSON next to
the store (``FILE.summary.json``).

Nothing the user owns is replaced: ``--out`` may not be a folder or an input, nor an existing file that is
not a store (unless ``--overwrite``); a build that keeps no frame, or leaves a split empty, does not replace an
existing store (exit status 1). Bad options and inputs exit with status 2 before any work.
"""

import argparse
import json
import math
import os
import signal
import sys
import zlib
from pathlib import Path

import numpy as np

from data_prep import corpora
from data_prep.atomic import atomic_write_text, remove_stale_temporaries, temporary_path
from data_prep.augment import SEED_AUGMENTATION, Augmenter
from data_prep.errors import DataPrepError
from data_prep.options import load_options
from data_prep.splits import SPLITS, SPLITTERS, assign_splits, speaker_key
from data_prep.targets import FEATURES, FRAME_LENGTH, HOP_LENGTH, SR, TARGET_SETS, check_target_set, frame_signal, targets_in_chunks
from data_prep.workers import each_file, load_copies, ordered_map

#: Default worker count cap: each worker holds about 350 MB (librosa, numba, audiomentations), so four
#: keep a build under 2 GB on any machine; pass --workers to use more cores.
MAX_DEFAULT_WORKERS = 4
#: Files handed to a worker at once: their frames share one vectorised target computation.
GROUP_SIZE = 8

DEFAULTS = {
    "corpora": [],
    "out": None,
    "augment": True,
    "augmentation": None,  # None: the seed's copies (data_prep.augment.SEED_AUGMENTATION)
    "split_by": "speaker",
    "fractions": [0.70, 0.15, 0.15],
    "workers": None,  # None: all cores
    "max_files": None,
    "seed": 0,
    "target_set": "seed",
    "offset": 0.0,
    "duration": None,
}


def _process_group(tasks, augment_config, seed, target_set, offset, duration):
    """Worker: load, augment, frame and compute targets for a few files at once.

    Returns one entry per task: ``(index, [(copy name, signal, targets), ...], None)`` or ``(index, None, reason)``.
    """
    augmenter = Augmenter(augment_config or {}, seed=seed)

    def framed_copies(path):
        return [(name, sig, frame_signal(sig)) for name, sig in load_copies(path, augmenter, SR, offset, duration)]

    results = each_file(tasks, framed_copies)
    loaded = [(index, copies) for index, copies, _ in results if copies is not None]
    if not loaded:
        return results
    targets = targets_in_chunks(np.concatenate([fr for _, copies in loaded for _, _, fr in copies]), target_set)
    made, start = {}, 0
    for index, copies in loaded:
        out = []
        for name, sig, fr in copies:
            stop = start + len(fr)
            out.append((name, sig[: FRAME_LENGTH + (len(fr) - 1) * HOP_LENGTH], {f: targets[f][start:stop] for f in FEATURES}))
            start = stop
        made[index] = out
    return [(index, made[index], None) if index in made else (index, None, reason) for index, _, reason in results]


def select_files(utterances, max_files, seed):
    """At most ``max_files`` utterances per corpus, a seeded sample in discovery order."""
    if not max_files:
        return utterances
    out = []
    for corpus in dict.fromkeys(u.corpus for u in utterances):
        items = [u for u in utterances if u.corpus == corpus]
        if len(items) > max_files:
            rng = np.random.default_rng(zlib.crc32(f"{seed}:{corpus}".encode()))
            keep = np.sort(rng.choice(len(items), size=max_files, replace=False))
            items = [items[i] for i in keep]
        out.extend(items)
    return out


def _summary(out, utterances, split_of, rows, skipped, augment_names):
    splits = {s: {"files": 0, "signals": 0, "frames": 0} for s in SPLITS}
    per_corpus = {}
    for u in utterances:
        per_corpus.setdefault(u.corpus, {"files": 0, "speakers": set(), "emotions": {}, "skipped": 0,
                                         "splits": {s: {"files": 0, "frames": 0} for s in SPLITS}})
    for row in rows:
        c = per_corpus[row["corpus"]]
        splits[row["split"]]["signals"] += 1
        splits[row["split"]]["frames"] += row["n_frames"]
        c["splits"][row["split"]]["frames"] += row["n_frames"]
        if row["augmentation"] == "original":
            splits[row["split"]]["files"] += 1
            c["files"] += 1
            c["speakers"].add(row["speaker"])
            c["emotions"][row["emotion"]] = c["emotions"].get(row["emotion"], 0) + 1
            c["splits"][row["split"]]["files"] += 1
    for item in skipped:
        if item.get("corpus") in per_corpus:
            per_corpus[item["corpus"]]["skipped"] += 1
    for c in per_corpus.values():
        c["speakers"] = len(c["speakers"])
        c["emotions"] = dict(sorted(c["emotions"].items()))
    return {
        "store": str(out),
        "files": sum(s["files"] for s in splits.values()),
        "signals": sum(s["signals"] for s in splits.values()),
        "frames": sum(s["frames"] for s in splits.values()),
        "augmentations": augment_names,
        "splits": splits,
        "corpora": per_corpus,
        "skipped": skipped,
    }


def summary_path(store_path):
    """Where the JSON summary of a store lives: ``FILE.summary.json`` beside ``FILE.h5``."""
    store_path = Path(store_path)
    return store_path.with_name(store_path.stem + ".summary.json")


def format_summary(summary):
    """The closing summary as a human-readable table."""
    lines = [f"store {summary['store']}: {summary['files']} files, {summary['signals']} signals "
             f"(copies: {', '.join(summary['augmentations'])}), {summary['frames']} frames"]
    lines.append(f"{'corpus':<12}{'speakers':>9}" + "".join(f"{s + ' files':>13}{s + ' frames':>14}" for s in SPLITS))
    for name, c in summary["corpora"].items():
        lines.append(f"{name:<12}{c['speakers']:>9}" + "".join(f"{c['splits'][s]['files']:>13}{c['splits'][s]['frames']:>14}" for s in SPLITS))
    lines.append(f"{'total':<12}{'':>9}" + "".join(f"{summary['splits'][s]['files']:>13}{summary['splits'][s]['frames']:>14}" for s in SPLITS))
    skipped = summary["skipped"]
    lines.append(f"skipped {len(skipped)} file(s)" + (":" if skipped else ""))
    lines.extend(f"  {item['path']}: {item['reason']}" for item in skipped)
    return "\n".join(lines)


def _log_stderr(text):
    print(text, file=sys.stderr, flush=True)


def check_out(out, overwrite=False, inputs=()):
    """Refuse an ``--out`` that would lose something the user owns; raises :class:`DataPrepError` naming it.

    ``out`` may not be a folder, one of ``inputs`` (a manifest, an audio file, a config: never, not even with
    ``overwrite``), or an existing file that is not a store written by this module (unless ``overwrite``).
    An existing store is fine: a build replaces it only once the new one is complete (and not empty).
    """
    from data_prep.store import is_store

    out = Path(out)
    if out.is_dir():
        raise DataPrepError(f"--out {out} is a folder; expected the path of the store file to write, e.g. {out / 'store.h5'}")
    if not out.parent.is_dir():
        raise DataPrepError(f"output folder {out.parent} does not exist")
    if not os.access(out.parent, os.W_OK):
        raise DataPrepError(f"output folder {out.parent} is not writable")
    if not out.exists():
        return
    for item in inputs:
        try:
            same = os.path.samefile(out, item)
        except OSError:
            same = False
        if same:
            raise DataPrepError(f"--out {out} is one of the inputs ({item}); writing the store there would destroy it: "
                                "choose another --out")
    if not out.is_file():
        raise DataPrepError(f"--out {out} exists and is not a regular file; expected the path of a store file")
    if not overwrite and not is_store(out):
        raise DataPrepError(f"--out {out} exists and is not a store written by data_prep.build; refusing to replace it "
                            "(pass --overwrite to replace it, or choose another --out)")


def _check_numbers(config):
    for key, low in (("offset", 0.0), ("duration", None)):
        value = config[key]
        if value is None and key == "duration":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or (value < low if low is not None else value <= 0):
            expected = "a number of seconds >= 0" if low is not None else "a positive number of seconds (or none: to the end)"
            raise DataPrepError(f"--{key} {value!r} is not valid; expected {expected}")
    fractions = config["fractions"]
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
        raise DataPrepError(f"fractions must be three non-negative numbers summing to 1, got {fractions!r}")


def prepare_build(config, overwrite=False, inputs=(), log=_log_stderr):
    """Check a build config and every input, and list the files, before any work: returns the plan.

    Parameters
    ----------
    config : dict
        See :data:`DEFAULTS`; ``corpora`` holds ``"NAME=PATH"`` strings, empty for the demo corpus.
    overwrite : bool
        Allow replacing an existing file at ``out`` that is not a store (never one of the inputs).
    inputs : sequence of path
        Other files the caller reads (a ``--config``): ``out`` may not be one of them.
    log : callable
        Where notes go (removed temporaries of killed builds).

    Returns
    -------
    plan : dict
        What :func:`run_build` needs.

    Raises
    ------
    DataPrepError
        A bad option, a bad ``--out`` (see :func:`check_out`) or no audio found; nothing has been written.
    """
    config = {**DEFAULTS, **config}
    check_target_set(config["target_set"])
    if config["split_by"] not in SPLITTERS:
        raise DataPrepError(f"unknown split mode {config['split_by']!r}; expected one of {', '.join(SPLITTERS)}")
    _check_numbers(config)
    if config["out"] is None:
        raise DataPrepError("no --out given: expected the path of the store file to write")
    out = Path(config["out"])
    manifests = [root for _, root in map(corpora.parse_corpus_arg, config["corpora"] or []) if root.is_file()]
    check_out(out, overwrite, [*inputs, *manifests])
    from data_prep.demo import corpus_args_or_demo

    config["corpora"] = corpus_args_or_demo(config["corpora"])
    sources = [corpora.parse_corpus_arg(text) for text in config["corpora"]]
    augment_config = (SEED_AUGMENTATION if config["augmentation"] is None else config["augmentation"]) if config["augment"] else {}
    augment_names = Augmenter(augment_config).names  # validates the config before any work

    utterances, skipped = [], []
    for name, root in sources:
        found, bad = corpora.discover(name, root)
        utterances.extend(found)
        skipped.extend({"path": s.path, "corpus": name, "reason": s.reason} for s in bad)
    # the store may not replace anything it is built from: a manifest, an audio file, a config
    read = [*inputs, *(root for _, root in sources if root.is_file())]
    if out.suffix.lower() in corpora.AUDIO_EXTENSIONS:  # only then can an audio input be the same file
        read += [u.path for u in utterances] + [s["path"] for s in skipped]
    check_out(out, overwrite, read)
    utterances = select_files(utterances, config["max_files"], config["seed"])
    if not utterances:
        raise DataPrepError("no audio files found in " + ", ".join(str(root) for _, root in sources))
    split_of = assign_splits(utterances, by=config["split_by"], fractions=config["fractions"], seed=config["seed"])
    remove_stale_temporaries(out.parent, log=log)  # what builds killed with SIGKILL left beside their store
    return {"config": config, "out": out, "overwrite": overwrite, "utterances": utterances, "skipped": skipped,
            "split_of": split_of, "augment_config": augment_config, "augment_names": augment_names}


def empty_splits(plan, summary):
    """Why each split of a finished build is empty: split -> reason (only the empty ones)."""
    utterances, split_of = plan["utterances"], plan["split_of"]
    skipped = {item["path"]: item["reason"] for item in summary["skipped"]}
    reasons = {}
    for split in SPLITS:
        if summary["splits"][split]["frames"]:
            continue
        assigned = [i for i in range(len(utterances)) if split_of[i] == split]
        if not assigned:
            speakers = len({speaker_key(u) for u in utterances})
            reasons[split] = (f"no file was assigned to it ({speakers} speaker(s) split by {plan['config']['split_by']} "
                              f"with fractions {plan['config']['fractions']})")
            continue
        speakers = sorted({speaker_key(utterances[i]) for i in assigned})
        first = utterances[assigned[0]].path
        reasons[split] = (f"all {len(assigned)} file(s) of its speaker(s) {', '.join(speakers)} were skipped "
                          f"(e.g. {first}: {skipped.get(first, 'skipped')})")
    return reasons


def _frames_at(path):
    """Frames per split of the store at ``path``; empty if there is none (or it cannot be read)."""
    from data_prep.store import is_store, open_store

    if not is_store(path):
        return {}
    try:
        with open_store(path) as store:
            return {split: store.num_frames(split) for split in store.splits}
    except DataPrepError:
        return {}


def run_build(plan, progress=True, log=_log_stderr):
    """Do the work of a :func:`prepare_build` plan: process every file, write the store; returns the summary.

    The store is written to a temporary file beside ``out`` and renamed onto it only when it is complete.
    A build that keeps no frame writes nothing; one that leaves empty a split the existing store at ``out`` has
    frames in never replaces it (unless the plan allows overwriting); an empty split is warned about.

    Raises
    ------
    DataPrepError
        The result would lose data; ``out`` is left as it was.
    """
    from tqdm import tqdm

    from data_prep.store import StoreWriter

    config, out, utterances, split_of = plan["config"], plan["out"], plan["utterances"], plan["split_of"]
    skipped = list(plan["skipped"])
    workers = config["workers"] or min(MAX_DEFAULT_WORKERS, os.cpu_count() or 1)
    groups = [list(enumerate(u.path for u in utterances))[i : i + GROUP_SIZE] for i in range(0, len(utterances), GROUP_SIZE)]
    tmp = temporary_path(out)
    writer, rows, written = None, [], False
    try:
        writer = StoreWriter(tmp, SPLITS, config["target_set"])
        bar = tqdm(total=len(utterances), unit="file", desc="building store", disable=not progress)
        for results in ordered_map(
            _process_group, groups, workers, augment_config=plan["augment_config"], seed=config["seed"],
            target_set=config["target_set"], offset=config["offset"], duration=config["duration"],
        ):
            for index, copies, reason in results:
                u = utterances[index]
                if reason is not None:
                    skipped.append({"path": u.path, "corpus": u.corpus, "reason": reason})
                else:
                    for name, sig, targets in copies:
                        meta = dict(path=u.path, corpus=u.corpus, speaker=speaker_key(u), emotion=u.emotion,
                                    label=u.label, augmentation=name, source=index)
                        writer.add(split_of[index], sig, targets, **meta)
                        rows.append(dict(meta, split=split_of[index], n_frames=len(targets[FEATURES[0]])))
                bar.update(1)
        bar.close()
        summary = _summary(out, utterances, split_of, rows, skipped, plan["augment_names"])
        empty = empty_splits(plan, summary)
        kept = "; the existing store is kept unchanged" if out.exists() else "; no store was written"
        if not summary["frames"]:
            first = skipped[0] if skipped else None
            example = f" (e.g. {first['path']}: {first['reason']})" if first else ""
            raise DataPrepError(f"the build kept no frame: all {len(utterances)} file(s) were skipped{example}{kept}")
        lost = {split: reason for split, reason in empty.items() if _frames_at(out).get(split)}
        if lost and not plan["overwrite"]:
            why = "; ".join(f"split {split!r} would be empty: {reason}" for split, reason in lost.items())
            raise DataPrepError(f"{why}{kept} at {out} (pass --overwrite to replace it anyway)")
        for split, reason in empty.items():
            log(f"warning: split {split!r} of {out} is empty: {reason}")
        writer.close(config, summary)
        os.replace(tmp, out)
        written = True
    finally:
        if not written:
            if writer is not None:
                writer.abort()
            tmp.unlink(missing_ok=True)
    atomic_write_text(summary_path(out), json.dumps(summary, indent=2) + "\n")
    return summary


def build_store(config, progress=True, overwrite=False, log=_log_stderr):
    """Build a store from a config (see :data:`DEFAULTS`); return the summary dict.

    ``config["corpora"]`` is a list of ``"NAME=PATH"`` strings; empty means the demo corpus.
    :func:`prepare_build` (every check, before any work) then :func:`run_build`.
    """
    return run_build(prepare_build(config, overwrite=overwrite, log=log), progress=progress, log=log)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m data_prep.build", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", action="append", dest="corpora", metavar="NAME=PATH",
                        help=f"a corpus to include (repeatable); NAME is one of {', '.join(corpora.corpus_names())}; "
                        "for manifest, PATH is a CSV with columns path,speaker,emotion. Default: the demo corpus")
    parser.add_argument("--out", required=True, type=Path, help="the store to write (HDF5)")
    parser.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                        help="add the augmented copies (default: on, the seed's noise and stretch+pitch copies)")
    parser.add_argument("--split-by", choices=sorted(SPLITTERS), default=None,
                        help="speaker (default, no speaker in two splits) or file (the seed's leaky split)")
    parser.add_argument("--workers", type=int, default=None, help=f"parallel worker processes (default: all cores, at most {MAX_DEFAULT_WORKERS})")
    parser.add_argument("--max-files", type=int, default=None, help="at most N files per corpus (a seeded sample)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--target-set", choices=sorted(TARGET_SETS), default=None, help="default: seed")
    parser.add_argument("--offset", type=float, default=None, help="seconds skipped at the start of each file")
    parser.add_argument("--duration", type=float, default=None, help="seconds kept from each file (default: all)")
    parser.add_argument("--config", type=Path, help="YAML file of defaults (the same option names); flags override it")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --out that is not a store, or replace a store even when the new "
                             "one has an empty split (never one of the inputs)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        config = dict(DEFAULTS)
        if args.config:
            config.update(load_options(args.config, DEFAULTS))
        for key in DEFAULTS:
            value = getattr(args, key, None)
            if value is not None:
                config[key] = str(value) if key == "out" else value
        if config["workers"] is not None and config["workers"] < 1:
            raise DataPrepError(f"--workers must be at least 1, got {config['workers']}")
        if config["max_files"] is not None and config["max_files"] < 1:
            raise DataPrepError(f"--max-files must be at least 1, got {config['max_files']}")
        _check_numbers(config)
        for text in config["corpora"] or []:
            corpora.parse_corpus_arg(text)  # unknown name or missing path: fail before any work
    except DataPrepError as err:
        parser.error(str(err))
    return parser, args, config


def _raise_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def main(argv=None):
    """Command line; 0 on success, 2 for bad options or inputs (nothing done), 1 when the result was refused."""
    parser, args, config = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)  # run the clean-up of a half-written store
    try:
        plan = prepare_build(config, overwrite=args.overwrite, inputs=[args.config] if args.config else [])
    except DataPrepError as err:
        parser.error(str(err))
    try:
        summary = run_build(plan, progress=not args.quiet and sys.stderr.isatty())
    except DataPrepError as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 1
    print(format_summary(summary))
    print(f"summary written to {summary_path(summary['store'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
