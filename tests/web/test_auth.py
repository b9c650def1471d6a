from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from intranet.audit import AuditEntry
from intranet.auth.models import User
from intranet.extensions import db
from intranet.timefmt import utcnow
from tests.support import PASSWORD, csrf_token, sign_in


def test_sign_in_with_correct_password_goes_home(client, make_user):
    user = make_user("advisor")
    response = sign_in(client, user.username)
    assert response.status_code == 303 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert user.full_name in page and "CSC advisor" in page


def test_wrong_password_shows_inline_error_and_keeps_username(client, make_user):
    user = make_user("advisor")
    response = sign_in(client, user.username, "wrong-password")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Error: Sign in" in html
    assert "govuk-error-summary" in html and "Enter a correct username and password" in html
    assert f'value="{user.username}"' in html


def test_five_bad_passwords_lock_the_account_and_are_audited(client, make_user):
    user = make_user("advisor")
    for _ in range(5):
        sign_in(client, user.username, "wrong-password")
    db.session.expire_all()
    locked = db.session.get(User, user.id)
    assert locked.locked_until is not None and locked.locked_until > utcnow() + timedelta(minutes=14)
    # The right password is refused while locked.
    response = sign_in(client, user.username, PASSWORD)
    assert response.status_code == 200 and "locked" in response.get_data(as_text=True)
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.subject_id == str(user.id))).all()
    assert actions.count("login_failed") == 5 and "account_locked" in actions and "login_refused_locked" in actions


def test_lock_expires_after_fifteen_minutes(client, make_user):
    user = make_user("advisor")
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert sign_in(client, user.username).status_code == 303


def test_four_failures_then_success_resets_the_count(client, make_user):
    user = make_user("advisor")
    for _ in range(4):
        sign_in(client, user.username, "nope-nope")
    assert sign_in(client, user.username).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).failed_logins == 0


def test_deactivated_user_cannot_sign_in(client, make_user):
    user = make_user("advisor", active=False)
    response = sign_in(client, user.username)
    assert response.status_code == 200 and "Enter a correct username and password" in response.get_data(as_text=True)


def test_sign_out_needs_post_with_csrf(client, login):
    login("advisor")
    assert client.post("/logout").status_code == 400
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 303
    assert client.get("/").status_code == 302


def test_open_redirect_after_sign_in_is_refused(client, make_user):
    user = make_user("advisor")
    response = client.post("/login?next=//evil.example/", data={
        "username": user.username, "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/"


def test_next_returns_to_the_page_asked_for(client, make_user):
    user = make_user("admin")
    response = client.get("/admin/users")
    assert response.status_code == 302
    next_url = response.headers["Location"]
    response = client.post(next_url, data={"username": user.username, "password": PASSWORD,
                                           "csrf_token": csrf_token(client)})
    assert response.headers["Location"].startswith("/admin/users")


def test_idle_session_expires_and_htmx_gets_hx_redirect(app, client, login):
    login("admin")
    assert client.get("/admin/users").status_code == 200
    with client.session_transaction() as session:
        session["last_seen"] = session["last_seen"] - app.config["SESSION_IDLE_MINUTES"] * 60 - 5
    response = client.get("/admin/users", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == "/login?expired=1"
    assert client.get("/admin/users").status_code == 302


def test_idle_session_expired_full_page_redirects(app, client, login):
    login("admin")
    client.get("/")
    with client.session_transaction() as session:
        session["last_seen"] -= 31 * 60
    response = client.get("/")
    assert response.status_code == 302 and "expired=1" in response.headers["Location"]
    assert "inactive for 30 minutes" in client.get("/login?expired=1").get_data(as_text=True)


def test_remote_user_from_wsgi_environ_signs_in_when_trusted(app, client, make_user):
    app.config["TRUST_REMOTE_USER"] = True
    user = make_user("advisor", username="jbloggs")
    response = client.get("/", environ_base={"REMOTE_USER": "COUNCIL\\jbloggs"})
    assert response.status_code == 200 and user.full_name in response.get_data(as_text=True)


def test_remote_user_header_is_never_trusted(app, client, make_user):
    app.config["TRUST_REMOTE_USER"] = True
    make_user("advisor", username="jbloggs")
    response = client.get("/", headers={"Remote-User": "jbloggs"})
    assert response.status_code == 302


def test_remote_user_unknown_name_is_refused(app, client):
    app.config["TRUST_REMOTE_USER"] = True
    assert client.get("/", environ_base={"REMOTE_USER": "stranger"}).status_code == 302


def test_remote_user_ignored_unless_trusted(app, client, make_user):
    make_user("advisor", username="jbloggs")
    assert client.get("/", environ_base={"REMOTE_USER": "jbloggs"}).status_code == 302
