"""Concord settings, read from the environment.

With no variables set, Concord runs embedded: SQLite in the project folder and Celery tasks run
eagerly in-process. DATABASE_URL and REDIS_URL switch to PostgreSQL and a Redis broker with a
`celery -A concord worker`. The README has the table of every variable.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from concord.env import (
    env_bool,
    env_database,
    env_int,
    env_list,
    env_media_storage,
    env_redis_url,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=True)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "concord-insecure-development-key-do-not-use-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "projects",
    "annotations",
    "quality",
    "exports",
    "imports",
    "accounts",
    "gold",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "concord.middleware.ContentSecurityPolicyMiddleware",
    "concord.middleware.DatabaseUnavailableMiddleware",
    "concord.middleware.BadInputMiddleware",
    "concord.error_pages.ErrorPageMiddleware",
]

ROOT_URLCONF = "concord.urls"
WSGI_APPLICATION = "concord.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", BASE_DIR / "db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

CSRF_FAILURE_VIEW = "concord.error_pages.csrf_failure"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Static files: the app's own under static/, third-party browser libraries straight from npm's
# node_modules (installed from package-lock.json), never copied into the repository.
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/annotorious", BASE_DIR / "node_modules" / "@annotorious" / "annotorious" / "dist"),
    ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "/media/"
# Media on the local disk (MEDIA_ROOT) by default. MEDIA_STORAGE=s3 keeps images, thumbnails and
# instruction images in an S3-compatible bucket (AWS_* variables, django-storages' names), so web
# servers and workers need no shared disk; the browser gets presigned URLs that live
# AWS_QUERYSTRING_EXPIRE seconds, only from the routes that check the caller's role.
AWS_QUERYSTRING_EXPIRE = env_int("AWS_QUERYSTRING_EXPIRE", 300, minimum=10)
if AWS_QUERYSTRING_EXPIRE > 604_800:
    raise ImproperlyConfigured(
        f"AWS_QUERYSTRING_EXPIRE must be at most 604800 (7 days, S3's limit); got "
        f"{AWS_QUERYSTRING_EXPIRE}"
    )
MEDIA_S3 = env_media_storage(url_seconds=AWS_QUERYSTRING_EXPIRE)
if MEDIA_S3:
    STORAGES["default"] = MEDIA_S3
# Registering images already in the bucket: objects per worker task, and its time limits.
REGISTER_CHUNK_SIZE = env_int("REGISTER_CHUNK_SIZE", 50, minimum=1)
REGISTER_MAX_OBJECTS = env_int("REGISTER_MAX_OBJECTS", 1_000_000, minimum=1)
REGISTER_CHUNK_SOFT_TIME_LIMIT = env_int("REGISTER_CHUNK_SOFT_TIME_LIMIT", 240, minimum=1)
REGISTER_CHUNK_TIME_LIMIT = env_int("REGISTER_CHUNK_TIME_LIMIT", 300, minimum=1)
# A registration silent this long (no page listed, no chunk started or finished) lost its
# worker: the resume task (Celery beat, every AGREEMENT_SWEEP_SECONDS) sends its work again.
REGISTER_STALLED_SECONDS = env_int(
    "REGISTER_STALLED_SECONDS", REGISTER_CHUNK_TIME_LIMIT + 60, minimum=1
)

# Uploads: limits a person can reason about. A file over UPLOAD_MAX_BYTES or an image over
# UPLOAD_MAX_PIXELS is refused with its reason; zips are bounded in entries and unpacked size.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 25 * 1024 * 1024, minimum=1024)
UPLOAD_MAX_PIXELS = env_int("UPLOAD_MAX_PIXELS", 50_000_000, minimum=1)
UPLOAD_ZIP_MAX_BYTES = env_int("UPLOAD_ZIP_MAX_BYTES", 2 * 1024 * 1024 * 1024, minimum=1024)
UPLOAD_ZIP_MAX_FILES = env_int("UPLOAD_ZIP_MAX_FILES", 10_000, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Imports of labels (imports app): the largest label file read, the most files in one upload,
# the server folder under which an API import may read a folder ("" : none), time limits.
IMPORT_FILE_MAX_BYTES = env_int("IMPORT_FILE_MAX_BYTES", 2 * 1024 * 1024 * 1024, minimum=1024)
IMPORT_MAX_FILES = env_int("IMPORT_MAX_FILES", 1_000_000, minimum=1)
IMPORT_FOLDER_ROOT = env_str("IMPORT_FOLDER_ROOT", "")
IMPORT_SOFT_TIME_LIMIT = env_int("IMPORT_SOFT_TIME_LIMIT", 1800, minimum=1)
IMPORT_TIME_LIMIT = env_int("IMPORT_TIME_LIMIT", 1900, minimum=1)

# Labeling queue: a draft untouched for this long goes back to the pool.
QUEUE_DRAFT_TIMEOUT_MINUTES = env_int("QUEUE_DRAFT_TIMEOUT_MINUTES", 60, minimum=1)
# A labeler may reopen and change a submitted image for this long after submitting it (the
# "previous image" of the labeling page); after that its labels are settled. 0: never.
LABEL_EDIT_GRACE_MINUTES = env_int("LABEL_EDIT_GRACE_MINUTES", 15, minimum=0)

# A lead's invitation link (for someone with no account) works once, until this many hours pass.
INVITATION_HOURS = env_int("INVITATION_HOURS", 72, minimum=1)

# Celery: Redis when REDIS_URL is set, otherwise tasks run eagerly in-process.
REDIS_URL = env_redis_url("REDIS_URL")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keep a worker's database connection from task to task (Celery would open one per task, a
# tenth of a recompute chunk's cost); quality.tasks drops a broken or CONN_MAX_AGE-old one.
CELERY_DB_REUSE_MAX = 100
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360, minimum=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A separate queue name keeps test or benchmark workers off each other's tasks.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
# A task whose worker died before acknowledging it (acks_late; a killed worker, a lost machine) is
# delivered again by Redis after this many seconds. Keep it above the longest task time limit, or
# a slow task would run twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1)
}

# Agreement pipeline: images per recompute chunk, and time limits (seconds) of its tasks.
AGREEMENT_CHUNK_SIZE = env_int("AGREEMENT_CHUNK_SIZE", 500, minimum=1)
AGREEMENT_IMAGE_SOFT_TIME_LIMIT = env_int("AGREEMENT_IMAGE_SOFT_TIME_LIMIT", 30, minimum=1)
AGREEMENT_IMAGE_TIME_LIMIT = env_int("AGREEMENT_IMAGE_TIME_LIMIT", 60, minimum=1)
AGREEMENT_CHUNK_SOFT_TIME_LIMIT = env_int("AGREEMENT_CHUNK_SOFT_TIME_LIMIT", 120, minimum=1)
AGREEMENT_CHUNK_TIME_LIMIT = env_int("AGREEMENT_CHUNK_TIME_LIMIT", 180, minimum=1)
AGREEMENT_SUMMARY_SOFT_TIME_LIMIT = env_int("AGREEMENT_SUMMARY_SOFT_TIME_LIMIT", 600, minimum=1)
AGREEMENT_SUMMARY_TIME_LIMIT = env_int("AGREEMENT_SUMMARY_TIME_LIMIT", 720, minimum=1)
# A recompute chunk claimed this long ago and not done lost its worker (its hard time limit is
# shorter): the sweep sends it again instead of waiting for Redis's visibility timeout (an hour).
AGREEMENT_CHUNK_STALLED_SECONDS = env_int(
    "AGREEMENT_CHUNK_STALLED_SECONDS", AGREEMENT_CHUNK_TIME_LIMIT + 60, minimum=1
)
# A bulk decision on the flag queue (POST /api/projects/{id}/flags/bulk/) works on the selected
# flags of at most this many images per call, in one transaction; the caller calls again for more.
FLAG_BULK_IMAGES = env_int("FLAG_BULK_IMAGES", 200, minimum=1)
# After a submit completes or changes an image, the report's figures refresh this much later.
AGREEMENT_SUMMARY_DELAY_SECONDS = env_int("AGREEMENT_SUMMARY_DELAY_SECONDS", 5, minimum=0)
# K-alpha is batched (~30k images/s, the 9-threshold sweep ~2.6k/s): larger projects estimate it
# on an evenly spread sample of this many images.
AGREEMENT_SWEEP_SAMPLE = env_int("AGREEMENT_SWEEP_SAMPLE", 2000, minimum=10)
# Every this many seconds (0: never), Celery beat (`worker -B`) enqueues up to AGREEMENT_SWEEP_BATCH
# complete images whose assessment is missing or stale: a lost task message is caught up.
AGREEMENT_SWEEP_SECONDS = env_int("AGREEMENT_SWEEP_SECONDS", 60, minimum=0)
AGREEMENT_SWEEP_BATCH = env_int("AGREEMENT_SWEEP_BATCH", 2000, minimum=1)
CELERY_BEAT_SCHEDULE = (
    {
        "sweep-unassessed-images": {
            "task": "quality.tasks.sweep_unassessed_task",
            "schedule": float(AGREEMENT_SWEEP_SECONDS),
        },
        "resume-stalled-registrations": {
            "task": "projects.tasks.registrations_resume_task",
            "schedule": float(AGREEMENT_SWEEP_SECONDS),
        },
    }
    if AGREEMENT_SWEEP_SECONDS
    else {}
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "concord.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "concord.exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Concord API",
    "DESCRIPTION": "Blind multi-labeler bounding-box annotation, agreement, flags and exports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs are for users of the API: token or session, like every endpoint.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI from the drf-spectacular-sidecar package: no CDN, works offline and under CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Security. Production (DEBUG=0) gets secure cookies, HSTS and HTTPS redirects by default; each can
# be turned off explicitly (e.g. behind a proxy that terminates TLS and redirects itself).
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
CONTENT_SECURITY_POLICY_REPORT_ONLY = env_bool("CONTENT_SECURITY_POLICY_REPORT_ONLY", default=False)
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 10, minimum=1)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900, minimum=1)
# An API token stops working this many days after it was made (0: never).
API_TOKEN_TTL_DAYS = env_int("API_TOKEN_TTL_DAYS", 90, minimum=0)
if API_TOKEN_TTL_DAYS > 36_500:
    raise ImproperlyConfigured(
        f"API_TOKEN_TTL_DAYS must be at most 36500 (100 years; 0 for never); got {API_TOKEN_TTL_DAYS}"
    )

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# One console handler, on the root logger. Django's own "django" console handler (on under DEBUG)
# is removed: with it every django.* line was printed twice. An expected 403 or 404 is logged as
# one line, without the traceback Django attaches to it.
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"expected_error": {"()": "concord.log_filters.ExpectedErrorWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.request": {"filters": ["expected_error"], "propagate": True},
    },
}
