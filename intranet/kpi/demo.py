"""Demo data for the KPI area: `load_kpi_demo(rng)` (called from intranet/demo.py by the lead).

Twelve months of telephony intervals (through the real import, so the counting rules apply), quality
evaluations, satisfaction responses, packs for past months (one of them late) and two service
reviews. Most months come out green; one month is amber and one red on calls, one staff member
misses the quality benchmark now and then. Idempotent: does nothing if call intervals exist.
"""
from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from sqlalchemy import select

from ..auth.models import User
from ..extensions import db
from ..service_rules import rules_in_force
from ..sla import calendar_for
from ..timefmt import LONDON, utcnow
from .engine import Month
from .measures import pack_due
from .models import CallInterval, KpiPack, ReviewAction, SatisfactionResponse, ServiceReview


def _user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def _telephony_csv(rng: random.Random, months: list[Month]) -> str:
    lines = ["interval_start,interval_minutes,offered,answered,abandoned,queue"]
    amber, red = months[-4], months[-8]
    for month in months:
        rate = 0.915 if month == amber else 0.87 if month == red else rng.uniform(0.955, 0.985)
        day = month.first
        while day <= month.last:
            cal = calendar_for(rules_in_force(day).calendar)
            if cal.is_working_day(day):
                slot = datetime.combine(day, time(8, 30), LONDON)
                # two intervals after close: stored, not counted
                while slot < datetime.combine(day, time(18, 0), LONDON):
                    offered = rng.randint(2, 9)
                    answered = sum(1 for _ in range(offered) if rng.random() < rate)
                    lines.append(f"{slot:%Y-%m-%dT%H:%M},30,{offered},{answered},{offered - answered},parking")
                    slot += timedelta(minutes=30)
            day += timedelta(days=1)
    return "\n".join(lines) + "\n"


def load_kpi_demo(rng: random.Random) -> list[str]:
    if db.session.scalar(select(CallInterval.id).limit(1)) is not None:
        return ["KPI demo data already present."]
    from .quality import record_evaluation
    from .telephony import import_calls

    today = utcnow().astimezone(LONDON).date()
    this = Month.of(today)
    months = [this.shift(-i) for i in range(12, 0, -1)]
    report = import_calls("demo-data", _telephony_csv(rng, months), filename="demo-telephony.csv")
    lines = [f"Telephony: {report.rows} intervals over 12 months ({report.counted} counted)"]

    leader = _user("team_leader")
    staff = [u for u in (_user(n) for n in ("advisor", "advisor2", "advisor3")) if u is not None]
    criteria = rules_in_force(today).quality_monitoring
    evaluations = 0
    if leader is not None:
        for index, month in enumerate(months + [this]):
            for person in staff:
                weak = person is staff[-1] and index % 4 == 1
                for n in range(2):
                    day = min(month.first + timedelta(days=rng.randint(0, 25)), today)
                    high = criteria.score_out_of
                    scores = {code: rng.randint(high - 3 if weak else high - 1, high - 1 if weak else high)
                              for code in criteria.criteria}
                    record_evaluation(leader, staff_id=person.id, evaluated_on=day,
                                      contact_reference=f"CALL-{month.key}-{person.id}-{n}", scores=scores,
                                      overall_score=None, comments="Demo evaluation")
                    evaluations += 1
    lines.append(f"Quality monitoring: {evaluations} evaluations")

    rows = []
    for month in months:
        for _ in range(rng.randint(15, 25)):
            score = rng.choices([5, 4, 3, 2, 1], [45, 40, 8, 4, 3])[0]
            rows.append(SatisfactionResponse(
                responded_on=month.first + timedelta(days=rng.randint(0, 27)), channel=rng.choice(["phone", "email", "post"]),
                score=score, satisfied=score >= rules_in_force(month.first).satisfaction.satisfied_from_score,
                comment="", source="demo"))
    db.session.add_all(rows)
    lines.append(f"Customer satisfaction: {len(rows)} responses")

    # Packs for the past months (the last month's is left for someone to produce); one produced late.
    late = months[-5]
    for month in months[:-1]:
        due = pack_due(month)
        produced = due + timedelta(days=2) if month == late else due - timedelta(days=rng.randint(1, 6))
        db.session.add(KpiPack(month=month.first, due_at=due, produced_at=produced, produced_by="service_lead",
                               issues="Demo: staff absence in the second week." if month == late else "",
                               proposals="", distributed_at=produced + timedelta(hours=2),
                               distributed_to="Pat Parking <parking_team@example.org>"))
    lines.append(f"KPI packs: {len(months) - 1} months (1 produced late, PDFs not stored for demo rows)")

    lead = _user("service_lead") or leader
    if lead is not None:
        past = ServiceReview(held_on=today - timedelta(days=160), title="Six-monthly service review",
                             attendees="Pat Parking <parking_team@example.org>\nSam Lead <service_lead@example.org>",
                             minutes="Demo: calls in the red month explained by a telephony outage.",
                             created_by_id=lead.id, reminder_sent_at=utcnow() - timedelta(days=170))
        coming = ServiceReview(held_on=today + timedelta(days=21), title="Six-monthly service review",
                               attendees="Pat Parking <parking_team@example.org>\nSam Lead <service_lead@example.org>",
                               created_by_id=lead.id)
        db.session.add_all([past, coming])
        db.session.flush()
        db.session.add(ReviewAction(review_id=past.id, description="Publish the online renewal form", owner="Pat Parking",
                                    due_on=today - timedelta(days=30)))
        lines.append("Service reviews: one held, one in three weeks")
    db.session.flush()
    return lines
