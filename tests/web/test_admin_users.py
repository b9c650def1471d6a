from __future__ import annotations

from sqlalchemy import select

from intranet.audit import AuditEntry
from intranet.auth.models import User
from intranet.extensions import db
from tests.support import HX, csrf_token, post_form


def test_user_list_full_page_and_htmx_fragment(client, login, make_user):
    login("admin")
    make_user("advisor", username="alice", full_name="Alice Smith")
    make_user("team_leader", username="bob", full_name="Bob Jones")
    page = client.get("/admin/users?q=ali")
    html = page.get_data(as_text=True)
    assert "<html" in html and "alice" in html and ">bob<" not in html
    assert "HX-Request" in page.headers.get("Vary", "")
    fragment = client.get("/admin/users?role=team_leader", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="user-results"') and "<html" not in fragment
    assert "bob" in fragment and "alice" not in fragment


def test_boosted_and_history_restore_requests_get_the_whole_page(client, login):
    login("admin")
    for extra in ({"HX-Boosted": "true"}, {"HX-History-Restore-Request": "true"}):
        html = client.get("/admin/users", headers={**HX, **extra}).get_data(as_text=True)
        assert "<html" in html


def test_create_user_invalid_then_valid(client, login):
    admin = login("admin")
    bad = post_form(client, "/admin/users/new", {"username": "has space", "full_name": "", "email": "nope",
                                                 "password": "short"}, htmx=True)
    html = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "govuk-error-summary" in html and "<html" not in html
    assert html.startswith("<title>Error: Create a user")  # htmx moves it into the document
    for message in ("Username must only include letters", "Enter the full name", "Enter an email address in the correct format",
                    "Select at least one role", "Password must be at least 12 characters"):
        assert message in html
    assert 'value="has space"' in html
    full = post_form(client, "/admin/users/new", {"username": "", "full_name": "Kept Name"})
    assert "<title>Error: Create a user" in full.get_data(as_text=True) and 'value="Kept Name"' in full.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "has space")) is None

    good = post_form(client, "/admin/users/new", {"username": "new.advisor", "full_name": "New Advisor",
                                                  "email": "new@example.org", "roles": ["advisor", "team_leader"],
                                                  "password": "a-long-enough-password"})
    assert good.status_code == 303
    user = db.session.scalar(select(User).where(User.username == "new.advisor"))
    assert user.roles == ["advisor", "team_leader"] and user.check_password("a-long-enough-password")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user_created"))
    assert entry.actor_id == admin.id and entry.after["roles"] == ["advisor", "team_leader"]
    assert "password" not in (entry.after_json or "") and "hash" not in (entry.after_json or "")


def test_duplicate_username_is_refused(client, login, make_user):
    login("admin")
    make_user("advisor", username="taken")
    response = post_form(client, "/admin/users/new", {"username": "TAKEN", "full_name": "X", "roles": ["advisor"],
                                                      "password": "a-long-enough-password"})
    assert "That username is already taken" in response.get_data(as_text=True)


def test_edit_roles_is_audited_with_before_and_after(client, login, make_user):
    login("admin")
    user = make_user("advisor", username="carol")
    response = post_form(client, f"/admin/users/{user.id}", {"full_name": "Carol C", "roles": ["team_leader"]})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).roles == ["team_leader"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user_updated"))
    assert entry.before["roles"] == ["advisor"] and entry.after["roles"] == ["team_leader"]


def test_deactivate_then_reactivate(client, login, make_user):
    login("admin")
    user = make_user("advisor")
    assert post_form(client, f"/admin/users/{user.id}/active", {"active": "0"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).active is False
    post_form(client, f"/admin/users/{user.id}/active", {"active": "1"})
    db.session.expire_all()
    assert db.session.get(User, user.id).active is True


def test_admin_cannot_deactivate_themselves(client, login):
    admin = login("admin")
    assert post_form(client, f"/admin/users/{admin.id}/active", {"active": "0"}).status_code == 400


def test_users_are_never_deleted_there_is_no_route(app):
    assert not any("DELETE" in r.methods for r in app.url_map.iter_rules())


def test_deactivated_user_session_ends(client, login, app):
    user = login("advisor")
    user.active = False
    db.session.commit()
    assert client.get("/").status_code == 302
