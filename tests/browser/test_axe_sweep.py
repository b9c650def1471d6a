"""Every page a role can open without choosing a record, checked by axe in Chromium.

Journeys test what people do; this sweep makes sure no page is left out of the accessibility check,
including pages added later (it walks the app's own routes and access declarations).
"""
from __future__ import annotations

import pytest

from intranet.auth.access import may_use
from tests.browser.conftest import sign_in

SKIP_SUFFIXES = (".csv", ".pdf", ".png", "/pdf", "/csv")


def _pages_for(app, role: str) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint in ("static", "auth.login"):
            continue
        path = rule.rule
        if path.endswith(SKIP_SUFFIXES) or "csv" in rule.endpoint or "pdf" in rule.endpoint:
            continue
        if may_use([role], app.view_functions[rule.endpoint]) and rule.endpoint != "core.healthz":
            urls.append(path)
    return sorted(set(urls))


@pytest.mark.parametrize("role", ["advisor", "service_manager", "parking_team", "admin"])
def test_every_page_of_a_role_is_axe_clean(page, axe, live_app, role):
    sign_in(page, role)
    pages = _pages_for(live_app, role)
    assert len(pages) >= 5
    for path in pages:
        response = page.goto(path)
        assert response.status < 400, (path, response.status)
        axe(page, f"{role} {path}")
