from __future__ import annotations

import pytest

from intranet import create_app
from intranet.config import Config


def _assert_headers(response):
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("path", ["/login", "/healthz", "/static/js/supported.js", "/no-such-page", "/admin/users"])
def test_security_headers_on_every_kind_of_response(client, path):
    _assert_headers(client.get(path))


def test_security_headers_on_signed_in_pages_and_errors(client, login):
    login("advisor")
    _assert_headers(client.get("/"))
    _assert_headers(client.get("/admin/users"))  # 403
    _assert_headers(client.post("/logout"))  # 400 CSRF


def test_post_without_csrf_token_gets_400_and_friendly_page(client, make_user):
    user = make_user("advisor")
    response = client.post("/login", data={"username": user.username, "password": "x"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Your form has expired" in html and "Reload the page" in html


def test_no_inline_script_or_style_in_pages(client, login):
    import re

    login("admin")
    for path in ("/", "/admin/users", "/admin/audit", "/login", "/accessibility"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert "<style" not in html and " style=" not in html, path


def test_session_cookie_flags(client, make_user):
    from tests.support import sign_in

    response = sign_in(client, make_user("advisor").username)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    class Prod(Config):
        SECRET_KEY = ""
        ENV_NAME = "production"

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(Prod)


def test_secure_cookie_when_https(monkeypatch, database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SESSION_COOKIE_SECURE": True})
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_healthz_needs_no_login_and_pings_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok", "database": "ok"}


def test_error_pages_are_govuk_pages(client, login):
    assert "Page not found" in client.get("/nope").get_data(as_text=True)
    login("advisor")
    forbidden = client.get("/admin/users")
    assert forbidden.status_code == 403 and "govuk-heading-l" in forbidden.get_data(as_text=True)
