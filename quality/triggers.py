"""Entry points other apps call when labels change; they enqueue the agreement pipeline.

Callers never import quality.tasks directly: the rules for *when* an image needs assessing
live here, next to the pipeline.
"""

from django.db import transaction

from annotations.models import Annotation
from projects.models import Image
from quality.models import ImageAgreement


def image_is_complete(*, image_id: int) -> bool:
    """True when the image has its project's labelers_per_image submitted label sets."""
    image = (
        Image.objects.select_related("project").only("project__labelers_per_image").get(pk=image_id)
    )
    submitted = Annotation.objects.filter(
        image_id=image_id, kind=Annotation.Kind.LABEL, status=Annotation.Status.SUBMITTED
    ).count()
    return submitted >= image.project.labelers_per_image


def image_labels_changed(*, image_id: int) -> None:
    """Call inside the transaction that changed an image's submitted labels.

    That is a submit, or an edit of an already submitted annotation. Once the transaction commits,
    the image's assessment is enqueued if the image is complete (its N submitted label sets) or
    was assessed before (a change to a complete image, or a withdrawn submission, must refresh
    the stored agreement). Nothing is enqueued if the transaction rolls back.
    """
    if not (
        image_is_complete(image_id=image_id)
        or ImageAgreement.objects.filter(image_id=image_id).exists()
    ):
        return
    from quality.tasks import assess_image_task  # tasks import services; keep triggers light

    transaction.on_commit(lambda: assess_image_task.delay(image_id))
