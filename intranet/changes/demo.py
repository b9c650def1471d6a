"""Demo change requests for `make run`: one of each route at a different stage, and one system
change notice, so every page of the area has something to show. Called from intranet/demo.py."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from ..extensions import db
from . import services
from .models import ChangeRequest, SystemChangeNotice


def load_demo(user_for_role: Callable[[str], object | None]) -> list[str]:
    """`user_for_role("parking_team")` returns that demo user (or None). Idempotent: does nothing
    once any change request exists. Dates are relative to today so the notice reads as intended."""
    if db.session.scalar(select(ChangeRequest.id).limit(1)) is not None:
        return ["Change requests already present; none added."]
    pat, lead, manager = (user_for_role(r) for r in ("parking_team", "service_lead", "service_manager"))
    if not (pat and lead and manager):
        return ["Change requests: demo users missing; none added."]
    today = services.today_london()
    common = dict(requestor_name=pat.full_name, directorate="Communities", volume_counter=0, volume_online=0)

    standard = services.save_request(pat, None, dict(
        common, title="Permit renewal reminder campaign", request_type="campaign", route="standard",
        description="Reminder letters to every resident permit holder two months before expiry.",
        required_by=today + timedelta(days=100), volume_phone=150, volume_email=60, volume_post=20,
        duration="8 weeks", implementation_plan="Letters in four weekly batches by zone.",
        script_design="Explain how to renew online and what evidence is needed.",
        briefings="15-minute team briefing the week before the first batch.",
        training="None beyond the briefing."), submit=True)
    services.assess(lead, standard, dict(
        decision="agree", cost_pence=0, performance_levels="Answered calls may dip by about 1% in the first week.",
        risk_assessment="Low: letters batched by zone to spread demand.", funding="Within the Parking Service budget.",
        prioritisation="After the March renewal peak.", change_control="Logged on the CSC change log.",
        extra_contacts_per_week=230, handling_minutes=3, varies_sla=False))
    for user, party in ((lead, "service_lead"), (manager, "service_manager"), (pat, "requestor")):
        services.sign_off(user, standard, party, "Agreed at the monthly meeting.")

    services.save_request(pat, None, dict(
        common, title="Replacement permits after the supplier's system change", request_type="temporary_task",
        route="urgent", urgent_reason="unforeseen_change",
        urgent_detail="The permit supplier moves to a new system with six weeks' warning.",
        description="Reissue permits printed with the wrong expiry date.", required_by=today + timedelta(days=45),
        volume_phone=80, volume_email=30, volume_post=5, duration="4 weeks",
        implementation_plan="Reprint and post affected permits from a list the supplier provides.",
        script_design="Apologise and confirm the new permit is on its way.", briefings="Daily huddle note.",
        training="How to find affected permits in the list."), submit=True)

    services.save_request(pat, None, dict(
        common, title="New wording on visitor permit letters", request_type="minor_process_change", route="minor",
        minor_no_resources=True, minor_directorate_process=True,
        description="Plainer wording agreed through the Directorate change process.",
        required_by=today + timedelta(days=90), volume_phone=0, volume_email=0, volume_post=0,
        duration="Permanent", implementation_plan="New letter template from the go-live date.",
        script_design="No change.", briefings="Email to the team.", training="None."), submit=True)

    if db.session.scalar(select(SystemChangeNotice.id).limit(1)) is None:
        services.publish_notice(pat, title="Permit database upgrade", change_on=today + timedelta(days=14),
                                what_changes="The permit database moves to version 5: new search screens.",
                                effect_on_csc="Searching by vehicle registration moves to its own tab; "
                                              "allow extra time on calls in the first week.")
    return ["Demo change requests: one standard (agreed), one urgent short-notice, one minor; one system change notice."]
