"""Where media lives: the local disk (the default) or an S3-compatible bucket (MEDIA_STORAGE=s3).

Every read and write of an image file goes through Django's default_storage and this module, never
a local path, so web servers and workers share no disk. With a bucket the browser never gets the
bucket itself: the permission-checked routes answer with a redirect to a presigned URL that lives
AWS_QUERYSTRING_EXPIRE seconds (media_response). Workers read objects straight from the bucket
(object_range, objects_page) with retries, a bounded number of bytes at a time.

Concord writes only under its own folders (OWN_FOLDERS); images registered in place
(projects.registration) keep their own keys, and deleting such an image leaves the object alone.
"""

import functools
import logging
import mimetypes
import threading
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.storage import default_storage, storages
from django.http import FileResponse, Http404, HttpResponseRedirect
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

log = logging.getLogger(__name__)

# Top folders of the bucket (or MEDIA_ROOT) that Concord writes: uploads and instruction images
# under projects/, thumbnails under thumbs/. Registration never takes objects from them.
OWN_FOLDERS = ("projects/", "thumbs/")

try:
    from botocore.exceptions import BotoCoreError, ClientError, IncompleteReadError

    # What a storage call can raise that is about the storage, not a bug: a missing or
    # unreadable file on disk, an S3 error answer, a connection that failed after retries.
    STORAGE_ERRORS: tuple[type[BaseException], ...] = (OSError, BotoCoreError, ClientError)
except ImportError:  # pragma: no cover - boto3 is in requirements.txt
    STORAGE_ERRORS = (OSError,)


class MediaS3Storage(S3Storage):
    """django-storages' S3 backend whose presigned URLs name the endpoint as the browser reaches
    it (``public_endpoint_url``, MEDIA_PUBLIC_ENDPOINT_URL): in docker compose the containers
    reach MinIO at http://minio:9000 and the browser at http://127.0.0.1:9000. Signing a URL
    needs no request, so the second client never connects anywhere."""

    def __init__(self, public_endpoint_url: str | None = None, **options):
        super().__init__(**options)
        self.public_endpoint_url = public_endpoint_url or self.endpoint_url
        self._signers = threading.local()

    def url(self, name, parameters=None, expire=None, http_method=None):
        if self.public_endpoint_url == self.endpoint_url:
            return super().url(name, parameters=parameters, expire=expire, http_method=http_method)
        signer = getattr(self._signers, "client", None)
        if signer is None:
            signer = self._create_session().client(
                "s3",
                region_name=self.region_name,
                endpoint_url=self.public_endpoint_url,
                config=self.client_config,
            )
            self._signers.client = signer
        params = {**(parameters or {}), "Bucket": self.bucket_name}
        params["Key"] = self._normalize_name(clean_name(name))
        return signer.generate_presigned_url(
            "get_object",
            Params=params,
            ExpiresIn=expire or self.querystring_expire,
            HttpMethod=http_method,
        )


def media_is_remote() -> bool:
    """True when media lives in a bucket (MEDIA_STORAGE=s3)."""
    return isinstance(_storage(), S3Storage)


def _storage():
    return storages["default"]


def media_is_owned(name: str) -> bool:
    """Did Concord write this file (so it may delete it)? Registered objects are the team's."""
    return name.startswith(OWN_FOLDERS)


def media_response(name: str, *, content_type: str | None = None, max_age: int = 3600):
    """The response of a permission-checked media route: with a bucket, a redirect to a
    presigned URL of the object (short-lived; the redirect itself is cached for at most half
    its life); on the local disk, the file's bytes. Raises Http404 when the file is missing."""
    if media_is_remote():
        seconds = settings.AWS_QUERYSTRING_EXPIRE
        content_type = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        url = default_storage.url(
            name,
            parameters={
                "ResponseContentType": content_type,
                "ResponseCacheControl": f"private, max-age={seconds}",
            },
            expire=seconds,
        )
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = f"private, max-age={min(max_age, seconds // 2)}"
        return response
    try:
        handle = default_storage.open(name, "rb")
    except FileNotFoundError:
        raise Http404("The image file is missing from storage.") from None
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = f"private, max-age={max_age}"
    return response


