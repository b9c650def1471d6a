"""Telephony import: every bad line listed with its number and reason, all or nothing, the repeated
hour when the clocks go back, --replace, and the same through the CLI (exit 1) and the upload page."""
from __future__ import annotations

import io
from datetime import datetime, timezone

from sqlalchemy import func, select

from intranet.extensions import db
from intranet.kpi.models import CallInterval, TelephonyImport
from intranet.kpi.telephony import TelephonyImportError, import_calls, parse_interval_start
from tests.support import post_form

GOOD = ("interval_start,offered,answered,abandoned,interval_minutes,queue,agent_notes\n"
        "2017-03-07T08:30,10,9,1,30,parking,x\n"
        "2017-03-07T09:00,4,4,0,,parking,\n")


def _stored() -> int:
    return db.session.scalar(select(func.count()).select_from(CallInterval))


def test_a_bad_file_lists_every_bad_line_and_stores_nothing(app):
    bad = ("interval_start,offered,answered,abandoned\n"
           "2017-03-07T08:30,10,9,1\n"                 # fine
           "2017-03-07T09:00,ten,9,1\n"                # not a number
           "2017-03-07T09:30,10,-1,1\n"                # negative
           "2017-03-07T10:00,10,9,2\n"                 # more than offered
           "2017-03-07T08:30,5,5,0\n"                  # twice in the file
           "2030-10-27T01:30,5,5,0\n"                  # the repeated hour, no offset
           "2030-03-31T01:30,5,5,0\n"                  # the skipped hour
           "07/03/2017 10:30,5,5,0\n")                 # not our format
    try:
        import_calls("test", bad)
    except TelephonyImportError as exc:
        problems = exc.report.problems
    else:
        raise AssertionError("the file should be refused")
    db.session.rollback()
    assert [p.split(":")[0] for p in problems] == [f"Line {n}" for n in (3, 4, 5, 6, 7, 8, 9)]
    assert "offered must be a whole number" in problems[0]
    assert "answered must not be negative" in problems[1]
    assert "answered + abandoned (9 + 2) is more than offered (10)" in problems[2]
    assert "already given on line 2" in problems[3]
    assert "repeats when the clocks go back" in problems[4] and "+01:00" in problems[4]
    assert "does not exist" in problems[5]
    assert "is not a time like" in problems[6]
    assert _stored() == 0 and db.session.scalar(select(func.count()).select_from(TelephonyImport)) == 0


def test_utc_offsets_tell_the_two_repeated_hours_apart(app):
    first = parse_interval_start("2030-10-27T01:30+01:00")
    second = parse_interval_start("2030-10-27T01:30+00:00")
    assert (first, second) == (datetime(2030, 10, 27, 0, 30, tzinfo=timezone.utc),
                               datetime(2030, 10, 27, 1, 30, tzinfo=timezone.utc))
    report = import_calls("test", "interval_start,offered,answered,abandoned\n"
                                  "2030-10-27T01:30+01:00,1,1,0\n2030-10-27T01:30+00:00,2,2,0\n")
    db.session.commit()
    assert report.rows == 2 and report.counted == 0  # a Sunday night: stored, not counted
    assert _stored() == 2


def test_missing_columns_are_named(app):
    try:
        import_calls("test", "interval_start,offered\n2017-03-07T08:30,1\n")
    except TelephonyImportError as exc:
        assert exc.report.problems == ["Line 1: the header is missing the columns answered, abandoned"]
    else:
        raise AssertionError("refused")


def test_already_stored_is_refused_unless_replace(app):
    import_calls("test", GOOD)
    db.session.commit()
    changed = GOOD.replace("2017-03-07T09:00,4,4,0", "2017-03-07T09:00,6,5,1")
    try:
        import_calls("test", changed)
    except TelephonyImportError as exc:
        db.session.rollback()
        assert exc.report.problems[0].startswith("Line 2: the interval 2017-03-07T08:30 for queue parking is already stored")
        assert len(exc.report.problems) == 2
    else:
        raise AssertionError("refused")
    report = import_calls("test", changed, replace=True)
    db.session.commit()
    assert report.replaced == 2 and _stored() == 2
    assert db.session.scalar(select(func.sum(CallInterval.offered))) == 16


def test_cli_exit_1_with_every_problem_then_0_and_a_summary(app, runner, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("interval_start,offered,answered,abandoned\n2017-03-07T08:30,1,2,0\n2017-03-07T09:00,x,0,0\n")
    result = runner.invoke(args=["calls", "import", str(bad)])
    assert result.exit_code == 1
    assert "rejected, nothing imported (2 problems)" in result.output
    assert "Line 2:" in result.output and "Line 3:" in result.output
    assert _stored() == 0
    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    result = runner.invoke(args=["calls", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "2 intervals imported: 2 counted" in result.output and "Columns ignored: agent_notes" in result.output
    assert runner.invoke(args=["calls", "import", str(good)]).exit_code == 1
    assert runner.invoke(args=["calls", "import", str(good), "--replace"]).exit_code == 0
    assert runner.invoke(args=["calls", "import", str(tmp_path / "missing.csv")]).exit_code == 1


def test_upload_page_lists_problems_then_imports(app, client, login):
    login("team_leader")
    response = post_form(client, "/kpi/calls/import", {
        "file": (io.BytesIO(b"interval_start,offered,answered,abandoned\n2017-03-07T08:30,1,2,0\n"), "calls.csv")},
        token_from="/kpi/calls/import")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Error: " in html and "Line 2: answered + abandoned (2 + 0) is more than offered (1)" in html
    assert _stored() == 0
    response = post_form(client, "/kpi/calls/import", {"file": (io.BytesIO(GOOD.encode()), "calls.csv")},
                         token_from="/kpi/calls/import")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 intervals imported from calls.csv" in page and "Columns ignored: agent_notes" in page
    assert _stored() == 2


def test_upload_page_is_for_csc_managers_only(app, client, login):
    login("parking_team")
    assert client.get("/kpi/calls/import").status_code == 403
