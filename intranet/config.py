"""Settings read from the environment, so one build runs on a laptop and on the council's servers."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"
DEV_SECRET_KEY = "dev-only-not-secret"


def _flag(name: str, default: str = "0") -> bool:
    return os.environ.get(name, default).strip().lower() in {"1", "true", "yes", "on"}


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'permits.sqlite'}"
    # Heroku-style URLs and bare "postgresql://" both mean psycopg 3 here.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Config:
    """Production defaults; anything secret or site-specific comes from the environment."""

    TESTING = False
    DEBUG = False
    ENV_NAME = os.environ.get("APP_ENV", "production")
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SLA_CONFIG = os.environ.get("SLA_CONFIG", "")

    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=SESSION_IDLE_MINUTES)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "http")
    SESSION_COOKIE_SECURE = PREFERRED_URL_SCHEME == "https"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SESSION_COOKIE_NAME = "permits_session"

    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))
    TRUST_REMOTE_USER = _flag("TRUST_REMOTE_USER")

    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
    LOGIN_LOCK_MINUTES = int(os.environ.get("LOGIN_LOCK_MINUTES", "15"))

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _flag("MAIL_USE_TLS")
    MAIL_USE_SSL = _flag("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "parking.permits@oxfordshire.gov.uk")
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "10"))
    MAIL_MESSAGE_ID_DOMAIN = os.environ.get("MAIL_MESSAGE_ID_DOMAIN", "")

    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    MAX_CONTENT_LENGTH = 11 * 1024 * 1024
    DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-password")
    WTF_CSRF_TIME_LIMIT = None  # the session's idle limit already bounds a token's life
    COUNCIL_NAME = os.environ.get("COUNCIL_NAME", "Oxfordshire County Council")


class DevelopmentConfig(Config):
    """`make run`: a local demo, so a fixed key is acceptable and said so in the README."""

    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY", "") or DEV_SECRET_KEY


class TestConfig(Config):
    """Tests pass their own database URL; CSRF stays on so tests prove it is enforced."""

    TESTING = True
    ENV_NAME = "test"
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    LOGIN_MAX_FAILURES = 5
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 1


def config_from_env() -> type[Config]:
    """APP_ENV picks the class; production is the default so a forgotten variable fails safe."""
    name = os.environ.get("APP_ENV", "production").strip().lower()
    return {"development": DevelopmentConfig, "test": TestConfig}.get(name, Config)
