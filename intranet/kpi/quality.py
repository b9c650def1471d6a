"""Quality monitoring: team leaders' evaluations of the contacts staff handle.

A staff member meets the benchmark in a month when the average of their overall scores that month
reaches `kpis.quality_monitoring.benchmark_score`; the KPI is the share of staff evaluated that month
who did. Criteria and the scale come from the rules in force on the evaluation's day, and the scale is
stored on each evaluation so a later change of scale never rewrites an old score.
"""
from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import audit
from ..auth.models import User, UserRole
from ..auth.roles import ADVISOR, TEAM_LEADER
from ..extensions import db
from ..service_rules import rules_in_force
from ..timefmt import LONDON, utcnow
from .models import QualityEvaluation

EVALUATED_ROLES = (ADVISOR, TEAM_LEADER)


class QualityError(ValueError):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def staff_members() -> list[User]:
    """Who can be evaluated: active CSC advisors and team leaders."""
    return list(db.session.scalars(
        select(User).where(User.active.is_(True),
                           User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(EVALUATED_ROLES))))
        .order_by(User.full_name)))


def overall_from_scores(scores: dict[str, int], out_of: int) -> float:
    """The overall score a team leader gets when they leave it blank: the criteria as a percentage."""
    return round(100.0 * sum(scores.values()) / (out_of * len(scores)), 1) if scores else 0.0


def record_evaluation(actor, *, staff_id: int | None, evaluated_on: date | None, contact_reference: str,
                      scores: dict[str, int | None], overall_score: float | None, comments: str = "") -> QualityEvaluation:
    """Validates everything first (QualityError names each field), then adds the evaluation and its audit entry."""
    errors: dict[str, str] = {}
    today = utcnow().astimezone(LONDON).date()
    staff = db.session.get(User, staff_id) if staff_id else None
    if staff is None or not staff.has_role(*EVALUATED_ROLES):
        errors["staff_id"] = "Select the staff member evaluated"
    if evaluated_on is None:
        errors["evaluated_on"] = "Enter the date of the contact"
    elif evaluated_on > today:
        errors["evaluated_on"] = "The date of the contact must be today or in the past"
    if not (contact_reference or "").strip():
        errors["contact_reference"] = "Enter the contact reference (call ID, application or email reference)"
    rules = rules_in_force(evaluated_on or today).quality_monitoring
    clean: dict[str, int] = {}
    for code, label in rules.criteria.items():
        value = scores.get(code)
        if value is None:
            errors[f"score_{code}"] = f"Enter a score for {label.lower()}"
        elif not 0 <= value <= rules.score_out_of:
            errors[f"score_{code}"] = f"The score for {label.lower()} must be between 0 and {rules.score_out_of}"
        else:
            clean[code] = int(value)
    if overall_score is not None and not 0 <= overall_score <= 100:
        errors["overall_score"] = "The overall score must be a percentage between 0 and 100"
    if errors:
        raise QualityError(errors)
    overall = overall_score if overall_score is not None else overall_from_scores(clean, rules.score_out_of)
    evaluation = QualityEvaluation(staff_id=staff.id, evaluated_on=evaluated_on,
                                   contact_reference=contact_reference.strip()[:60],
                                   scores_json=json.dumps(clean), score_out_of=rules.score_out_of,
                                   overall_score=float(overall), comments=(comments or "").strip(),
                                   evaluator_id=actor.id)
    db.session.add(evaluation)
    db.session.flush()
    audit.record(actor, "quality_evaluation_recorded", "quality_evaluation", evaluation.id,
                 after=evaluation.audit_view(),
                 summary=f"Evaluated {staff.full_name} ({contact_reference.strip()}): {overall:g}%")
    return evaluation


def evaluations_of(user_id: int, limit: int = 200) -> list[QualityEvaluation]:
    """A staff member's own evaluations, newest first (what they see on 'My quality monitoring')."""
    return list(db.session.scalars(
        select(QualityEvaluation).options(joinedload(QualityEvaluation.evaluator))
        .where(QualityEvaluation.staff_id == user_id)
        .order_by(QualityEvaluation.evaluated_on.desc(), QualityEvaluation.id.desc()).limit(limit)))
