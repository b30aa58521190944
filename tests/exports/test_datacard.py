"""The data card describes the same images as the export, as JSON and as Markdown."""

from quality.services.summary import project_summarize


def test_datacard_counts_match_the_export(client, engineer, dataset):
    project_summarize(project=dataset.project)
    client.force_login(engineer)
    card = client.get(f"/api/projects/{dataset.project.pk}/datacard/").json()
    assert card["dataset"]["name"] == dataset.project.name
    assert card["images"]["exported"] == 4
    assert card["images"]["empty"] == 1
    assert card["images"]["not_labeled"] == 1  # untouched; partial has a label set
    assert card["images"]["withheld_class_ties"] == 1
    assert card["images"]["adjudicated"] == 1
    assert {c["name"]: c["boxes"] for c in card["classes"]} == {"car": 2, "truck": 2}
    assert card["boxes"]["total"] == 4
    assert sum(card["boxes"]["coco_area_ranges"].values()) == 4
    assert card["agreement"]["kalpha"] is not None
    assert card["labelers"] == 2
    assert card["filters"]["source"] == "consensus"


def test_datacard_markdown_is_readable_and_takes_the_export_filters(client, engineer, dataset):
    client.force_login(engineer)
    response = client.get(f"/api/projects/{dataset.project.pk}/datacard/?format=md&classes=truck")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    text = response.content.decode()
    assert text.startswith(f"# Data card: {dataset.project.name}")
    assert "| truck | 0 | 2 |" in text
    assert "| car |" not in text
    assert "not labeled yet (not exported): 1" in text


def test_datacard_rejects_an_unknown_format(client, engineer, dataset):
    client.force_login(engineer)
    response = client.get(f"/api/projects/{dataset.project.pk}/datacard/?format=pdf")
    assert response.status_code == 400
    assert response.json()["param"] == "format"


def test_datacard_markdown_prints_each_class_agreement_figures_not_none(client, engineer, dataset):
    project_summarize(project=dataset.project)
    client.force_login(engineer)
    card = client.get(f"/api/projects/{dataset.project.pk}/datacard/").json()
    per_class = card["agreement"]["per_class"]
    assert per_class["car"]["objects"] > 0
    text = client.get(f"/api/projects/{dataset.project.pk}/datacard/?format=md").content.decode()
    table = text.split("## Agreement", 1)[1].split("## Instructions", 1)[0]
    assert "None" not in table
    car = per_class["car"]
    assert (
        f"| car | {car['objects']} | {car['support']:.2f} | {car['label_confidence']:.2f} | "
        f"{car['mean_iou']:.2f} |" in table
    )
