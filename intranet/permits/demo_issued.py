"""Demo data for partner agreements: the agreement the SLA describes, from the rules.

The rules name the partner and the agreement owner ("Thames Valley Police ... pre-arranged agreement
with Helen Crozier to collect visitors permits") but not the numbers, which are terms of the
agreement itself, so the demo uses plausible ones (DEMO_TERMS) for the current permit year.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ..extensions import db
from ..service_rules import rules_in_force
from .casework import add_months, allowance_year, london_today
from .models import PartnerAgreement
from .partners import AgreementTerms, save_agreement

DEMO_TERMS = {"max_per_collection": 50, "max_per_year": 600}


def load_partner_demo(admin_user) -> list[str]:
    """Idempotent: adds the agreement for each partner in the rules that has none yet; commits."""
    today = london_today()
    rules = rules_in_force(today)
    start, _ = allowance_year(today, rules.permits.visitor.allowance_year_start_month)
    lines = []
    for partner in rules.partners:
        exists = db.session.scalar(select(PartnerAgreement.id).where(PartnerAgreement.organisation == partner.name))
        if exists:
            continue
        terms = AgreementTerms(organisation=partner.name, contact_name="Duty sergeant, St Aldates", contact_email="",
                               permit_kind="visitor", owner_name=partner.contact,
                               valid_from=start, valid_to=add_months(start, 12) - timedelta(days=1),
                               notes=partner.arrangement, **DEMO_TERMS)
        save_agreement(admin_user, None, terms)
        lines.append(f"Partner agreement: {partner.name} (owner {partner.contact})")
    db.session.commit()
    return lines
