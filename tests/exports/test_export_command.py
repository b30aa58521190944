"""`manage.py export` writes the same bytes as the API, and refuses bad input without a file."""

import json

import pytest
from django.core.management import CommandError, call_command

from tests.exports.helpers import fetch_coco


def test_command_writes_the_same_coco_as_the_api(client, lead, dataset, tmp_path, capsys):
    target = tmp_path / "out.json"
    call_command("export", dataset.project.slug, "--format", "coco", "-o", str(target))
    from_command = json.loads(target.read_text())
    client.force_login(lead)
    from_api = fetch_coco(client, dataset.project)
    for data in (from_command, from_api):
        data["info"].pop("date_created")
    assert from_command == from_api
    err = capsys.readouterr().err
    assert "coco export" in err and "4/4" in err  # the progress bar, on stderr
    assert not (tmp_path / "out.json.partial").exists()


def test_command_accepts_a_project_id_and_filters(dataset, tmp_path):
    target = tmp_path / "raw.zip"
    call_command(
        "export", str(dataset.project.pk), "--format", "yolo", "--source", "raw",
        "--classes", "car", "--no-progress", "-o", str(target),
    )  # fmt: skip
    assert target.read_bytes().startswith(b"PK")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-project"], "No project with slug or id"),
        (["{slug}", "--classes", "bus"], "no class named bus"),
        (["{slug}", "--min-agreement", "2"], "min_agreement must be a number from 0 to 1"),
        (["{slug}", "--min-instruction-version", "1"], "has no instructions yet"),
    ],
)
def test_command_refuses_bad_input_and_writes_nothing(dataset, tmp_path, args, message):
    target = tmp_path / "out.json"
    args = [a.format(slug=dataset.project.slug) for a in args]
    with pytest.raises(CommandError, match=message):
        call_command("export", *args, "-o", str(target))
    assert not target.exists()


def test_command_writes_a_split_coco_in_the_datumaro_layout(dataset, tmp_path):
    import zipfile

    target = tmp_path / "split.zip"
    call_command(
        "export", dataset.project.slug, "--format", "coco", "--split", "0.5,0.5",
        "--split-seed", "2", "--no-progress", "-o", str(target),
    )  # fmt: skip
    names = zipfile.ZipFile(target).namelist()
    assert {"annotations/instances_train.json", "annotations/instances_val.json"} <= set(names)
