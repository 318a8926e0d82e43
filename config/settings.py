"""Packshot Studio settings: everything comes from environment variables with embedded defaults.

A fresh checkout runs on one machine (SQLite, files under var/, local engine, database task worker);
production only sets variables (DATABASE_URL, S3 bucket, PIKTID_TOKEN, ...).
"""

from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

from config.env import env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PACKSHOT_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_secret("SECRET_KEY", "insecure-dev-key-change-me" if DEBUG else "")
if not SECRET_KEY:
    # A missing key outside DEBUG is a deployment mistake, but the embedded default must still run:
    # derive a per-checkout key kept under var/ so sessions survive restarts.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _key_file = VAR_DIR / "secret_key"
    if not _key_file.exists():
        import secrets

        _key_file.write_text(secrets.token_urlsafe(50))
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks_db",
    "axes",
    "accounts",
    "packshots",
    "batches",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.CurrentTeamMiddleware",
    # Last, as django-axes asks: it turns a lock-out flagged during the login into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "accounts.context_processors.teams",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The web process and the task worker write concurrently: wait for the lock instead of failing.
    # WAL lets the job page read while the worker writes.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"].endswith("sqlite3") and DATABASES["default"]["NAME"] != ":memory:":
    # A fresh checkout or an empty volume: SQLite creates the file but not its folder.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
if DATABASES["default"]["ENGINE"].endswith("postgresql") and env_bool("DB_POOL", False):
    # The ASGI web process (config/gunicorn.conf.py sets DB_POOL) runs each request in a thread of its own: a
    # per-process pool lends them connections instead of opening one per request.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": env_int("DB_POOL_MAX", 16, minimum=1),
        "timeout": 10,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out username+IP before the password is checked
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "packshots:project-list"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]

# Media is private: files live in storage and are served only through views that check team membership.
# There is deliberately no MEDIA_URL route.
MEDIA_ROOT = VAR_DIR / "media"
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME", "")
if AWS_STORAGE_BUCKET_NAME:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 300),
            "file_overwrite": False,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("AWS_S3_REGION_NAME", "") or None,
            "signature_version": "s3v4",
            # "path" for MinIO and most S3-compatible stores; boto3's "auto" suits AWS.
            "addressing_style": env_str("AWS_S3_ADDRESSING_STYLE", "") or None,
            # Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (boto3 reads them, or an instance role).
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": None},
    }
# Downloads from S3 are redirects to signed URLs valid this long (the team check happens before each one).
PACKSHOT_SIGNED_URL_SECONDS = env_int("PACKSHOT_SIGNED_URL_SECONDS", 60, minimum=5)
# Where browsers reach the S3 store when it is not AWS_S3_ENDPOINT_URL (e.g. MinIO at http://minio:9000 inside
# compose, http://localhost:9000 outside): signed URLs are made for this address.
AWS_S3_PUBLIC_ENDPOINT_URL = env_str("AWS_S3_PUBLIC_ENDPOINT_URL", "")
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Console by default (password-reset links appear in the web process's log); EMAIL_HOST switches to SMTP.
_email_host = env_str("EMAIL_HOST", "")
if _email_host:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _email_host,
                "port": env_int("EMAIL_PORT", 587),
                "username": env_str("EMAIL_HOST_USER", ""),
                "password": env_secret("EMAIL_HOST_PASSWORD"),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
            },
        }
    }
