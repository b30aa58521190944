"""What changed between two instruction versions, line by line, for a person to read.

Changed lines are paired up and the words that differ inside them are marked, so a one-word fix
in a long paragraph shows as that word, not as the paragraph removed and added again. Long runs of
unchanged lines are folded to their first and last few lines.
"""

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "added", "removed", or "skip" (a folded run of unchanged lines)
    old_number: int | None = None
    new_number: int | None = None
    # (text, changed) pieces of the line; changed marks the words that differ from its pair.
    pieces: tuple[tuple[str, bool], ...] = field(default_factory=tuple)
    skipped: int = 0


@dataclass(frozen=True)
class InstructionDiff:
    lines: list[DiffLine]
    added: int
    removed: int

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed)


def instruction_diff(old: str, new: str, *, context: int = 3) -> InstructionDiff:
    """The line diff from `old` to `new` with word marks in changed lines."""
    a, b = old.splitlines(), new.splitlines()
    lines: list[DiffLine] = []
    added = removed = 0
    opcodes = SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    for position, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            lines += _unchanged_run(
                a, i1, i2, j1, context,
                keep_head=position > 0, keep_tail=position < len(opcodes) - 1,
            )  # fmt: skip
            continue
        old_lines, new_lines = a[i1:i2], b[j1:j2]
        removed += len(old_lines)
        added += len(new_lines)
        pairs = min(len(old_lines), len(new_lines)) if tag == "replace" else 0
        for k, text in enumerate(old_lines):
            pieces = _marked(text, new_lines[k])[0] if k < pairs else ((text, False),)
            lines.append(DiffLine("removed", old_number=i1 + k + 1, pieces=pieces))
        for k, text in enumerate(new_lines):
            pieces = _marked(old_lines[k], text)[1] if k < pairs else ((text, False),)
            lines.append(DiffLine("added", new_number=j1 + k + 1, pieces=pieces))
    return InstructionDiff(lines=lines, added=added, removed=removed)


def _unchanged_run(a, i1, i2, j1, context, *, keep_head, keep_tail) -> list[DiffLine]:
    def same(i):
        return DiffLine(
            "same", old_number=i + 1, new_number=j1 + (i - i1) + 1, pieces=((a[i], False),)
        )

    indices = list(range(i1, i2))
    head = indices[:context] if keep_head else []
    tail = indices[-context:] if keep_tail else []
    if len(head) + len(tail) >= len(indices):
        return [same(i) for i in indices]
    folded = len(indices) - len(head) - len(tail)
    return [
        *(same(i) for i in head),
        DiffLine("skip", skipped=folded),
        *(same(i) for i in tail),
    ]


def _marked(old: str, new: str):
    """Both lines as (text, changed) pieces, marking the words that differ."""
    x, y = _TOKEN.findall(old), _TOKEN.findall(new)
    old_pieces, new_pieces = [], []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, x, y, autojunk=False).get_opcodes():
        changed = tag != "equal"
        if i2 > i1:
            old_pieces.append(("".join(x[i1:i2]), changed))
        if j2 > j1:
            new_pieces.append(("".join(y[j1:j2]), changed))
    return tuple(old_pieces), tuple(new_pieces)
