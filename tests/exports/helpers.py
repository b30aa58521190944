import io
import json
import zipfile
from urllib.parse import urlencode


def fetch(client, project, **params):
    """GET the export; returns (response, body bytes)."""
    response = client.get(f"/api/projects/{project.pk}/export/?{urlencode(params)}")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def fetch_coco(client, project, **params) -> dict:
    response, body = fetch(client, project, format="coco", **params)
    assert response.status_code == 200, body[:500]
    return json.loads(body)


def unzip(body: bytes, folder):
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        archive.extractall(folder)
        return sorted(archive.namelist())
