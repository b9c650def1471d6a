"""Walks every endpoint the app has: anonymous users are sent to sign in, users without the
declared role get 403, users with it get through. New routes are covered the day they are added."""
from __future__ import annotations

import pytest
from werkzeug.routing import Rule

from intranet.auth.access import declared_roles, is_public, PUBLIC
from intranet.auth.roles import ALL_ROLES
from tests.support import csrf_token, sign_in

PUBLIC_ENDPOINTS = {"static", "auth.login", "core.healthz", "core.accessibility"}


def _url(rule: Rule) -> str:
    values = {}
    for arg in rule.arguments:
        converter = rule._converters[arg].__class__.__name__
        values[arg] = 999999 if "Integer" in converter else "nothing-here"
    return rule.build(values, append_unknown=False)[1]


def _rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def test_every_endpoint_declares_its_roles(app):
    undeclared = [r.endpoint for r in app.url_map.iter_rules()
                  if declared_roles(app.view_functions[r.endpoint]) is None]
    assert undeclared == []


def test_only_login_health_accessibility_and_static_are_public(app):
    public = {r.endpoint for r in app.url_map.iter_rules() if is_public(app.view_functions[r.endpoint])}
    assert public == PUBLIC_ENDPOINTS


def test_anonymous_requests_are_sent_to_sign_in(app, client):
    token = csrf_token(client)
    checked = 0
    for rule in _rules(app):
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = _url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, headers={"X-CSRFToken": token})
            assert response.status_code == 302, (method, url, response.status_code)
            assert "/login" in response.headers["Location"], (method, url)
            checked += 1
    assert checked >= 5


def test_anonymous_htmx_request_redirects_whole_page(app, client):
    response = client.get("/admin/users", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].startswith("/login")


@pytest.mark.parametrize("role", ALL_ROLES)
def test_each_role_gets_exactly_its_declared_endpoints(app, client, make_user, role):
    user = make_user(role)
    assert sign_in(client, user.username).status_code == 303
    token = csrf_token(client, "/")
    for rule in _rules(app):
        allowed = declared_roles(app.view_functions[rule.endpoint])
        url = _url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if rule.endpoint == "auth.logout":
                continue  # would end the session the rest of the walk needs
            response = client.open(url, method=method, headers={"X-CSRFToken": token})
            if PUBLIC in allowed or role in allowed:
                assert response.status_code != 403, (role, method, url)
            else:
                assert response.status_code == 403, (role, method, url, response.status_code)
                assert "You do not have access to this page" in response.get_data(as_text=True)
