"""The complaint clocks as the log sets them, worked out by the SLA engine: receipts before the
Easter bank holiday weekend of 2017 (Good Friday 14 April, Easter Monday 17 April), outside
service hours and at its edges (08:29 / 08:30 / 16:59 / 17:00), and the response clocks that
count from the acknowledgement, with an extension. Expected values are worked by hand from the
SLA's counting convention (DESIGN.md section 3), not taken from the code."""
from __future__ import annotations

from datetime import datetime

import pytest

from intranet.complaints import clocks as clockwork
from intranet.complaints import services
from intranet.extensions import db
from intranet.service_rules import rules_in_force
from intranet.timefmt import LONDON


def london(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=LONDON)


def log(actor, received: str, *, public: bool = False):
    complaint = services.log_complaint(actor, services.NewComplaint(
        source="public" if public else "internal", complainant_name="Clock Test", channel="letter",
        received_at=london(received), category="other", summary="Clock table test",
        step="stage1" if public else "service_lead"), now=london("2017-12-31 12:00"))
    db.session.commit()
    return {c.clock_name: c for c in complaint.clocks}, complaint


INTERNAL = [
    # received,            acknowledge by (2 working days), meeting by (20 days)
    ("2017-04-13 16:00", "2017-04-19 17:00", "2017-05-03 17:00"),  # Thursday before Easter: 14th and 17th skipped
    ("2017-04-13 16:59", "2017-04-19 17:00", "2017-05-03 17:00"),  # last minute of service: still day 0
    ("2017-04-13 17:00", "2017-04-20 17:00", "2017-05-08 17:00"),  # at close: counts from Tue 18th (day 20 is 8 May)
    ("2017-04-14 10:00", "2017-04-20 17:00", "2017-05-08 17:00"),  # Good Friday: from Tue 18th 08:30
    ("2017-04-15 10:00", "2017-04-20 17:00", "2017-05-08 17:00"),  # Easter Saturday
    ("2017-03-07 08:29", "2017-03-09 17:00", "2017-03-27 17:00"),  # before opening: day 0 is still Tue 7th
    ("2017-03-07 08:30", "2017-03-09 17:00", "2017-03-27 17:00"),  # at opening (day 20 is Mon 27th)
    ("2017-03-07 11:00", "2017-03-09 17:00", "2017-03-27 17:00"),  # DESIGN.md's worked example
    ("2017-03-10 18:00", "2017-03-15 17:00", "2017-04-03 17:00"),  # Friday evening: day 0 Monday 13th
    ("2017-04-11 10:00", "2017-04-13 17:00", "2017-05-02 17:00"),  # day 20 is the May bank holiday: next day
]


@pytest.mark.parametrize("received, acknowledge_by, meet_by", INTERNAL)
def test_internal_formal_complaint_clocks(app, make_user, received, acknowledge_by, meet_by):
    clocks, _ = log(make_user("service_lead"), received)
    assert clocks["complaint_acknowledgement"].deadline_at.astimezone(LONDON) == london(acknowledge_by)
    assert clocks["complaint_resolution"].deadline_at.astimezone(LONDON) == london(meet_by)


PUBLIC = [
    # received,            stage 1 acknowledged by (5 working days)
    ("2017-04-13 16:00", "2017-04-24 17:00"),  # 18, 19, 20, 21, 24 April
    ("2017-04-13 17:00", "2017-04-25 17:00"),  # counts from Tuesday 18th
    ("2017-03-10 18:00", "2017-03-20 17:00"),
    ("2017-03-13 08:29", "2017-03-20 17:00"),
]


@pytest.mark.parametrize("received, acknowledge_by", PUBLIC)
def test_public_stage_1_acknowledgement_clock(app, make_user, received, acknowledge_by):
    clocks, _ = log(make_user("service_lead"), received, public=True)
    assert clocks["public_stage1_acknowledgement"].deadline_at.astimezone(LONDON) == london(acknowledge_by)
    assert clocks["public_stage1_response"].deadline_at is None


RESPONSE = [
    # acknowledged at,     respond by (10 working days from it), with a 10 day extension
    ("2017-04-19 10:00", "2017-05-04 17:00", "2017-05-18 17:00"),  # across the May bank holiday (1 May)
    ("2017-04-13 17:30", "2017-05-03 17:00", "2017-05-17 17:00"),  # acknowledged after hours: from Tue 18th
    ("2017-03-10 08:29", "2017-03-24 17:00", "2017-04-07 17:00"),
]


@pytest.mark.parametrize("acknowledged, respond_by, extended_to", RESPONSE)
def test_stage_1_response_counts_from_the_acknowledgement_and_extends(app, make_user, acknowledged, respond_by,
                                                                      extended_to):
    lead = make_user("service_lead")
    clocks, complaint = log(lead, "2017-03-10 08:00", public=True)
    when = london(acknowledged)
    services.acknowledge(lead, complaint, method="letter", sent_at=when, now=london("2017-12-31 12:00"))
    response = clocks["public_stage1_response"]
    assert response.started_at == when
    assert response.deadline_at.astimezone(LONDON) == london(respond_by)
    services.extend(lead, complaint, clock_id=response.id, length=10, reason="Records from NSL awaited",
                    now=london("2017-12-31 12:00"))
    assert response.deadline_at.astimezone(LONDON) == london(extended_to)
    db.session.rollback()


@pytest.mark.parametrize("now, status", [
    ("2017-04-13 16:30", "on_track"),
    ("2017-04-19 13:30", "at_risk"),    # 3.5 working hours left
    ("2017-04-19 17:00", "at_risk"),    # due now
    ("2017-04-19 17:01", "breached"),
])
def test_clock_status_through_the_engine(app, make_user, now, status):
    clocks, _ = log(make_user("service_lead"), "2017-04-13 16:00")
    ack = clocks["complaint_acknowledgement"]
    assert clockwork.status_of(rules_in_force(ack.started_at), ack, london(now)) == status
