"""Registering images in place needs object storage: on the local disk (the default) the API says
so instead of starting a run. The registration itself is tested against an S3 server in tests/s3."""

from django.urls import reverse
from rest_framework.test import APIClient

from quality.models import AgreementRun


def test_registering_without_a_bucket_says_what_to_configure(project, lead):
    client = APIClient()
    client.force_authenticate(lead)
    response = client.post(
        reverse("api-images-register", args=[project.pk]), {"prefix": "cars/"}, format="json"
    )
    assert response.status_code == 400
    assert "MEDIA_STORAGE=s3" in response.json()["detail"]
    assert not AgreementRun.objects.exists()


def test_registering_checks_the_role_before_anything_else(project, labeler_a, outsider):
    for user, code in ((labeler_a, 403), (outsider, 404)):
        client = APIClient()
        client.force_authenticate(user)
        response = client.post(
            reverse("api-images-register", args=[project.pk]), {"prefix": ""}, format="json"
        )
        assert response.status_code == code


def test_a_prefix_must_be_text(project, lead):
    client = APIClient()
    client.force_authenticate(lead)
    response = client.post(
        reverse("api-images-register", args=[project.pk]), {"prefix": ["a"]}, format="json"
    )
    assert response.status_code == 400 and "prefix" in response.json()["detail"]