def media_delete_quietly(name: str) -> None:
    """Remove a file Concord wrote; a failure is logged (an orphan file), never raised."""
    if not name or not media_is_owned(name):
        return
    try:
        default_storage.delete(name)
    except STORAGE_ERRORS:
        log.warning("could not remove %s from storage", name)


def media_origin() -> str | None:
    """The origin (scheme://host[:port]) of presigned media URLs, for the page's CSP img-src;
    None on the local disk (media comes from the app's own origin)."""
    if not media_is_remote():
        return None
    return _origin_of(_storage_identity())


def _storage_identity() -> tuple:
    options = settings.STORAGES["default"].get("OPTIONS", {})
    return tuple(
        str(options.get(key))
        for key in ("public_endpoint_url", "endpoint_url", "bucket_name", "region_name")
    ) + (str(options.get("addressing_style")),)


@functools.lru_cache(maxsize=8)
def _origin_of(identity: tuple) -> str:
    parts = urlsplit(default_storage.url("origin-probe"))
    return f"{parts.scheme}://{parts.netloc}"


# Reading objects of the bucket directly (registration): the raw keys, retries on the body too.

READ_ATTEMPTS = 4


def bucket_name() -> str:
    return _storage().bucket_name


def _client():
    return _storage().connection.meta.client


def objects_page(*, prefix: str, start_after: str = "", limit: int = 1000) -> tuple[list, bool]:
    """One page of the bucket's listing under ``prefix``, after the key ``start_after`` (S3
    lists in key order, so a listing resumes from the last key it stored): ([(key, size)],
    more to come)."""
    params = {"Bucket": bucket_name(), "Prefix": prefix, "MaxKeys": limit}
    if start_after:
        params["StartAfter"] = start_after
    answer = _client().list_objects_v2(**params)
    items = [(item["Key"], int(item["Size"])) for item in answer.get("Contents", [])]
    return items, bool(answer.get("IsTruncated"))


def object_range(key: str, *, start: int, limit: int) -> tuple[bytes, int]:
    """Up to ``limit`` bytes of the object from byte ``start`` (a ranged GET; the body is read
    at most ``limit`` bytes), and the object's whole size. botocore retries the request; a
    connection that breaks while the body streams is retried here. A missing object raises
    FileNotFoundError."""
    for attempt in range(READ_ATTEMPTS):
        try:
            answer = _client().get_object(
                Bucket=bucket_name(), Key=key, Range=f"bytes={start}-{start + limit - 1}"
            )
            data = _body_read(answer, limit)
            total = answer.get("ContentRange", "").rpartition("/")[2]
            return data, int(total) if total.isdigit() else start + len(data)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404 or code in ("NoSuchKey", "404"):
                raise FileNotFoundError(f"{key} is not in the bucket") from None
            if status == 416 or code == "InvalidRange":
                return b"", 0
            raise
        except BotoCoreError:
            if attempt == READ_ATTEMPTS - 1:
                raise
            time.sleep(0.2 * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _body_read(answer: dict, limit: int) -> bytes:
    """The answer's body, at most ``limit`` bytes. A read may return less than asked: read on to
    the end, and a body shorter than its Content-Length (a connection broken halfway) raises
    IncompleteReadError, retried by object_range."""
    expected = min(limit, int(answer.get("ContentLength", limit)))
    parts, held = [], 0
    with answer["Body"] as body:
        while held < expected:
            part = body.read(min(expected - held, 1 << 20))
            if not part:
                break
            parts.append(part)
            held += len(part)
    if held < expected:
        raise IncompleteReadError(actual_bytes=held, expected_bytes=expected)
    return b"".join(parts)


def object_read(key: str, *, limit: int) -> bytes:
    """The whole object, refused past ``limit`` bytes (ValueError): for small files such as a
    manifest. A missing object raises FileNotFoundError."""
    data, total = object_range(key, start=0, limit=limit + 1)
    if total > limit:
        raise ValueError(f"{key} is {total / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB")
    return data
