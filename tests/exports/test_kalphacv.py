"""The raw COCO export is what the K-alpha reference tool reads, and it agrees with Concord."""

import json

import pytest
from kalphacv import calculate_iaa_from_annotations

from quality.services.summary import project_summarize
from tests.exports.helpers import fetch_coco


def test_kalphacv_on_the_raw_coco_export_equals_concords_kalpha(client, lead, dataset, tmp_path):
    client.force_login(lead)
    path = tmp_path / "raw.json"
    path.write_text(json.dumps(fetch_coco(client, dataset.project, source="raw")))
    reference = calculate_iaa_from_annotations(
        mode="bbox",
        source_annotation_path=str(path),
        images_rater_key="rater_list",
        annotations_rater_key="rater",
        iou_thresholds=[dataset.project.match_iou],
        silent=True,
    )[dataset.project.match_iou]
    concord = project_summarize(project=dataset.project).kalpha
    assert concord is not None
    assert reference == pytest.approx(concord, abs=0.01)
    assert 0 < reference < 1  # the tie and the disagreement pull it below 1
