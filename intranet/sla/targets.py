"""KPI targets, business-continuity reductions and RAG.

Kept apart from the KPI engine (which counts things in the database) so the
SLA page, the KPI pack and the CLI all judge a value the same way.
"""

from __future__ import annotations

from .model import Kpi, Rules

__all__ = ["effective_target", "amber_limit", "rag"]


def effective_target(rules: Rules, kpi_name: str, emergency_active: bool) -> float:
    """The target that applies: the reduced one while an emergency is declared.

    The SLA lets the CSC "temporarily reduce the levels of service" when
    business continuity plans are invoked; a KPI with no reduced target in
    the rules keeps its normal target. Use ``rules.in_force_on(period)``.
    """
    kpi = rules.kpi(kpi_name)
    if emergency_active:
        return rules.business_continuity.reduced_targets.get(kpi_name, kpi.target)
    return kpi.target


def amber_limit(rules: Rules, kpi_name: str, emergency_active: bool = False) -> float:
    """The red line. Under a reduced target the amber band keeps its width,
    so an emergency moves the whole scale rather than collapsing amber."""
    kpi = rules.kpi(kpi_name)
    shift = effective_target(rules, kpi_name, emergency_active) - kpi.target
    return min(100.0, max(0.0, kpi.amber_limit + shift))


def rag(rules: Rules, kpi_name: str, value: float, emergency_active: bool = False) -> str:
    """"green", "amber" or "red" for a measured percentage."""
    kpi: Kpi = rules.kpi(kpi_name)
    target = effective_target(rules, kpi_name, emergency_active)
    limit = amber_limit(rules, kpi_name, emergency_active)
    if kpi.direction == "at_least":
        return "green" if value >= target else "amber" if value >= limit else "red"
    return "green" if value <= target else "amber" if value <= limit else "red"
