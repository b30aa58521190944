"""Labelers' habits on generated projects: is every planted habit found, and nothing else?

    PYTHONPATH=. .venv/bin/python bench/habits.py --projects 50 --images 200 --seed 1
    PYTHONPATH=. .venv/bin/python bench/habits.py --projects 50 --strength 0.5,0.35
    PYTHONPATH=. .venv/bin/python bench/habits.py --projects 0 --coaching

Projects come from tests/engine/habit_projects.py: adversarial scenes (tests/engine/scenes.py,
with their random errors as background noise) where four labelers each have one habit on one
class (loose boxes, grouping rows, class confusion, missing small objects) and the other 1-3
are honest. A habit found is right when it names the planted labeler, kind and class (and, for
a confusion, the class said instead). ``--strength`` scales every planted habit (0.5: half the
rate or push) to show where detection stops. ``--coaching`` shows one project's habits before
and after image 100, from which the habit labelers act on a fifth of their old rate.
Prints markdown for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quality.engine import assess_many  # noqa: E402
from quality.engine.habits import (  # noqa: E402
    fold,
    habit_evidence,
    habit_strength,
    habits_from_evidence,
)
from tests.engine import habit_projects as hp  # noqa: E402


def run(projects: int, images: int, seed: int, strength: float) -> dict:
    score = hp.Score()
    planted, recalled = Counter(), Counter()
    wrong_by_kind: Counter = Counter()
    timing = {"engine": 0.0, "evidence": 0.0, "fold+habits": 0.0}
    rows = pair_rows = 0
    rng = np.random.default_rng(seed)
    for k in range(projects):
        n_labelers = int(rng.integers(5, 8))
        project = hp.make_project(seed * 1000 + k, images, n_labelers, strength=strength)
        t0 = time.perf_counter()
        result = assess_many(project.images)
        t1 = time.perf_counter()
        evidence = habit_evidence(result)
        t2 = time.perf_counter()
        habits = habits_from_evidence(fold(evidence))
        t3 = time.perf_counter()
        timing["engine"] += t1 - t0
        timing["evidence"] += t2 - t1
        timing["fold+habits"] += t3 - t2
        rows += len(evidence.labeler)
        pair_rows += len(evidence.pair_count)
        _, wrong, missed = hp.score(project, habits, score)
        for p in project.planted:
            planted[p.kind] += 1
            recalled[p.kind] += p not in missed
        for h in wrong:
            wrong_by_kind[h.kind] += 1
    return {
        "score": score,
        "planted": planted,
        "recalled": recalled,
        "wrong": wrong_by_kind,
        "timing": timing,
        "rows": rows,
        "pair_rows": pair_rows,
        "images": projects * images,
    }


def report(out: dict, strength: float) -> str:
    s = out["score"]
    lines = [
        f"strength {strength:g}: planted {s.planted}, reported {s.found}, right {s.right}; "
        f"**precision {s.precision:.3f}, recall {s.recall:.3f}**; habits reported for honest "
        f"labelers: {s.honest_flagged}",
        "",
        "| kind | planted | found | recall | wrong habits of this kind |",
        "|---|---:|---:|---:|---:|",
    ]
    kinds = sorted(set(out["planted"]) | set(out["wrong"]))
    for kind in kinds:
        n, r = out["planted"][kind], out["recalled"][kind]
        rate = f"{r / n:.3f}" if n else "-"
        lines.append(f"| {kind} | {n} | {r} | {rate} | {out['wrong'][kind]} |")
    t, n = out["timing"], out["images"]
    lines += [
        "",
        f"Per 1,000 images: engine {1000 * t['engine'] / n:.3f} s, evidence "
        f"{1000 * t['evidence'] / n:.3f} s; fold + habits per project "
        f"{t['fold+habits'] / max(n // 200, 1):.3f} s. Evidence rows per image: "
        f"{out['rows'] / n:.1f} (labeler x class) + {out['pair_rows'] / n:.2f} (class pairs).",
    ]
    return "\n".join(lines)


def coaching(images: int, seed: int, cut: int) -> str:
    """Habits before and after the cut (images from it on are labeled after the feedback)."""
    project = hp.make_project(seed, images, 5, coached_after=cut)
    evidence = habit_evidence(assess_many(project.images))
    before = fold(evidence.of_images(np.arange(cut)))
    after = fold(evidence.of_images(np.arange(cut, images)))
    lines = [
        f"Project seed {seed}, {images} images; from image {cut} on, each habit acts at a fifth "
        "of its rate (push).",
        "",
        "| labeler | habit | class | before: strength [95% CI], support | after | a habit after? |",
        "|---|---|---|---|---|---|",
    ]
    for p in project.planted:
        key = {"kind": p.kind, "labeler": p.labeler, "label_class": p.label_class}
        old = habit_strength(before, **key, other_class=p.other_class)
        new = habit_strength(after, **key, other_class=p.other_class)
        cls = p.label_class + (f" -> {p.other_class}" if p.other_class else "")
        lines.append(
            f"| {p.labeler} | {p.kind} | {cls} | {_measure(old)} | {_measure(new)} | "
            f"{'yes' if new.found else 'no'} |"
        )
    return "\n".join(lines)


def _measure(h) -> str:
    return f"{h.strength:.3f} [{h.ci[0]:.3f}, {h.ci[1]:.3f}], {h.support}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--strength", default="1", help="comma-separated scales of the habits")
    parser.add_argument("--coaching", action="store_true")
    args = parser.parse_args()
    if args.projects:
        for strength in (float(v) for v in args.strength.split(",")):
            start = time.perf_counter()
            out = run(args.projects, args.images, args.seed, strength)
            print(report(out, strength))
            print(f"\n({args.projects} projects in {time.perf_counter() - start:.0f} s)\n")
    if args.coaching:
        print(coaching(args.images, args.seed, args.images // 2))


if __name__ == "__main__":
    main()
