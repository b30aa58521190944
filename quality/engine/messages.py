"""One plain sentence per flag, written for a project lead."""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING

from .types import DUPLICATE, GROUPING, LABEL_CONFLICT, LOW_OVERLAP, MISSING

if TYPE_CHECKING:
    from .results import BatchAssessment

TIMES = {2: "twice", 3: "three times"}


def join_names(names) -> str:
    """'ann', 'ann and bob', 'ann, bob and cho'."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def plural(label: str, count: int) -> str:
    if count == 1 or label.endswith("s"):
        return label
    return label + "s"


def flag_message(result: BatchAssessment, flag: int) -> str:
    """The sentence for flag ``flag`` of a BatchAssessment."""
    kind = int(result.flag_kind[flag])
    rows = result.flag_rows(flag).tolist()
    box_labelers = [result.labeler_of_row(r) for r in rows]
    labels = [str(result.batch.label_names[result.batch.label[r]]) for r in rows]
    if kind == LABEL_CONFLICT:
        sentence = f"{join_names(box_labelers)} boxed the same object as {' / '.join(labels)}"
        obj = result.box_object[rows[0]]
        if obj >= 0 and result.object_label[obj] < 0:
            sentence += "; no class has a majority"
        return sentence
    if kind == MISSING:
        missed = [n for n in result.flag_labelers(flag) if n not in box_labelers]
        if result.flag_labelers(flag, deviating=True) == tuple(_unique(box_labelers)):
            # The boxers are the minority: the odd one out drew a box, not missed one.
            return (
                f"only {join_names(_unique(box_labelers))} boxed an object here (as "
                f"{_label_words(result, rows, labels)}); {join_names(missed)} did not"
            )
        return (
            f"{join_names(missed)} did not box an object that {join_names(box_labelers)} "
            f"boxed as {_label_words(result, rows, labels)}"
        )
    if kind == LOW_OVERLAP:
        value = math.floor(float(result.flag_value[flag]) * 100) / 100
        agree = f"agree on {labels[0]}" if len(set(labels)) == 1 else "boxed the same object"
        roles = result.flag_box_roles[result.flag_box_ptr[flag] : result.flag_box_ptr[flag + 1]]
        outliers = [n for n, r in zip(box_labelers, roles.tolist(), strict=True) if r == 1]
        if len(outliers) == 1:
            return (
                f"{join_names(box_labelers)} {agree} but {outliers[0]}'s box overlaps the "
                f"others only {value:.2f}"
            )
        worst = " at worst" if len(rows) > 2 else ""
        return f"{join_names(box_labelers)} {agree} but their boxes overlap only {value:.2f}{worst}"
    if kind == GROUPING:
        roles = result.flag_box_roles[result.flag_box_ptr[flag] : result.flag_box_ptr[flag + 1]]
        groupers = _unique([n for n, r in zip(box_labelers, roles, strict=True) if r == 1])
        small = [(n, lab) for n, lab, r in zip(box_labelers, labels, roles, strict=True) if r == 0]
        others = _unique([n for n, _ in small])
        count = int(result.flag_value[flag])
        common = Counter(lab for _, lab in small).most_common()
        if len(common) == 1 or (len(common) > 1 and common[0][1] > common[1][1]):
            what = plural(common[0][0], count)
        else:
            what = plural("object", count)
        each = " each" if len(groupers) > 1 else ""
        return (
            f"{join_names(groupers)}{each} drew one box around {count} {what} that "
            f"{join_names(others)} boxed one by one"
        )
    if kind == DUPLICATE:
        copies = len(rows)
        times = TIMES.get(copies, f"{copies} times")
        return f"{box_labelers[0]} boxed one object {times}"
    return ""


def _label_words(result: BatchAssessment, rows: list[int], labels: list[str]) -> str:
    obj = result.box_object[rows[0]] if rows else -1
    if obj >= 0 and result.object_label[obj] >= 0:
        return str(result.batch.label_names[result.object_label[obj]])
    return " / ".join(_unique(labels))


def _unique(items):
    return list(dict.fromkeys(items))
