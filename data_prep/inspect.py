"""Print the summary of a frame store: ``python -m data_prep.inspect FILE.h5 [--json]``."""

import argparse
import json
import sys

from data_prep.build import format_summary
from data_prep.errors import DataPrepError
from data_prep.store import open_store


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m data_prep.inspect", description=__doc__)
    parser.add_argument("store", help="a store written by data_prep.build")
    parser.add_argument("--json", action="store_true", help="print the summary and attributes as JSON")
    args = parser.parse_args(argv)
    try:
        with open_store(args.store) as store:
            meta = store.meta
            counts = {split: store.num_frames(split) for split in store.splits}
    except DataPrepError as err:
        parser.error(str(err))
    if args.json:
        json.dump({"meta": meta, "frames": counts}, sys.stdout, indent=2)
        print()
        return 0
    print(format_summary(meta["summary"]))
    config = meta["config"]
    print(f"target set {meta['target_set']}, {meta['sample_rate']} Hz, frames {meta['frame_length']}/{meta['hop_length']}, "
          f"librosa {meta['librosa_version']}; split by {config['split_by']}, seed {config['seed']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
