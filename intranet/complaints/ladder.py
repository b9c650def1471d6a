"""The escalation ladders, read from `rules.escalation`: which rung comes next, who is expected to
handle it, where a complaint may start and where the final response signposts.

A rung's clocks are listed in the rules in the order they run. The first is the rung's
acknowledgement, met by acknowledging the complaint; the others are met by the rung's response
(the public stages' written response, or the internal meeting to agree a resolution). This keeps
the ladder's shape in the rules file: a council that adds a clock to a rung changes no code.
"""
from __future__ import annotations

from ..sla import Rules
from ..sla.model import LadderStep


class LadderError(ValueError):
    pass


def ladder(rules: Rules, procedure: str) -> tuple[LadderStep, ...]:
    if procedure not in ("internal", "public"):
        raise LadderError(f"unknown procedure {procedure!r}")
    return getattr(rules.escalation, procedure)


def handled_rungs(rules: Rules, procedure: str) -> tuple[LadderStep, ...]:
    """The rungs someone at the council handles (a signpost such as the Ombudsman is not one)."""
    return tuple(s for s in ladder(rules, procedure) if s.role)


def rung(rules: Rules, procedure: str, step: str) -> LadderStep:
    for s in ladder(rules, procedure):
        if s.step == step:
            return s
    raise LadderError(f"{step!r} is not a step of the {procedure} procedure")


def starting_rungs(rules: Rules, procedure: str) -> tuple[LadderStep, ...]:
    """Where a complaint may be logged: local resolution, or straight in at the first formal rung
    (the first with clocks), because a complainant may go formal without the local step."""
    out = []
    for s in handled_rungs(rules, procedure):
        out.append(s)
        if s.clocks:
            break
    return tuple(out)


def next_rung(rules: Rules, procedure: str, step: str) -> LadderStep | None:
    rungs = handled_rungs(rules, procedure)
    for i, s in enumerate(rungs):
        if s.step == step:
            return rungs[i + 1] if i + 1 < len(rungs) else None
    return None


def signpost_after(rules: Rules, procedure: str, step: str) -> LadderStep | None:
    """The signpost a final response must give (e.g. the Ombudsman), when `step` is the last rung
    the council handles and the rules name one after it."""
    if next_rung(rules, procedure, step) is not None:
        return None
    steps = ladder(rules, procedure)
    names = [s.step for s in steps]
    if step not in names:
        return None
    for s in steps[names.index(step) + 1:]:
        if s.signpost:
            return s
    return None


def acknowledgement_clock(s: LadderStep) -> str | None:
    return s.clocks[0] if s.clocks else None


def response_clocks(s: LadderStep) -> tuple[str, ...]:
    return tuple(s.clocks[1:])


def is_formal(s: LadderStep) -> bool:
    return bool(s.clocks)
