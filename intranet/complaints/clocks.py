"""The complaint clocks, worked out by the SLA engine and nowhere else.

Each clock is judged by the rules in force on the day the complaint was received, so a variation
agreed later never changes whether an old complaint was acknowledged on time. A clock that
`starts_after` another (a stage response after its acknowledgement) is given the moment the
earlier one was met as its receipt, as the engine expects; an extension is passed as `extension=`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..sla import Rules, clock_status, deadline_for, time_left_text
from .models import Complaint, ComplaintClock, ComplaintStage


@dataclass(frozen=True)
class ClockView:
    clock: ComplaintClock
    title: str
    step: str
    status: str  # on_track, at_risk, breached, met_on_time, met_late, not_started, stopped
    time_left: str
    deadline: datetime | None
    waits_for: str  # for a clock not started: what starts it


def start_stage_clocks(rules: Rules, complaint: Complaint, stage: ComplaintStage, step_clocks: tuple[str, ...]) -> None:
    """Creates the rung's clocks; those that start after another clock of the rung wait for it."""
    from ..extensions import db

    names = set(step_clocks)
    with db.session.no_autoflush:
        for name in step_clocks:
            clock = ComplaintClock(clock_name=name, extension=0, extension_reason="")
            clock.stage = stage
            after = rules.clock(name).starts_after
            if not after or after not in names:
                clock.started_at = stage.started_at
                clock.deadline_at = compute_deadline(rules, clock)
            complaint.clocks.append(clock)


def compute_deadline(rules: Rules, clock: ComplaintClock) -> datetime:
    return deadline_for(rules, clock.clock_name, clock.started_at, extension=clock.extension or 0)


def complete(rules: Rules, complaint: Complaint, clock: ComplaintClock, at: datetime) -> None:
    """Meets a clock and starts any clock of the same rung that counts from it."""
    clock.completed_at = at
    for other in complaint.clocks:
        if (other.stage_id == clock.stage_id and other is not clock and other.started_at is None
                and other.stopped_at is None and rules.clock(other.clock_name).starts_after == clock.clock_name):
            other.started_at = at
            other.deadline_at = compute_deadline(rules, other)


def stop_running(complaint: Complaint, at: datetime) -> None:
    """Leaving a rung (escalation, closure) stops its clocks that were neither met nor started."""
    for clock in complaint.clocks:
        if clock.completed_at is None and clock.stopped_at is None:
            clock.stopped_at = at


def refresh_next_deadline(complaint: Complaint) -> None:
    running = [c.deadline_at for c in complaint.clocks if c.running and c.deadline_at is not None]
    complaint.next_deadline_at = min(running) if running and complaint.is_open else None


def status_of(rules: Rules, clock: ComplaintClock, now: datetime) -> str:
    if clock.started_at is None:
        return "stopped" if clock.stopped_at else "not_started"
    if clock.completed_at is not None:
        return clock_status(rules, clock.deadline_at, now, completed_at=clock.completed_at)
    if clock.stopped_at is not None:
        return "breached" if clock.stopped_at > clock.deadline_at else "stopped"
    return clock_status(rules, clock.deadline_at, now, started_at=clock.started_at)


def view(rules: Rules, clock: ComplaintClock, now: datetime) -> ClockView:
    spec = rules.clock(clock.clock_name)
    status = status_of(rules, clock, now)
    left = time_left_text(rules, clock.deadline_at, now) if clock.running else ""
    waits = ""
    if clock.started_at is None and spec.starts_after:
        waits = f"Starts when met: {rules.clock(spec.starts_after).title}"
    return ClockView(clock, spec.title, clock.stage.step if clock.stage else "", status, left, clock.deadline_at, waits)
