"""Helpers tests import: CSRF tokens, signing in, htmx requests. Kept out of conftest so they
can be imported normally."""
from __future__ import annotations

import os
import re

import pytest

PASSWORD = "correct-horse-battery"
IN_CI = os.environ.get("CI", "").lower() == "true"


def need(condition: bool, reason: str) -> None:
    """A missing browser or database fails in CI and skips on a developer's machine."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI requires {reason}")
        pytest.skip(reason)


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """Fetches a page and reads its CSRF token, as a browser would."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html) or re.search(r'"X-CSRFToken": "([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client, username: str, password: str = PASSWORD):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client)})


HX = {"HX-Request": "true"}


def hx_get(client, url: str, **kwargs):
    return client.get(url, headers=HX, **kwargs)


def post_form(client, url: str, data: dict | None = None, *, htmx: bool = False, token_from: str | None = None):
    """POSTs a form with a valid CSRF token, as a page would; htmx=True sends it as htmx does."""
    token = csrf_token(client, token_from or "/")
    headers = dict(HX) if htmx else {}
    headers["X-CSRFToken"] = token
    return client.post(url, data=data or {}, headers=headers)


def fragment_root(html: str) -> str:
    """An htmx fragment without the <title> a failed submit carries (htmx moves it into the page)."""
    return re.sub(r"^\s*<title>.*?</title>\s*", "", html, flags=re.S).lstrip()
