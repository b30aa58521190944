"""Two versions of the engine on the same images, called alternately in one process.

    git archive 646eee9 quality/engine | tar -x -C /tmp/engine-old
    PYTHONPATH=. .venv/bin/python bench/engine_compare.py --old /tmp/engine-old/quality/engine

Alternating calls share whatever else the machine is doing, so the best CPU time of each is a
fair comparison even on a busy machine (absolute figures are not: see bench/engine.py).
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine import generate  # noqa: E402
from quality import engine as new_engine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="folder of the other quality/engine")
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        # The old engine imports itself relatively: as a package of another name it loads beside
        # the current one.
        shutil.copytree(args.old, Path(folder) / "engine_old")
        sys.path.insert(0, folder)
        old_engine = importlib.import_module("engine_old")
        images = generate(args.images)
        boxes = new_engine.BoxBatch.from_label_sets(images).n_boxes
        best = {"old": float("inf"), "new": float("inf")}
        for _ in range(args.rounds):
            for name, engine in (("old", old_engine), ("new", new_engine)):
                start = time.process_time()
                engine.assess_many(images)
                best[name] = min(best[name], time.process_time() - start)
    print(f"{boxes:,} boxes, best of {args.rounds} alternating calls")
    print("| engine | best CPU s | boxes/s (CPU) |\n|---|---:|---:|")
    for name, seconds in best.items():
        print(f"| {name} | {seconds:.3f} | {boxes / seconds / 1e6:.2f}M |")


if __name__ == "__main__":
    main()