else:
    MAILERS = {
        "default": {"BACKEND": env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")}
    }
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Packshot Studio <noreply@localhost>")

# Uploads stream to disk past 2.5 MB instead of living in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Ours first: it enforces PACKSHOT_MAX_UPLOAD_MB per file and per request while the body streams in.
FILE_UPLOAD_HANDLERS = [
    "packshots.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# The handler stops reading at the 11th photo; Django's own count is only the backstop (400) for odd bodies.
DATA_UPLOAD_MAX_NUMBER_FILES = 20
PACKSHOT_MAX_UPLOAD_MB = env_int("PACKSHOT_MAX_UPLOAD_MB", 25)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
PACKSHOT_MAX_PIXELS = env_int("PACKSHOT_MAX_PIXELS", 40_000_000)
PACKSHOT_DEFAULT_ENGINE = env_str("PACKSHOT_DEFAULT_ENGINE", "local")
# onnxruntime threads per worker (segmentation only; rendering does not use them). 2 on a 2-core machine:
# a 12 MP photo alone prepares 19 % faster (2.7 -> 2.2 s), while two workers segmenting at once lose 6 % and,
# with a core busy elsewhere, 2-3 % (bench/README.md, bench/local_threads.py). Set 1 where workers >= cores
# are usually all segmenting.
PACKSHOT_LOCAL_THREADS = env_int("PACKSHOT_LOCAL_THREADS", 2)
# Fair queue: outputs of one team in the task queue or rendering at once; pixels one local job may render.
PACKSHOT_TEAM_CONCURRENT_OUTPUTS = env_int("PACKSHOT_TEAM_CONCURRENT_OUTPUTS", 2, minimum=1)
PACKSHOT_MAX_JOB_MEGAPIXELS = env_int("PACKSHOT_MAX_JOB_MEGAPIXELS", 1000, minimum=1)
# A worker whose heartbeat is older than this is dead: its running tasks are failed and their work resumed.
PACKSHOT_WORKER_DEAD_AFTER_S = env_int("PACKSHOT_WORKER_DEAD_AFTER_S", 30, minimum=5)
# Workers resume jobs that have not moved for this long (a lost task, a stopped poller).
PACKSHOT_RESUME_AFTER_MIN = env_int("PACKSHOT_RESUME_AFTER_MIN", 10, minimum=1)
PIKTID_TOKEN = env_secret("PIKTID_TOKEN")
PIKTID_BASE_URL = env_str("PIKTID_BASE_URL", "https://v2.api.piktid.com")
# The limits PiktID enforces per account (enterprise accounts may raise them), shared by every worker and CLI.
PIKTID_CREATE_LIMIT = env_int("PIKTID_CREATE_LIMIT", 5)
PIKTID_CREATE_WINDOW_S = env_int("PIKTID_CREATE_WINDOW_S", 60)
PIKTID_ACTIVE_LIMIT = env_int("PIKTID_ACTIVE_LIMIT", 5)
PIKTID_ACTIVE_WAIT_S = env_int("PIKTID_ACTIVE_WAIT_S", 10)  # re-check while every active slot is taken
PIKTID_RATE_LIMIT_WAIT_S = env_int("PIKTID_RATE_LIMIT_WAIT_S", 15)  # after a 429 without Retry-After
PIKTID_POLL_S = env_int("PIKTID_POLL_S", 30)  # poll a running job after this long without news
PIKTID_NOT_FOUND_GRACE_S = env_int("PIKTID_NOT_FOUND_GRACE_S", 300)  # a new job may answer 404 this long
PIKTID_RECONCILE_ATTEMPTS = env_int("PIKTID_RECONCILE_ATTEMPTS", 5)
PIKTID_MAX_RESULT_MB = env_int("PIKTID_MAX_RESULT_MB", 80)
# A webhook secret replaced by PUT /webhooks still verifies for this long (deliveries already in flight).
PIKTID_WEBHOOK_ROTATION_HOURS = env_int("PIKTID_WEBHOOK_ROTATION_HOURS", 24)


def _field_keys() -> list[str]:
    """Fernet keys for secrets stored in the database (PiktID tokens, webhook secrets), newest first.

    Deliberately not derived from SECRET_KEY: rotating that must never make stored tokens unreadable.
    Without PACKSHOT_FIELD_KEYS[_FILE], a key is generated once per checkout into var/field_keys (0600), like
    the secret key; it is written aside then hard-linked into place, because the web process and the worker
    may start together on a fresh checkout: neither may read a half-written file or replace the other's key.
    """
    import os
    import tempfile

    from cryptography.fernet import Fernet
    from django.core.exceptions import ImproperlyConfigured

    keys = [k.strip() for k in env_secret("PACKSHOT_FIELD_KEYS").split(",") if k.strip()]
    if not keys:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        keys_file = VAR_DIR / "field_keys"
        if not keys_file.exists():
            fd, tmp = tempfile.mkstemp(dir=VAR_DIR, prefix=".field_keys.")  # mkstemp: mode 0600
            with os.fdopen(fd, "w") as f:
                f.write(Fernet.generate_key().decode() + "\n")
            try:
                os.link(tmp, keys_file)
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
        keys = keys_file.read_text().replace(",", " ").split()
    for number, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                f"PACKSHOT_FIELD_KEYS: key {number} is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
    return keys


PACKSHOT_FIELD_KEYS = _field_keys()
# Whether the keys came from the environment (a production must say so: see accounts.checks).
PACKSHOT_FIELD_KEYS_FROM_ENV = bool(env_secret("PACKSHOT_FIELD_KEYS").strip())

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)  # true in production, behind HTTPS
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if SESSION_COOKIE_SECURE:
    # __Host-: the browser keeps the cookie only if it is Secure, Path=/ and has no Domain, so a sibling
    # subdomain cannot plant or overwrite it. Only over HTTPS: a browser drops such a cookie over http.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Health probes (load balancer, compose's healthcheck) ask over plain HTTP from inside: no redirect.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
# How many proxies of ours append to X-Forwarded-For; the client address is the entry that many from the right
# (entries further left are whatever the client sent).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1, minimum=1)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None

# Content-Security-Policy on every response: scripts and styles only from our static files (no inline code,
# no eval), images also from data:/blob: URLs (previews), nothing may frame the app.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# Login throttling (django-axes): a username from one IP address is locked for the cool-off after
# AXES_FAILURE_LIMIT failures within a cool-off (a success clears them). Keyed on username+IP, so a stranger
# cannot lock a colleague out from elsewhere; the IP comes from accounts.security.client_ip.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_MINUTES = env_int("AXES_COOLOFF_MINUTES", 15, minimum=1)
AXES_COOLOFF_TIME = "accounts.security.cool_off"  # reads AXES_COOLOFF_MINUTES
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "accounts.security.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.security.lockout_response"
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.security.axes_username"
# Password-reset requests (each sends a mail) per e-mail address and per IP address, per cool-off window.
PASSWORD_RESET_EMAIL_LIMIT = env_int("PASSWORD_RESET_EMAIL_LIMIT", 3, minimum=1)
PASSWORD_RESET_IP_LIMIT = env_int("PASSWORD_RESET_IP_LIMIT", 10, minimum=1)

# /healthz: its storage round trip is cached this long; the oldest ready task may wait this long (healthy).
PACKSHOT_HEALTH_STORAGE_CACHE_S = env_int("PACKSHOT_HEALTH_STORAGE_CACHE_S", 10, minimum=0)
PACKSHOT_HEALTH_QUEUE_MAX_AGE_S = env_int("PACKSHOT_HEALTH_QUEUE_MAX_AGE_S", 600, minimum=1)

# JSON lines by default (one object per line, with job_id/team_id when the code gives them:
# packshots/logs.py); LOG_FORMAT=text for plain lines while developing.
LOG_FORMAT = env_str("LOG_FORMAT", "json")
if LOG_FORMAT not in ("json", "text"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: expected json or text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "packshots.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # httpx logs every request's full URL at INFO: pre-signed upload and result URLs are credentials.
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
