"""flag_resolve and adjudication_save: what each decision does to flags, labels, instructions."""

import pytest
from django.core.exceptions import ValidationError

from annotations.models import Annotation
from projects.instructions import instructions_pending_for
from quality.models import Flag, ImageAgreement
from quality.services.review import (
    RULE_PLACEHOLDER,
    adjudication_save,
    flag_resolve,
    instructions_draft,
)

pytestmark = pytest.mark.django_db


def _adjudication(image):
    annotation = Annotation.objects.get(image=image, kind=Annotation.Kind.ADJUDICATION)
    boxes = [
        (b.label_class.name, round(b.x), round(b.y), round(b.width), round(b.height))
        for b in annotation.boxes.all()
    ]
    return annotation, boxes


def test_accept_labeler_stores_their_boxes_as_the_adjudication(results, lead, labeler_b):
    flag = flag_resolve(
        flag=results["conflict"], user=lead, resolution="accept_labeler", accepted_labeler=labeler_b
    )
    flag.refresh_from_db()
    assert flag.status == Flag.Status.RESOLVED
    assert flag.resolution == Flag.Resolution.ACCEPT_LABELER
    assert flag.accepted_labeler == labeler_b
    assert flag.resolved_by == lead and flag.resolved_at is not None
    assert flag.instruction_version.number == 1
    annotation, boxes = _adjudication(results["images"][0])
    assert annotation.labeler == lead and annotation.status == Annotation.Status.SUBMITTED
    assert boxes == [("truck", 11, 10, 50, 40)]


def test_accept_consensus_stores_consensus_boxes(results, lead):
    flag_resolve(flag=results["low"], user=lead, resolution="accept_consensus")
    _, boxes = _adjudication(results["images"][1])
    assert boxes == [("car", 100, 100, 65, 50)]
    assert Flag.objects.get(pk=results["low"].pk).resolution == "accept_consensus"


def test_accept_consensus_with_a_class_tie_is_refused_and_changes_nothing(results, lead):
    with pytest.raises(ValidationError, match="tie"):
        flag_resolve(flag=results["conflict"], user=lead, resolution="accept_consensus")
    assert Flag.objects.get(pk=results["conflict"].pk).status == Flag.Status.OPEN
    assert not Annotation.objects.filter(kind=Annotation.Kind.ADJUDICATION).exists()


def test_adjudicate_stores_the_leads_boxes_clipped_to_the_image(results, lead):
    car = results["car"]
    image = results["images"][0]
    flag_resolve(
        flag=results["conflict"],
        user=lead,
        resolution="adjudicated",
        boxes=[
            {"x": 10, "y": 10, "width": 50, "height": 40, "label_class": car.pk},
            # Overshoots the right and top borders by a few pixels: clipped, as a labeler's is.
            {"x": image.width - 40, "y": -5, "width": 45, "height": 20, "label_class": car.pk},
        ],
    )
    _, boxes = _adjudication(image)
    assert boxes == [("car", 10, 10, 50, 40), ("car", image.width - 40, 0, 40, 15)]
    assert Flag.objects.get(pk=results["conflict"].pk).resolution == "adjudicated"


@pytest.mark.parametrize(
    ("box", "message"),
    [
        ({"x": 600, "y": 10, "width": 400, "height": 20}, "lies outside the"),
        ({"x": 10, "y": 10, "width": 0, "height": 20}, "must be positive"),
        ({"x": "ten", "y": 10, "width": 5, "height": 5}, "x must be a number"),
        ({"x": 10, "y": 10, "width": 5}, "missing height"),
    ],
)
def test_adjudication_checks_boxes_as_the_labeling_api_does(results, lead, box, message):
    """One validator (annotations.boxes) for a labeler's and the lead's boxes, same messages."""
    box.setdefault("label_class", results["car"].pk)
    with pytest.raises(ValidationError, match=message):
        flag_resolve(flag=results["conflict"], user=lead, resolution="adjudicated", boxes=[box])
    assert not Annotation.objects.filter(kind=Annotation.Kind.ADJUDICATION).exists()


def test_adjudication_with_a_foreign_class_is_refused_without_writing(results, lead):
    other_class = results["car"].pk + 1000
    with pytest.raises(ValidationError, match="not a class of this project"):
        flag_resolve(
            flag=results["conflict"],
            user=lead,
            resolution="adjudicated",
            boxes=[{"x": 1, "y": 1, "width": 5, "height": 5, "label_class": other_class}],
        )
    assert not Annotation.objects.filter(kind=Annotation.Kind.ADJUDICATION).exists()
    assert Flag.objects.get(pk=results["conflict"].pk).status == Flag.Status.OPEN


def test_a_second_adjudication_replaces_the_first(results, lead):
    image = results["images"][0]
    car, truck = results["car"], results["truck"]
    adjudication_save(
        image=image,
        lead=lead,
        boxes=[{"x": 1, "y": 1, "width": 9, "height": 9, "label_class": car.pk}],
    )
    adjudication_save(
        image=image,
        lead=lead,
        boxes=[{"x": 2, "y": 2, "width": 9, "height": 9, "label_class": truck.pk}],
    )
    assert Annotation.objects.filter(image=image, kind="adjudication").count() == 1
    assert _adjudication(image)[1] == [("truck", 2, 2, 9, 9)]


