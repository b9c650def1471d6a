"""The advisors' queue: tabs, filters, search, keyset pages, SLA status, take next, reassign."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from intranet.extensions import db
from intranet.permits.models import Application
from intranet.timefmt import utcnow
from tests import casework_factories as f
from tests.support import HX, post_form


@pytest.fixture
def seeded(app, make_user):
    clerk = make_user("advisor", username="clerk")
    jr = f.zone("JR", "Jericho", ("Walton Street",))
    hd = f.zone("HD", "Headington", ("London Road",))
    ada = f.customer(clerk, jr, "Ada Lovelace", postcode="OX2 6AA")
    bob = f.customer(clerk, hd, "Bob Brown", postcode="OX3 9XY", line1="1 London Road")
    apps = []
    for i in range(30):
        who = ada if i % 2 else bob
        apps.append(f.application(clerk, who, received_at=utcnow() - timedelta(days=i % 9, hours=i),
                                  vrm=f"AB{10 + i}CDE", channel="post" if i % 3 else "email"))
    f.ready_application(clerk, ada, kind="visitor", quantity=3)
    return {"apps": apps, "ada": ada, "bob": bob, "jr": jr, "hd": hd, "clerk": clerk}


def _refs(html):
    import re

    return re.findall(r">(A\d{7})</a>", html)


def test_queue_sorted_by_deadline_with_tab_counts(client, login, seeded):
    login("advisor")
    html = client.get("/queue").get_data(as_text=True)
    assert "Resident, new (30)" in html and "Visitor, new (1)" in html
    refs = _refs(html)
    assert len(refs) == 25
    by_ref = {a.reference: a for a in db.session.scalars(select(Application))}
    deadlines = [(by_ref[r].deadline_at, by_ref[r].id) for r in refs]
    assert deadlines == sorted(deadlines)


def test_queue_keyset_pages_cover_everything_once(client, login, seeded):
    login("advisor")
    import re

    seen, url = [], "/queue"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += _refs(html)
        nxt = re.search(r'href="([^"]+)" rel="next"', html)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert len(seen) == len(set(seen)) == 30


def test_queue_filters_and_htmx_fragment(client, login, seeded):
    login("advisor")
    fragment = client.get(f"/queue?zone={seeded['jr'].id}&channel=email", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="queue-results"') and "<html" not in fragment
    expected = {a.reference for a in seeded["apps"] if a.zone_id == seeded["jr"].id and a.channel == "email"}
    assert set(_refs(fragment)) == expected


@pytest.mark.parametrize("query", ["AB15", "ab15cde", "OX2 6AA", "lovel", "Ada"])
def test_queue_search_by_vrm_postcode_reference_and_name(client, login, seeded, query):
    login("advisor")
    html = client.get("/queue", query_string={"q": query}, headers=HX).get_data(as_text=True)
    refs = _refs(html)
    assert refs, query
    if query.upper().startswith("AB15"):
        assert refs == [a.reference for a in seeded["apps"] if a.vrm == "AB15CDE"]
    ref = seeded["apps"][3].reference
    assert _refs(client.get(f"/queue?q={ref}", headers=HX).get_data(as_text=True)) == [ref]


def test_sla_filter_uses_the_stored_deadline(client, login, seeded):
    login("advisor")
    clerk = seeded["clerk"]
    late = f.ready_application(clerk, seeded["bob"], received_at=utcnow() - timedelta(days=10), vrm="LA70LAT")
    html = client.get("/queue?sla=breached", headers=HX).get_data(as_text=True)
    assert _refs(html) == [late.reference] and "Breached" in html
    assert late.reference not in client.get("/queue?sla=on_track", headers=HX).get_data(as_text=True)


def test_take_next_gives_the_earliest_unassigned(client, login, seeded):
    me = login("advisor")
    first = db.session.scalar(select(Application).where(Application.is_open.is_(True), Application.kind == "resident",
                                                        Application.app_type == "new")
                              .order_by(Application.deadline_at, Application.id))
    response = post_form(client, "/queue/take-next", {"kind": "resident", "type": "new"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/applications/{first.id}")
    second = post_form(client, "/queue/take-next", {"kind": "resident", "type": "new"})
    assert not second.headers["Location"].endswith(f"/applications/{first.id}")
    db.session.refresh(first)
    assert first.assignee_id == me.id


def test_team_leader_reassigns_several(client, login, seeded, make_user):
    login("team_leader")
    target = make_user("advisor", username="target")
    ids = [a.id for a in seeded["apps"][:3]]
    response = post_form(client, "/queue/reassign", {"application_id": ids, "assignee": target.id})
    assert response.status_code == 303
    assert {a.assignee_id for a in db.session.scalars(select(Application).where(Application.id.in_(ids)))} == {target.id}


def test_advisor_cannot_reassign(client, login, seeded):
    login("advisor")
    assert post_form(client, "/queue/reassign", {"application_id": [1], "assignee": 1}).status_code == 403


def test_issued_item_leaves_the_queue(client, login, seeded):
    me = login("advisor")
    visitor = db.session.scalar(select(Application).where(Application.kind == "visitor"))
    assert visitor.reference in client.get("/queue?kind=visitor&type=new").get_data(as_text=True)
    post_form(client, f"/applications/{visitor.id}/issue", {})
    html = client.get("/queue?kind=visitor&type=new").get_data(as_text=True)
    assert visitor.reference not in html and "Visitor, new (0)" in html


def test_stored_deadlines_follow_a_change_of_rules(client, login, seeded):
    """A closure day added to the rules moves open items' deadlines the next time the queue opens."""
    from intranet.permits.models import Setting

    login("advisor")
    client.get("/queue")
    item = seeded["apps"][0]
    original = item.deadline_at
    item.deadline_at = original.replace(year=original.year - 1)  # as if computed under other rules
    db.session.get(Setting, "deadline_rules").value = "rules-of-last-year"
    db.session.commit()
    client.get("/queue")
    db.session.refresh(item)
    assert item.deadline_at == original
