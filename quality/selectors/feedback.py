"""What a labeler is told about their own work: the flags on it, anonymous, with the lead's decisions."""

from __future__ import annotations

import re

from annotations.models import Box
from projects.markdown import render_markdown
from projects.models import Project
from quality.aliases import labeler_aliases, names_replaced
from quality.models import (
    Flag,
    FlagLabeler,
)


def labeler_feedback(*, user, project: Project, limit: int = 20) -> list[dict]:
    """Flags involving this labeler that a lead settled, with the decision and its rule.

    Only the labeler's own side is described: never another labeler's boxes or classes. The
    lead's note is shown with the labelers' names replaced by "labeler A"... (quality.aliases).
    """
    flags = (
        Flag.objects.filter(
            project=project,
            labelers=user,
            status__in=[Flag.Status.RESOLVED, Flag.Status.DISMISSED],
        )
        .select_related("image", "label_class", "instruction_version")
        .order_by("-resolved_at", "-id")[:limit]
    )
    flags = list(flags)
    aliases = labeler_aliases(image_ids={flag.image_id for flag in flags if flag.resolution_note})
    # Who was in the minority on each flag (the caller's own mark only ever reaches the page),
    # and which of the flags' boxes are the caller's: two queries for the whole list.
    odd_ones = list(
        FlagLabeler.objects.filter(flag__in=flags, deviating=True).values_list("flag_id", "user_id")
    )
    someone_deviates = {flag_id for flag_id, _ in odd_ones}
    mine = {flag_id for flag_id, user_id in odd_ones if user_id == user.pk}
    own_boxes = set(
        Box.objects.filter(
            pk__in={pk for flag in flags for pk in flag.box_ids}, annotation__labeler=user
        ).values_list("pk", flat=True)
    )
    rows = [
        {
            "flag_id": flag.pk,
            "image": flag.image.original_name,
            "image_id": flag.image_id,
            "kind": flag.get_kind_display(),
            "label_class": flag.label_class.name if flag.label_class else "",
            "decision": _decision_for(flag, user),
            "your_part": _your_part(
                flag,
                you_deviate=flag.pk in mine,
                someone_deviates=flag.pk in someone_deviates,
                your_box_in_it=bool(own_boxes.intersection(flag.box_ids)),
            ),
            "note": names_replaced(flag.resolution_note, aliases.get(flag.image_id, {})),
            "resolved_at": flag.resolved_at,
            "instruction_number": flag.instruction_version.number
            if flag.instruction_version
            else None,
            "excerpt": instruction_excerpt(flag=flag),
        }
        for flag in flags
    ]
    for row in rows:  # Markdown, sanitised as the instructions are
        row["note_html"] = render_markdown(row["note"])
        row["excerpt_html"] = render_markdown(row["excerpt"])
    return rows


def _your_part(flag: Flag, *, you_deviate: bool, someone_deviates: bool, your_box_in_it: bool):
    """Whether the labeler's own box was the odd one out, in plain words, never naming anyone.

    From the flag's deviating labelers (the minority): the labeler is told what they did when
    they were in it, that their labels went with the majority when someone else was, and that
    nobody was when the labelers split evenly.
    """
    K = Flag.Kind
    if not someone_deviates:
        return "The labelers split evenly here, so no one's boxes were the odd ones out."
    if not you_deviate:
        return "Another labeler's boxes differed here; yours went with the majority."
    if flag.kind == K.MISSING:
        if your_box_in_it:
            return "You boxed an object here that the other labelers did not box."
        return "You did not box an object that the other labelers boxed."
    return {
        K.LABEL_CONFLICT: "You gave this object a different class from the other labelers.",
        K.LOW_OVERLAP: "Your box of this object overlapped the other labelers' boxes too little "
        "(much tighter or looser than theirs).",
        K.GROUPING: "You boxed these objects differently from the other labelers: one box "
        "around several objects against one box each, or the other way round.",
        K.DUPLICATE: "You boxed this object more than once.",
    }.get(flag.kind, "Your boxes were the ones that differed from the others.")


def _decision_for(flag: Flag, user) -> str:
    R = Flag.Resolution
    if flag.resolution == R.ACCEPT_LABELER:
        if flag.accepted_labeler_id == user.pk:
            return "The lead accepted your version."
        return "The lead accepted another labeler's version, not yours."
    return {
        R.ACCEPT_CONSENSUS: "The lead accepted the consensus of all labelers.",
        R.ADJUDICATED: "The lead drew the final boxes for this image.",
        R.DISMISSED: "The lead dismissed this flag: nothing to change.",
        R.INSTRUCTIONS: "The lead clarified the instructions for cases like this one.",
    }.get(flag.resolution, "Settled by the lead.")


WORKED_EXAMPLE_MARK = "<!-- flag {id} -->"


def instruction_excerpt(*, flag: Flag, length: int = 400) -> str:
    """The part of the flag's instruction version its decision rests on.

    The worked example written for this flag if there is one, else the first paragraph that
    names the flag's class, else the beginning of the instructions.
    """
    version = flag.instruction_version
    if version is None:
        return ""
    body = version.body
    mark = WORKED_EXAMPLE_MARK.format(id=flag.pk)
    if mark in body:
        return body.split(mark, 1)[1].strip()[:length]
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n|\n(?=[*-] )", body) if p.strip()]
    if flag.label_class:
        name = re.compile(rf"\b{re.escape(flag.label_class.name)}\b", re.IGNORECASE)
        for paragraph in paragraphs:
            if name.search(paragraph) and not paragraph.startswith("#"):
                return paragraph[:length]
    rules = [p for p in paragraphs if not p.startswith("#")]
    return (rules[0] if rules else body)[:length]


# Helpers for the shapes the pipeline stores in JSON fields.
