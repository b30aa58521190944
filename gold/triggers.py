"""What happens when a labeler submits or changes an answer on a gold image.

Scored by a task after the commit, so a gold image's submit takes the time any submit takes
(scoring it at once made it ~35 ms slower, something a labeler could time). Only when the
labeler will be shown the feedback next (the project gives it, under its limit) is the answer
scored at once: the feedback tells them it was gold anyway.
"""

import logging

from django.db import transaction
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from annotations.models import Annotation
from gold.models import GoldAnswer
from gold.scoring import GoldAnswerFrozen, feedback_due, gold_answer_score, gold_answer_score_by_id

log = logging.getLogger(__name__)


def gold_answer_changed(*, annotation: Annotation) -> None:
    """Call inside the transaction that submitted the answer or changed its boxes.

    Raises GoldAnswerFrozen if the labeler has seen this answer's feedback: it keeps its first
    attempt.
    """
    row = GoldAnswer.objects.filter(annotation=annotation).only("feedback_at").first()
    if row is not None and row.feedback_at is not None:
        raise GoldAnswerFrozen()
    project = annotation.image.project
    if row is None and feedback_due(project=project, labeler_id=annotation.labeler_id):
        gold_answer_score(annotation=annotation, feedback=True)
        return
    pk = annotation.pk
    transaction.on_commit(lambda: _score_enqueue(annotation_id=pk), robust=True)


def _score_enqueue(*, annotation_id: int) -> None:
    """Enqueue the scoring; with the broker unreachable, score here (the labels are committed)."""
    from gold.tasks import score_gold_answer_task

    try:
        score_gold_answer_task.apply_async((annotation_id,), ignore_result=True)
    except (KombuOperationalError, RedisError, OSError) as exc:
        log.warning("gold answer %s not enqueued (%s); scored in the request", annotation_id, exc)
        gold_answer_score_by_id(annotation_id=annotation_id)
