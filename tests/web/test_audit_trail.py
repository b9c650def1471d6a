from __future__ import annotations

import pytest
from sqlalchemy import func, select

from intranet import audit
from intranet.audit import AuditEntry
from intranet.extensions import db
from tests.support import HX


def test_audit_entries_cannot_be_changed_or_deleted(app, make_user):
    user = make_user("admin")
    entry = audit.record(user, "test", "thing", 1, before={"a": 1}, after={"a": 2})
    db.session.commit()
    entry.summary = "tampered"
    with pytest.raises(PermissionError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEntry, entry.id))
    with pytest.raises(PermissionError):
        db.session.commit()
    db.session.rollback()


def test_audit_page_filters_and_paginates(client, login, make_user):
    manager = login("service_manager")
    other = make_user("advisor", username="other")
    for i in range(300):
        audit.record(other if i % 2 else manager, "thing_changed", "permit" if i % 3 else "application", i,
                     before={"n": i}, after={"n": i + 1})
    db.session.commit()
    page = client.get("/admin/audit?actor=other&subject_type=permit").get_data(as_text=True)
    assert "Older entries" in page
    expected = db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.actor_name == "other", AuditEntry.subject_type == "permit"))
    assert page.count("<td class=\"govuk-table__cell\">other</td>") == min(50, expected)
    fragment = client.get("/admin/audit?actor=other", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="audit-results"')


def test_audit_page_walks_every_page_once(client, login):
    user = login("admin")
    for i in range(75):
        audit.record(user, "thing", "permit", i)
    db.session.commit()
    import re

    seen, url = [], "/admin/audit?subject_type=permit"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += re.findall(r"permit (\d+)</td>", html)
        nxt = re.search(r'href="([^"]+)" rel="next"', html)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert sorted(map(int, seen)) == list(range(75))


def test_bad_audit_date_is_named(client, login):
    login("admin")
    html = client.get("/admin/audit?date_from=2026-13-40").get_data(as_text=True)
    assert "From date must be a real date" in html


def test_audit_date_range_is_inclusive_in_london_time(client, login):
    user = login("admin")
    from datetime import datetime, timezone

    entry = audit.record(user, "late", "permit", "x1")
    entry.occurred_at = datetime(2026, 7, 1, 23, 30, tzinfo=timezone.utc)  # 00:30 on 2 July in London
    db.session.commit()
    assert "permit x1" in client.get("/admin/audit?date_from=2026-07-02&date_to=2026-07-02").get_data(as_text=True)
    assert "permit x1" not in client.get("/admin/audit?date_from=2026-07-01&date_to=2026-07-01").get_data(as_text=True)
