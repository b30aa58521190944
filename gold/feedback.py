"""What a labeler sees right after submitting a gold image, when the project gives feedback:
their boxes and the gold's on the image, what they missed, which class was expected, which box
was loose, with the class guidance and the instructions that apply. Only for their own answers
whose feedback was given (GoldAnswer.feedback_at): the same 404 as any other image otherwise.
"""

from __future__ import annotations

from django.http import Http404

from annotations.models import Annotation
from gold.models import GoldAnswer
from projects.instructions import instructions_current
from projects.markdown import render_markdown


def answer_feedback(*, annotation: Annotation) -> dict:
    """The feedback on the labeler's answer (call with annotation_of_owner's annotation).

    Raises Http404 when there is none: a regular image, a gold one past the project's limit or
    with feedback off, or not submitted yet. Boxes are numbered from 1 as the page draws them.
    """
    answer = (
        GoldAnswer.objects.filter(annotation=annotation, feedback_at__isnull=False)
        .select_related("gold__instruction_version")
        .first()
    )
    if answer is None:
        raise Http404("No feedback for this image.")
    project = annotation.image.project
    classes = {c.pk: c for c in project.classes.all()}
    yours = list(annotation.boxes.order_by("id"))
    expected = list(answer.gold.boxes.order_by("id"))
    your_number = {b.pk: n for n, b in enumerate(yours, 1)}
    gold_number = {b.pk: n for n, b in enumerate(expected, 1)}
    details = answer.details
    missed = set(details.get("missed", []))
    extra = set(details.get("extra", []))
    wrong = dict(details.get("wrong_class", []))
    loose = {box: (gold, iou) for box, gold, iou in details.get("loose", [])}
    issues = []
    for box in expected:
        if box.pk in missed and box.pk not in {g for g, _ in loose.values()}:
            issues.append(f"You did not box the {classes[box.label_class_id].name} marked "
                          f"{gold_number[box.pk]}.")  # fmt: skip
    for box in yours:
        name = classes[box.label_class_id].name
        if box.pk in wrong:
            gold = next(b for b in expected if b.pk == wrong[box.pk])
            issues.append(
                f"Your box {your_number[box.pk]} is a {name}; the reference says "
                f"{classes[gold.label_class_id].name}."
            )
        elif box.pk in loose:
            gold_pk, iou = loose[box.pk]
            issues.append(
                f"Your box {your_number[box.pk]} overlaps reference box {gold_number[gold_pk]} only "
                f"{iou:.2f} (IoU): draw it tight around the object."
            )
        elif box.pk in extra:
            issues.append(
                f"Your box {your_number[box.pk]} ({name}) is on nothing the reference boxed."
            )
    # The guidance of the classes something went wrong with.
    involved = {b.label_class_id for b in expected if b.pk in missed}
    involved |= {b.label_class_id for b in yours if b.pk in wrong or b.pk in extra or b.pk in loose}
    involved |= {b.label_class_id for b in expected if b.pk in set(wrong.values())}
    instructions = answer.gold.instruction_version or instructions_current(project=project)
    return {
        "annotation": annotation.pk,
        "image": annotation.image,
        "correct": answer.correct,
        "gold_boxes": answer.gold_boxes,
        "issues": issues,
        "expected": [
            _box(n, b, classes, "missed" if b.pk in missed else "found")
            for n, b in enumerate(expected, 1)
        ],  # fmt: skip
        "yours": [
            _box(n, b, classes, _fate(b.pk, wrong, loose, extra)) for n, b in enumerate(yours, 1)
        ],  # fmt: skip
        "guidance": [
            (classes[pk].name, render_markdown(classes[pk].guidance))
            for pk in sorted(involved, key=lambda pk: classes[pk].order)
            if classes[pk].guidance
        ],
        "instructions": instructions,
    }


def _fate(pk: int, wrong: dict, loose: dict, extra: set) -> str:
    if pk in wrong:
        return "wrong_class"
    if pk in extra:
        return "extra"
    if pk in loose:
        return "loose"
    return "correct"


def _box(number: int, box, classes: dict, fate: str) -> dict:
    label_class = classes[box.label_class_id]
    return {
        "n": number,
        "x": box.x,
        "y": box.y,
        "width": box.width,
        "height": box.height,
        "label_class": label_class.pk,
        "class_name": label_class.name,
        "color": label_class.color,
        "fate": fate,
    }
