"""Print the summary of a frame store: ``python -m data_prep.inspect FILE.h5 [--json] [--verify]``.

Opening a store reads only its attributes; ``--verify`` also reads every chunk of every dataset, so a damaged
file is found here rather than in the middle of a training run. Exit status: 0, 1 when ``--verify`` found
damage, 2 when the file is no readable store.
"""

import argparse
import json
import sys

from data_prep.build import format_summary
from data_prep.errors import DataPrepError
from data_prep.store import open_store


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m data_prep.inspect", description=__doc__.split("\n\n")[0])
    parser.add_argument("store", help="a store written by data_prep.build")
    parser.add_argument("--json", action="store_true", help="print the summary and attributes as JSON")
    parser.add_argument("--verify", action="store_true", help="read every chunk of every dataset and report damage")
    args = parser.parse_args(argv)
    problems = None
    try:
        with open_store(args.store) as store:
            meta = store.meta
            counts = {split: store.num_frames(split) for split in store.splits}
            if args.verify:
                problems = store.verify()
    except DataPrepError as err:
        parser.error(str(err))
    built_at = meta["summary"].get("store")
    if args.json:
        report = {"store": args.store, "meta": meta, "frames": counts}
        if problems is not None:
            report["verified"] = not problems
            report["problems"] = problems
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        # the path given, not the one the store was built at (it may have been moved since)
        print(format_summary({**meta["summary"], "store": args.store}))
        config = meta["config"]
        print(f"target set {meta['target_set']}, {meta['sample_rate']} Hz, frames {meta['frame_length']}/{meta['hop_length']}, "
              f"librosa {meta['librosa_version']}; split by {config['split_by']}, seed {config['seed']}"
              + (f"; built as {built_at}" if built_at and built_at != args.store else ""))
        if problems is not None and not problems:
            print(f"verified: every chunk of every dataset of {args.store} reads")
    if problems:
        print(f"{parser.prog}: error: store {args.store} is damaged ({len(problems)} problem(s)); rebuild it with "
              "data_prep.build:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
