"""Demo contacts for `make run`: three weeks of enquiries (calls, emails, letters and counter visits, some
needing a reply, most replied) and cash payments taken by exception (approved, one reversed, past days
cashed up, one with an explained difference, the last one open with a receipt awaiting approval). Called from intranet/demo.py.

Everything goes through the real services, with times in the past, so the audit trail, reply clocks
and cash-up totals are what they would be had the work really happened.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from ..extensions import db
from ..permits.models import Customer
from ..service_rules import rules_in_force
from ..sla import calendar_for
from ..timefmt import LONDON, utcnow
from . import cash, enquiries
from .models import CashReceipt, Enquiry

# Roughly the SLA's mix: far more calls than emails, few letters and counter visits.
CHANNEL_WEIGHTS = {"phone": 60, "email": 25, "post": 10, "counter": 5}
SUMMARIES = {
    "applying": ("How do I apply for a resident permit?", "Sent the application form and evidence list"),
    "renewing": ("When does my permit need renewing?", "Explained the renewal window"),
    "visitor_permits": ("How many visitor permits are left this year?", "Gave the remaining allowance"),
    "eligibility": ("Is my street in a zone?", "Checked the street against the zones"),
    "permit_progress": ("Where is my permit?", "Permit printed and posted"),
    "payments_refunds": ("Can I get a refund after moving?", "Explained the pro rata refund"),
    "enforcement": ("I got a penalty charge notice with a valid permit", "Referred to the Parking Service"),
    "other": ("General question about the scheme", "Answered"),
}


def _when(rng: random.Random, cal, day) -> datetime:
    opens = cal.opens_at(day)
    minutes = int((cal.closes_at(day) - opens).total_seconds() // 60) - 1
    return opens + timedelta(minutes=rng.randrange(minutes))


def load_contacts_demo(rng: random.Random, user_for_role: Callable[[str], object | None], *,
                       working_days: int = 15) -> list[str]:
    """`user_for_role("advisor")` returns that demo user (or None). Idempotent: adds nothing once any
    enquiry exists. The caller commits."""
    if db.session.scalar(select(Enquiry.id).limit(1)) is not None:
        return ["Contacts already present; none added."]
    advisors = [u for u in (user_for_role(n) for n in ("advisor", "advisor2", "advisor3")) if u is not None]
    leader, lead = user_for_role("team_leader"), user_for_role("service_lead")
    if not advisors or leader is None or lead is None:
        return ["Contacts: demo users missing; none added."]
    now = utcnow()
    rules = rules_in_force(now)
    cal = calendar_for(rules.calendar)
    today = now.astimezone(LONDON).date()
    days = [cal.add_working_days(today, -n) for n in range(working_days, 0, -1)]
    references = list(db.session.scalars(select(Customer.reference).limit(200)))
    categories = list(rules.enquiries.categories)
    channels, weights = list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values())
    logged = replied = 0
    for day in days:
        for _ in range(rng.randint(12, 26)):
            when = _when(rng, cal, day)
            category = rng.choice(categories)
            summary, outcome = SUMMARIES.get(category, SUMMARIES["other"])
            item = enquiries.log_enquiry(rng.choice(advisors), enquiries.NewEnquiry(
                channel=rng.choices(channels, weights)[0], category=category, summary=summary, outcome=outcome,
                handling_minutes=rng.randint(1, 8), needs_reply=rng.random() < 0.15,
                reference=rng.choice(references) if references and rng.random() < 0.4 else ""), now=when)
            logged += 1
            if item.reply_state == "open" and rng.random() < 0.8:
                answered = min(item.reply_due_at - timedelta(hours=rng.randint(-20, 30)), now)
                if answered > when:
                    enquiries.mark_replied(rng.choice(advisors), item, note="Replied by email with the answer",
                                           now=answered)
                    replied += 1
    receipts = _cash_demo(rng, cal, days, advisors, leader, lead)
    return [f"Enquiries: {logged} contacts over {len(days)} working days ({replied} replies recorded)",
            f"Cash exceptions: {receipts} receipts, past days cashed up"]


def _cash_demo(rng, cal, days, advisors, leader, lead) -> int:
    """Every third day a payment or two, approved; the first reversed; those days closed; one waiting."""
    taken = []
    for i, day in enumerate(days):
        if i % 3:
            continue
        for _ in range(rng.randint(1, 2)):
            when = _when(rng, cal, day)
            receipt = cash.take_payment(rng.choice(advisors), cash.NewPayment(
                pcn=f"OX{rng.randrange(10**8):08d}", amount_pence=rng.choice((3500, 5000, 7000, 10500)),
                payer_name=rng.choice(("Sam Patel", "Jo Evans", "Ali Khan", "Kim Brown", "Zoë Brontë")),
                reason=rng.choice(("Card machine out of order", "Customer has no bank card",
                                   "Vehicle release: payment needed today"))), now=when)
            cash.approve(leader, receipt, now=when + timedelta(minutes=30))
            taken.append(receipt)
    if taken:
        wrong = taken[0]
        reversal = cash.reverse(advisors[0], wrong, reason="Taken against the wrong PCN; customer paid online",
                                now=wrong.taken_at + timedelta(hours=1))
        cash.approve(leader, reversal, now=wrong.taken_at + timedelta(hours=2))
    cashed = {}
    for r in db.session.scalars(select(CashReceipt).order_by(CashReceipt.id)):
        cashed.setdefault(r.business_day, []).append(r)
    for n, (day, receipts) in enumerate(sorted(cashed.items())):
        total = sum(r.amount_pence for r in receipts)
        short = 500 if n == 1 else 0
        cash.close_day(lead, day, cash.Closing(
            counted_pence=total - short, explanation="£5 too much given in change; the customer has been asked to return it" if short else "",
            banked_by_id=leader.id, bag_number=f"BAG-{day:%y%m%d}", expected_count=len(receipts),
            expected_total_pence=total), now=cal.closes_at(day))
    # The last working day is left open with a receipt awaiting approval (today's cash stays untouched).
    last = days[-1]
    if last not in cashed:
        cash.take_payment(advisors[-1], cash.NewPayment(pcn="OX20170001", amount_pence=7000, payer_name="Morgan Lee",
                                                        reason="Card machine out of order"), now=_when(rng, cal, last))
    return sum(len(r) for r in cashed.values()) + (last not in cashed)