def test_dismiss_needs_a_reason(results, lead):
    with pytest.raises(ValidationError, match="why"):
        flag_resolve(flag=results["low"], user=lead, resolution="dismissed")
    flag_resolve(flag=results["low"], user=lead, resolution="dismissed", note="Both are fine.")
    flag = Flag.objects.get(pk=results["low"].pk)
    assert flag.status == Flag.Status.DISMISSED and flag.resolution_note == "Both are fine."
    assert not Annotation.objects.filter(kind=Annotation.Kind.ADJUDICATION).exists()


def test_instructions_unclear_publishes_the_next_version_and_labelers_must_acknowledge(
    results, lead, labeler_a, project
):
    body, summary = instructions_draft(flag=results["conflict"])
    assert "Worked example" in body and "car / truck" in body
    assert "labeler_a" not in body and "labeler A" in body  # names stay out of instructions
    with pytest.raises(ValidationError, match="placeholder"):
        flag_resolve(
            flag=results["conflict"], user=lead, resolution="instructions", instructions_body=body
        )
    body = body.replace(RULE_PLACEHOLDER, "A pickup with an open bed is a truck.")
    flag_resolve(
        flag=results["conflict"],
        user=lead,
        resolution="instructions",
        instructions_body=body,
        instructions_summary=summary,
    )
    flag = Flag.objects.get(pk=results["conflict"].pk)
    assert flag.status == Flag.Status.RESOLVED and flag.resolution == "instructions"
    assert flag.instruction_version.number == 2
    assert "pickup with an open bed" in flag.instruction_version.body
    assert instructions_pending_for(user=labeler_a, project=project) == flag.instruction_version


def test_a_superseded_flag_cannot_be_resolved(results, lead):
    Flag.objects.filter(pk=results["low"].pk).update(status=Flag.Status.SUPERSEDED)
    with pytest.raises(ValidationError, match="superseded"):
        flag_resolve(flag=results["low"], user=lead, resolution="dismissed", note="x")


def test_accepting_a_labeler_without_labels_on_the_image_is_refused(results, lead, engineer):
    with pytest.raises(ValidationError, match="no submitted labels"):
        flag_resolve(
            flag=results["low"], user=lead, resolution="accept_labeler", accepted_labeler=engineer
        )


@pytest.mark.parametrize("resolution", ["accept_labeler", "adjudicated"])
def test_a_decision_on_the_image_labels_settles_its_other_open_flags(
    results, lead, labeler_b, resolution
):
    if resolution == "accept_labeler":
        kwargs = {"accepted_labeler": labeler_b}
    else:
        box = {"x": 10, "y": 10, "width": 50, "height": 40, "label_class": results["truck"].pk}
        kwargs = {"boxes": [box]}
    conflict, missing, low = results["conflict"], results["missing"], results["low"]
    flag_resolve(flag=conflict, user=lead, resolution=resolution, **kwargs)
    missing.refresh_from_db()
    assert missing.status == Flag.Status.RESOLVED
    assert missing.resolution == resolution and missing.settled_by_id == conflict.pk
    assert missing.resolved_by == lead and missing.resolved_at is not None
    assert f"#{conflict.pk}" in missing.resolution_note
    assert missing.accepted_labeler == (labeler_b if resolution == "accept_labeler" else None)
    assert Flag.objects.get(pk=low.pk).status == Flag.Status.OPEN  # another image: untouched
    assert ImageAgreement.objects.get(image=conflict.image).open_flag_count == 0


def test_dismissing_or_clarifying_settles_only_that_flag(results, lead):
    flag_resolve(flag=results["conflict"], user=lead, resolution="dismissed", note="Both fine.")
    assert Flag.objects.get(pk=results["missing"].pk).status == Flag.Status.OPEN
    assert ImageAgreement.objects.get(image=results["conflict"].image).open_flag_count == 1


def test_a_later_decision_on_the_image_resettles_what_the_earlier_one_settled(
    results, lead, labeler_a, labeler_b
):
    conflict, missing = results["conflict"], results["missing"]
    flag_resolve(flag=conflict, user=lead, resolution="accept_labeler", accepted_labeler=labeler_b)
    # The lead changes their mind from the missing flag: labeler_a's version after all.
    flag_resolve(flag=missing, user=lead, resolution="accept_labeler", accepted_labeler=labeler_a)
    conflict.refresh_from_db()
    missing.refresh_from_db()
    assert (conflict.accepted_labeler, conflict.settled_by_id) == (labeler_a, missing.pk)
    assert (missing.accepted_labeler, missing.settled_by_id) == (labeler_a, None)
    assert _adjudication(conflict.image)[1] == [("car", 10, 10, 50, 40), ("car", 200, 200, 60, 40)]


def test_near_duplicate_conflicts_stay_open_when_one_image_is_settled(
    project, results, lead, labeler_b
):
    img1, img2, _ = results["images"]
    near = Flag.objects.create(
        project=project, image=img1, other_image=img2, kind=Flag.Kind.NEAR_DUPLICATE_CONFLICT,
        key="nd:1", message="These two images look the same but their labels differ.",
    )  # fmt: skip
    flag_resolve(
        flag=results["conflict"], user=lead, resolution="accept_labeler", accepted_labeler=labeler_b
    )
    assert Flag.objects.get(pk=near.pk).status == Flag.Status.OPEN
