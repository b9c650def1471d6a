"""Enforcement lookup: "was vehicle X covered on day D (in zone Z)?", answered in words.

Only resident permits name a vehicle, so only they can answer by VRM; visitor permits cover
whichever car displays them, and the answer says so rather than a bare "no". A permit covers a
day inside its validity until the London day it was ended (change of vehicle, lost or stolen,
cancelled, refunded): from that day its successor, if any, covers instead. Permits for the
vehicle that do not cover the day are listed too, with the reason, because "it was replaced on
5 December" is what the officer or the customer will ask about next.

The query uses ix_permit_vrm_validity (vrm, valid_from, valid_to), so it costs the same at a
million permits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..timefmt import format_date
from . import vrm as vrms
from .after_issue import END_REASONS, covers, ended_on
from .models import Permit, Zone


@dataclass(frozen=True)
class Checked:
    permit: Permit
    why_not: str = ""  # empty when it covers


@dataclass
class Answer:
    vrm: str
    on: date
    zone: Zone | None
    covering: list[Permit] = field(default_factory=list)
    not_covering: list[Checked] = field(default_factory=list)

    @property
    def covered(self) -> bool:
        return bool(self.covering)

    @property
    def sentence(self) -> str:
        where = f" in zone {self.zone.code} ({self.zone.name})" if self.zone else ""
        if self.covered:
            numbers = ", ".join(p.number for p in self.covering)
            return (f"Yes: {self.vrm} was covered{where} on {format_date(self.on)} by resident permit"
                    f"{'s' if len(self.covering) > 1 else ''} {numbers}.")
        return f"No: no resident permit covered {self.vrm}{where} on {format_date(self.on)}."


def zones() -> list[Zone]:
    return list(db.session.scalars(select(Zone).order_by(Zone.code)))


def why_not(permit: Permit, on: date, zone: Zone | None) -> str:
    if zone is not None and permit.zone_id != zone.id:
        return f"For zone {permit.zone.code}, not zone {zone.code}"
    if on < permit.valid_from:
        return f"Not valid until {format_date(permit.valid_from)}"
    if on > permit.valid_to:
        return f"Expired after {format_date(permit.valid_to)}"
    ended = ended_on(permit)
    if ended is not None and on >= ended:
        return f"{END_REASONS.get(permit.end_reason, 'Ended')} on {format_date(ended)}"
    return "Does not cover that day"


def lookup(vrm_text: str, on: date, zone: Zone | None = None) -> Answer:
    """The resident permits for the vehicle, split into those that covered it that day and the rest."""
    vrm = vrms.normalise(vrm_text)
    answer = Answer(vrm=vrm, on=on, zone=zone)
    permits = db.session.scalars(select(Permit).where(Permit.vrm == vrm, Permit.kind == "resident")
                                 .options(selectinload(Permit.zone), selectinload(Permit.customer))
                                 .order_by(Permit.valid_from.desc(), Permit.id.desc()).limit(50))
    for permit in permits:
        if covers(permit, on) and (zone is None or permit.zone_id == zone.id):
            answer.covering.append(permit)
        else:
            answer.not_covering.append(Checked(permit, why_not(permit, on, zone)))
    return answer
