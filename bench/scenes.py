"""The engine on adversarial scenes: per flag kind, precision, recall and attribution.

    PYTHONPATH=. .venv/bin/python bench/scenes.py --scenes 1000 --labelers 3,5,2-7 --seed 1
    PYTHONPATH=. .venv/bin/python bench/scenes.py --scenes 1000 --labelers 5 --breakdown \\
        --failures /tmp/scenes-failures.md

Scenes come from tests/engine/scenes.py (rows of touching cars, crowds, tiny objects, 2-7
labelers, injected errors with the flag each must cause and whom it must name). Prints the table
as markdown (for BENCHMARKS.md); ``--breakdown`` adds where the misses and wrong flags are,
``--failures FILE`` writes, for every rate below ``--floor``, a few failing scenes cut down to
the objects the failure needs, as Python literals with the expected and produced flags.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.engine import scenes as sc  # noqa: E402


def labeler_groups(text: str) -> dict[str, int | tuple[int, int]]:
    """'3,5,2-7' -> {'3': 3, '5': 5, '2-7': (2, 7)}."""
    out: dict[str, int | tuple[int, int]] = {}
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        out[part.strip()] = (int(low), int(high)) if high else int(low)
    return out


def engine_state() -> str:
    root = Path(__file__).resolve().parent.parent
    head = subprocess.run(
        ["git", "log", "-1", "--format=%h %s"], cwd=root, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "quality/engine"], cwd=root, capture_output=True, text=True
    ).stdout.strip()
    return f"{head}" + (" + uncommitted changes in quality/engine" if dirty else "")


def failure_examples(runs: dict, floor: float, per_failure: int) -> str:
    """Markdown: for each rate below ``floor``, up to ``per_failure`` minimized scenes."""
    parts = []
    for name, (scenes, flags, tally, _) in runs.items():
        for kind, t in tally.items():
            for metric in ("precision", "recall", "attribution"):
                value = getattr(t, metric)
                if value is None or value >= floor:
                    continue
                fails = sc.failure_test(kind, metric)
                found = [(s, f) for s, f in zip(scenes, flags, strict=True) if fails(s, f)]
                parts.append(
                    f"### {kind} {metric} {value:.4f} (labelers {name}): "
                    f"{len(found)} of {len(scenes)} scenes fail"
                )
                small = []
                for scene, _ in found[: per_failure * 3]:
                    cut = sc.minimize(scene, fails)
                    small.append(cut)
                small.sort(key=lambda s: sum(len(x.boxes) for x in s.label_sets))
                for cut in small[:per_failure]:
                    result = sc.assess_image(cut.label_sets)
                    parts.append("```python\n" + sc.render(cut, list(result.flags)) + "\n```")
    return "\n\n".join(parts) if parts else f"Every rate is at {floor} or more."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=1000, help="scenes per labeler group")
    parser.add_argument("--labelers", default="3,5,2-7", help="groups: '3', '5', '2-7', ...")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--floor", type=float, default=0.97)
    parser.add_argument("--breakdown", action="store_true")
    parser.add_argument("--failures", type=Path, help="write minimal failing scenes here")
    parser.add_argument("--examples", type=int, default=3, help="failing scenes per rate")
    parser.add_argument(
        "--crowd-iou", type=float, default=sc.CROWD_IOU, help="beyond the rules: denser crowds"
    )
    parser.add_argument(
        "--stack", type=float, default=0.0, help="beyond the rules: share of errors stacked"
    )
    args = parser.parse_args()

    runs, seconds = {}, {}
    for i, (name, labelers) in enumerate(labeler_groups(args.labelers).items()):
        scenes = sc.make_scenes(
            args.scenes, labelers, args.seed + 1000 * i, crowd_iou=args.crowd_iou, stack=args.stack
        )
        start = time.perf_counter()
        flags = sc.assess_scenes(scenes)
        seconds[name] = time.perf_counter() - start
        tally, outcomes = sc.score(scenes, flags)
        runs[name] = (scenes, flags, tally, outcomes)
    groups = {name: run[2] for name, run in runs.items()}
    boxes = sum(len(s.boxes) for run in runs.values() for scene in run[0] for s in scene.label_sets)
    print(
        f"{args.scenes} scenes per group, seed {args.seed}, crowd IoU <= {args.crowd_iou}, "
        f"stacked errors {args.stack}, engine {engine_state()}; "
        f"{boxes} boxes assessed in {sum(seconds.values()):.2f} s\n"
    )
    print(sc.table(groups))
    low = sc.shortfalls(groups, args.floor)
    print(f"\nbelow {args.floor}: {', '.join(low) if low else 'none'}")
    if args.breakdown:
        for name, (scenes, flags, _, outcomes) in runs.items():
            print(f"\nlabelers {name}:\n\n{sc.breakdown(scenes, flags, outcomes)}")
    if args.failures:
        text = (
            f"# Failing scenes\n\n{time.strftime('%Y-%m-%d %H:%M')}; engine {engine_state()}; "
            f"`bench/scenes.py --scenes {args.scenes} --labelers {args.labelers} "
            f"--seed {args.seed} --crowd-iou {args.crowd_iou} --stack {args.stack}`\n\n"
            f"{sc.table(groups)}\n\n" + failure_examples(runs, args.floor, args.examples) + "\n"
        )
        args.failures.write_text(text)
        print(f"\nwrote {args.failures}")


if __name__ == "__main__":
    main()
