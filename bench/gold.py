"""The gold pause rule on simulated labelers: how soon bad habits are caught, how often an honest
labeler is paused, how often each passes the qualification set.

    PYTHONPATH=. .venv/bin/python bench/gold.py --sessions 1000 --gold 200 --seed 1
    PYTHONPATH=. .venv/bin/python bench/gold.py --seeds 20-29 --confidence 0.85 --min-images 10

Labelers come from tests/engine/gold_sim.py (honest: small realistic noise; swap10: a 10%
class-swap habit; miss20: 20% of objects missed). Each session is one labeler answering
``--gold`` gold images in turn; after each answer the rule of quality.engine.gold (GoldParams
defaults unless overridden) looks at the cumulative score. Prints a markdown table; with
``--seeds A-B``, one line over those seeds (each its own 1,000 sessions): honest sessions paused
in all, and the least and mean share of bad-habit sessions paused within --within.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quality.engine.gold import GoldParams, gold_paused, score_answers  # noqa: E402
from tests.engine import gold_sim  # noqa: E402

DEFAULTS = GoldParams()


def pause_points(model, n_sessions: int, n_gold: int, seed: int, params: GoldParams):
    """Per session: the gold image (1-based) after which the rule paused it (0: never), the
    final score, and whether it passed a qualification set of the first ``qualify`` images."""
    answers, golds = gold_sim.sessions(model, n_sessions, n_gold, seed)
    scored = score_answers(answers, golds, with_kalpha=False)
    correct = scored.correct.reshape(n_sessions, n_gold).cumsum(axis=1)
    units = scored.units.reshape(n_sessions, n_gold).cumsum(axis=1)
    images = np.arange(1, n_gold + 1)[None, :]
    paused = gold_paused(correct, units, images, params)
    first = np.where(paused.any(axis=1), paused.argmax(axis=1) + 1, 0)
    final = correct[:, -1] / np.maximum(units[:, -1], 1)
    return first, final, correct, units


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--gold", type=int, default=200, help="gold images per session")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--within", type=int, default=30, help="detection deadline (images)")
    parser.add_argument("--qualify", type=int, default=5, help="qualification set size")
    parser.add_argument("--threshold", type=float, default=DEFAULTS.threshold)
    parser.add_argument("--min-images", type=int, default=DEFAULTS.min_images)
    parser.add_argument("--confidence", type=float, default=DEFAULTS.confidence)
    parser.add_argument("--qualify-threshold", type=float, default=DEFAULTS.qualify_threshold)
    parser.add_argument("--seeds", help="A-B: the summary over these seeds")
    args = parser.parse_args()
    params = GoldParams(
        threshold=args.threshold,
        min_images=args.min_images,
        confidence=args.confidence,
        qualify_threshold=args.qualify_threshold,
    )
    if args.seeds:
        return seed_summary(args, params)
    print(
        f"threshold {params.threshold}, confidence {params.confidence} (z {params.z:.2f}), "
        f"min {params.min_images} images; {args.sessions} sessions x {args.gold} gold images, "
        f"seed {args.seed}\n"
    )
    print(
        f"| labeler | mean final score | paused (any time) | paused within {args.within} | "
        "pause image: median / p95 / max | qualified (first "
        f"{args.qualify}) | seconds |"
    )
    print("|---|---|---|---|---|---|---|")
    for k, (name, model) in enumerate(gold_sim.MODELS.items()):
        start = time.perf_counter()
        first, final, correct, units = pause_points(
            model, args.sessions, args.gold, args.seed + k, params
        )
        seconds = time.perf_counter() - start
        q = args.qualify - 1
        qualified = (units[:, q] == 0) | (correct[:, q] / units[:, q] >= params.qualify_threshold)
        caught = first[first > 0]
        spread = (
            f"{int(np.median(caught))} / {int(np.percentile(caught, 95))} / {int(caught.max())}"
            if len(caught)
            else "-"
        )
        within = ((first > 0) & (first <= args.within)).mean()
        print(
            f"| {name} | {final.mean():.3f} | {(first > 0).sum()} / {args.sessions} | "
            f"{within:.1%} | {spread} | {qualified.mean():.1%} | {seconds:.1f} |"
        )


def seed_summary(args, params: GoldParams) -> None:
    low, _, high = args.seeds.partition("-")
    honest, caught = 0, {"swap10": [], "miss20": []}
    for seed in range(int(low), int(high or low) + 1):
        for name, model in gold_sim.MODELS.items():
            first, *_ = pause_points(model, args.sessions, args.gold, seed, params)
            if name == "honest":
                honest += int((first > 0).sum())
            else:
                caught[name].append(((first > 0) & (first <= args.within)).mean())
    print(
        f"| {params.confidence} / {params.min_images} | {honest} | "
        + " | ".join(f"{min(v):.1%} / {np.mean(v):.1%}" for v in caught.values())
        + " |"
    )


if __name__ == "__main__":
    main()
