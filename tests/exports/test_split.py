"""An optional train/val/test split never puts two near-duplicate images in different subsets."""

import io
import random
import zipfile

import numpy as np
import pytest
import yaml
from pycocotools.coco import COCO

from exports.splits import near_duplicate_groups
from projects.models import Image
from quality.services.assessment import images_assess
from tests.exports.conftest import label
from tests.exports.helpers import fetch
from tests.factories import ImageFactory


@pytest.fixture
def client_lead(client, lead):
    client.force_login(lead)
    return client


@pytest.fixture
def hashed(project, classes, labeler_a, labeler_b):
    """40 labeled images; 5 groups of near duplicates (hashes 1-3 bits apart, one a chain)."""
    car, _ = classes
    rng = random.Random(7)
    phashes = [rng.getrandbits(63) for _ in range(30)]
    groups = []
    for g in range(5):
        base = rng.getrandbits(63)
        members = [base, base ^ 1, base ^ 0b110]
        if g == 0:
            members.append(base ^ 0b110 ^ (0b1111 << 20))  # 4 bits from the third only: a chain
        groups.append(members)
    images, group_ids = [], []
    for h in phashes + [h for members in groups for h in members][:10]:
        image = ImageFactory(project=project)
        Image.objects.filter(pk=image.pk).update(phash=h)
        label(image, labeler_a, [(car, 10, 10, 50, 50)])
        label(image, labeler_b, [(car, 11, 10, 50, 50)])
        images.append(image)
    by_hash = {h: i for i, h in enumerate(phashes + [h for m in groups for h in m][:10])}
    for members in groups:
        ids = [images[by_hash[h]].pk for h in members if h in by_hash and by_hash[h] >= 30]
        if len(ids) > 1:
            group_ids.append(ids)
    images_assess(image_ids=[i.pk for i in images])
    return images, group_ids


def subsets_of(names):
    out = {}
    for name in names:
        if name.startswith("labels/") and name.endswith(".txt"):
            subset, file = name.split("/")[1:]
            out[file] = subset
    return out


def test_near_duplicate_groups_are_transitive():
    far = 0xFFFF << 40
    hashes = np.array([0, 1, 0b11, 0b11 | (0b111 << 10), far, far | 0xFF], dtype=np.uint64)
    labels = near_duplicate_groups(hashes, max_distance=4)
    assert labels[0] == labels[1] == labels[2] == labels[3]  # 3 is 5 bits from 0, 3 from 2
    assert labels[4] != labels[0] and labels[5] != labels[4]


def test_yolo_split_keeps_near_duplicates_together_and_follows_the_fractions(
    client_lead, project, hashed
):
    images, groups = hashed
    response, body = fetch(client_lead, project, format="yolo", split="0.6,0.2,0.2", split_seed=3)
    assert response.status_code == 200, body[:300]
    archive = zipfile.ZipFile(io.BytesIO(body))
    data = yaml.safe_load(archive.read("data.yaml"))
    assert (data["train"], data["val"], data["test"]) == (
        "images/train",
        "images/val",
        "images/test",
    )
    subset = subsets_of(archive.namelist())
    assert len(subset) == len(images)
    stem = {i.pk: i.original_name.rsplit(".", 1)[0] + ".txt" for i in images}
    for ids in groups:
        assert len({subset[stem[pk]] for pk in ids}) == 1, ids
    counts = {s: list(subset.values()).count(s) for s in ("train", "val", "test")}
    assert abs(counts["train"] - 24) <= 3 and abs(counts["val"] - 8) <= 3
    again = zipfile.ZipFile(
        io.BytesIO(fetch(client_lead, project, format="yolo", split="0.6,0.2,0.2", split_seed=3)[1])
    )
    assert subsets_of(again.namelist()) == subset
    other = zipfile.ZipFile(
        io.BytesIO(fetch(client_lead, project, format="yolo", split="0.6,0.2,0.2", split_seed=4)[1])
    )
    assert subsets_of(other.namelist()) != subset


def test_coco_and_voc_splits_give_the_same_subsets_and_the_datacard_records_them(
    client_lead, project, hashed, tmp_path
):
    images, _ = hashed
    params = {"split": "0.5,0.5", "split_seed": 1}
    body = fetch(client_lead, project, format="coco", **params)[1]
    archive = zipfile.ZipFile(io.BytesIO(body))
    archive.extractall(tmp_path)
    coco_subsets = {}
    for subset in ("train", "val"):
        coco = COCO(str(tmp_path / f"annotations/instances_{subset}.json"))
        for image in coco.loadImgs(coco.getImgIds()):
            coco_subsets[image["file_name"].rsplit(".", 1)[0]] = subset
    assert "annotations/instances_test.json" not in archive.namelist()
    assert len(coco_subsets) == len(images)
    voc = zipfile.ZipFile(io.BytesIO(fetch(client_lead, project, format="voc", **params)[1]))
    voc_subsets = {}
    for subset in ("train", "val"):
        for stem in voc.read(f"ImageSets/Main/{subset}.txt").decode().split():
            voc_subsets[stem] = subset
    assert voc_subsets == coco_subsets
    card = client_lead.get(f"/api/projects/{project.pk}/datacard/", params).json()
    assert card["split"]["images"] == {
        s: list(coco_subsets.values()).count(s) for s in ("train", "val")
    }
    assert card["split"]["near_duplicate_groups_kept_together"] >= 3
    assert "1-based" in card["files"]["coordinates"]["voc"]
    markdown = client_lead.get(f"/api/projects/{project.pk}/datacard/", {**params, "format": "md"})
    assert b"## Split" in markdown.content


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"split": "0.8,0.3"}, "split"),
        ({"split": "train"}, "split"),
        ({"split": "1"}, "split"),
        ({"split": "0.5,0.5", "split_seed": "-1"}, "split_seed"),
        ({"split_seed": "3"}, "split_seed"),
        ({"split": "0.5,0.5", "format": "csv"}, "split"),
        ({"layout": "datumaro", "format": "yolo"}, "layout"),
    ],
)
def test_bad_split_parameters_get_a_clear_400(client_lead, project, params, param):
    response = client_lead.get(f"/api/projects/{project.pk}/export/", params)
    assert response.status_code == 400
    assert response.json()["param"] == param


@pytest.mark.parametrize("fmt", ["coco", "yolo", "voc"])
def test_split_of_a_project_with_nothing_to_export_is_an_empty_dataset(client_lead, project, fmt):
    response, body = fetch(client_lead, project, format=fmt, split="0.8,0.1,0.1")
    assert response.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(body)).testzip() is None
