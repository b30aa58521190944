"""Imports: a project with images and a helper that runs an import the way the API does."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from imports.enqueue import import_start
from imports.runs import import_options_clean
from quality.models import AgreementRun
from tests.factories import ImageFactory


@pytest.fixture
def images(project, classes):
    """Four 640x480 images: a.jpg, b.jpg, c.jpg, d.jpg."""
    return {
        name: ImageFactory(project=project, original_name=f"{name}.jpg")
        for name in ("a", "b", "c", "d")
    }


@pytest.fixture
def run_import(django_capture_on_commit_callbacks, lead):
    """run_import(project, {name: bytes}, format=..., **options) -> the finished import run."""

    def run(project, files: dict, *, user=None, **options):
        fmt = options.pop("format")
        uploads = [(name, SimpleUploadedFile(name, data)) for name, data in files.items()]
        with django_capture_on_commit_callbacks(execute=True):
            run = import_start(
                project=project,
                uploads=uploads,
                options=import_options_clean(fmt=fmt, **options),
                requested_by=user or lead,
            )
        run.refresh_from_db()
        return run

    return run


def report_of(run: AgreementRun) -> dict:
    assert run.state == "succeeded", run.error
    return run.params["report"]


def zipped(entries: dict) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()
