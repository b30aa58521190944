"""Blindness: everything a labeler receives for a gold image is what they receive for any other
image, but for the image itself (its id, name and pixels) and the annotation's own id and times.

One labeler gets a gold image (the qualification set of one) and then a regular one, does the
same on both, and every response along the way is compared once those are put in neutral
words: the API's JSON and headers, the label page reopened on each, their rows in My work, the
image files' headers, and how the queue's count of remaining images moves. The gold is made
both ways a lead makes it from boxes: given to the gold API, or imported from a COCO file.
"""

import json
import re

import pytest

from annotations.models import Annotation
from gold.models import GoldImage
from tests.annotations.conftest import annotation_url, submit_url
from tests.gold.conftest import boxes_payload, make_gold, policy, take
from tests.gold.test_gold_import import true_coco
from tests.imports.conftest import report_of

pytestmark = pytest.mark.django_db

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")
SHOWN_TIME = re.compile(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')  # a new one per page
VOLATILE_HEADERS = {"Date", "Last-Modified", "ETag", "Content-Length", "Set-Cookie"}


def neutral(response, annotation: Annotation):
    """The response with this annotation's and its image's own names put in neutral words:
    JSON field by field, pages where those names appear."""
    if response["Content-Type"].startswith("application/json"):
        return _neutral_json(response.json(), annotation)
    pk, image = annotation.pk, annotation.image
    text = response.content.decode().replace(image.original_name, "<name>")
    for pattern in (r"annotation=(\d+)", r'data-annotation="(\d+)"', r'"reopen": (\d+)'):
        text = re.sub(pattern, lambda m: m.group(0).replace(str(pk), "<annotation>"), text)
    text = CSRF.sub('name="csrfmiddlewaretoken" value="<token>"', text)
    return SHOWN_TIME.sub("<time>", TIMESTAMP.sub("<time>", text))


def _neutral_json(data, annotation: Annotation):
    data = dict(data)
    if data.get("annotation") == annotation.pk:
        data["annotation"] = "<annotation>"
    if data.get("id") == annotation.pk:
        data["id"] = "<annotation>"
    if isinstance(data.get("image"), dict):
        data["image"] = {**data["image"], "id": "<image>", "url": "<url>", "name": "<name>"}
    for field in ("started_at", "submitted_at", "editable_until"):
        if data.get(field):
            data[field] = "<time>"
    return data


def image_url(project, image_id) -> str:
    return f"/projects/{project.slug}/images/{image_id}/file/"


def headers(response) -> dict:
    return {k: v for k, v in response.items() if k not in VOLATILE_HEADERS}


def exchange(client, project, classes) -> tuple[Annotation, list]:
    """Take the next image, look at it, save boxes twice, submit, reopen: every response."""
    responses = [take(client, project)]
    annotation = Annotation.objects.select_related("image").get(
        pk=responses[0].json()["annotation"]
    )
    url = annotation_url(annotation.pk)
    responses.append(client.get(url))
    for boxes in (boxes_payload(classes)[:1], boxes_payload(classes)):
        body = json.dumps({"boxes": boxes, "active_seconds": 12.5})
        responses.append(client.put(url, body, content_type="application/json"))
    responses.append(client.post(submit_url(annotation.pk), "{}", content_type="application/json"))
    responses.append(client.get(url))
    return annotation, responses


@pytest.mark.parametrize("made", ["boxes", "import"])
def test_a_gold_image_and_a_regular_one_look_the_same_to_the_labeler(
    project, classes, acknowledged, images, lead, labeler_a, client, made, run_import
):
    if made == "import":
        data = {"gold.json": true_coco(images[0])}
        report_of(run_import(project, data, format="coco", target="gold"))
        gold = GoldImage.objects.get(source="import")
    else:
        gold = make_gold(project, images[0], lead, classes)
    policy(project, qualification_size=1, rate=0.1)
    client.force_login(labeler_a)
    queue_status = f"/api/projects/{project.pk}/queue/"
    remaining = [client.get(queue_status).json()["remaining"]]

    gold_answer, gold_responses = exchange(client, project, classes)
    remaining.append(client.get(queue_status).json()["remaining"])
    regular_answer, regular_responses = exchange(client, project, classes)
    remaining.append(client.get(queue_status).json()["remaining"])
    assert gold_answer.kind == "gold" and gold_answer.image_id == gold.image_id
    assert regular_answer.kind == "label"

    for g, r in zip(gold_responses, regular_responses, strict=True):
        assert g.status_code == r.status_code == 200
        assert neutral(g, gold_answer) == neutral(r, regular_answer)
        assert headers(g) == headers(r)
    # The same URL scheme for the pixels, served alike.
    for answer, responses in ((gold_answer, gold_responses), (regular_answer, regular_responses)):
        for response in responses:
            assert response.json()["image"]["url"] == image_url(project, answer.image_id)
    files = [client.get(image_url(project, a.image_id)) for a in (gold_answer, regular_answer)]
    assert [f.status_code for f in files] == [200, 200]
    # The stored file is named by its content's hash: the image itself.
    assert [
        {k: v.replace(a.image.sha256, "<sha256>") for k, v in headers(f).items()}
        for f, a in zip(files, (gold_answer, regular_answer), strict=True)
    ] == [headers(files[1]) | {"Content-Disposition": 'inline; filename="<sha256>.jpg"'}] * 2
    # Taking either kind of image lowers the count of images left by one.
    assert remaining[0] - remaining[1] == remaining[1] - remaining[2] == 1

    # The label page reopened on each, and each one's row in My work.
    pages = [
        client.get(f"/projects/{project.slug}/label/?annotation={a.pk}")
        for a in (gold_answer, regular_answer)
    ]
    assert neutral(pages[0], gold_answer) == neutral(pages[1], regular_answer)
    my_work = client.get(f"/projects/{project.slug}/my-work/").content.decode()
    rows = {
        int(pk): row
        for pk, row in re.findall(r'<tr data-annotation="(\d+)">(.*?)</tr>', my_work, re.S)
    }
    gold_row, regular_row = (
        SHOWN_TIME.sub("<time>", rows[a.pk].replace(a.image.original_name, "<name>")).replace(
            f"annotation={a.pk}", "annotation=<annotation>"
        )
        for a in (gold_answer, regular_answer)
    )
    assert gold_row == regular_row
    assert "2 images submitted" in my_work
    home = client.get("/").content.decode()
    assert "You submitted <strong>2</strong> images" in home
    for text in (my_work, home, *(p.content.decode() for p in pages)):
        assert "gold" not in text.lower()
