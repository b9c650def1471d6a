"""Loading, validating and varying the rules."""
from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from intranet.sla import targets
from intranet.sla.calendar import calendar_for
from intranet.sla.clocks import deadline_for
from intranet.sla.rules import RulesError, load_rules, rules_from_mapping

from .conftest import default_doc, london, varied

SLA_DIR = Path(__file__).resolve().parents[2] / "intranet" / "sla"


def errors_for(changes: dict) -> list[str]:
    with pytest.raises(RulesError) as info:
        rules_from_mapping(varied(changes))
    return info.value.errors


# --------------------------------------------------------------------------
# The default rules are the seed SLA
# --------------------------------------------------------------------------
def test_default_rules_encode_the_seed(rules):
    a = rules.agreement
    assert a.service == "Residential Parking Permits"
    assert a.provider == "Customer Service Centre (CSC), Oxfordshire Customer Services"
    assert (a.period_start, a.period_end, a.made_on) == (dt.date(2016, 6, 1), dt.date(2017, 3, 31), dt.date(2016, 4, 1))
    assert a.reviews.annual_review == dt.date(2017, 3, 3)
    assert {p.name for p in a.parties} == {"Steve Smith", "Mark Peet"}
    c = rules.calendar
    assert (c.timezone, c.working_weekdays, c.open, c.close) == ("Europe/London", (0, 1, 2, 3, 4), dt.time(8, 30), dt.time(17))
    assert c.closures == ()
    clocks = {n: (k.unit, k.length) for n, k in rules.clocks.items()}
    assert clocks == {
        "permit_issue": ("working_days", 2), "complaint_acknowledgement": ("working_days", 2),
        "complaint_resolution": ("calendar_days", 20), "kpi_pack": ("working_day_of_next_month", 10),
        "change_notice": ("weeks", 12), "public_stage1_acknowledgement": ("working_days", 5),
        "public_stage1_response": ("working_days", 10), "public_stage2_acknowledgement": ("working_days", 5),
        "public_stage2_response": ("working_days", 20),
    }
    assert rules.clock("public_stage1_response").starts_after == "public_stage1_acknowledgement"
    kpis = {n: (k.target, k.direction, k.frequency) for n, k in rules.kpis.items()}
    assert kpis == {
        "answered_calls": (95, "at_least", "monthly"), "abandoned_calls": (5, "at_most", "monthly"),
        "permits_issued_on_time": (95, "at_least", "monthly"), "daily_zone_report": (100, "at_least", "daily"),
        "quality_monitoring": (85, "at_least", "monthly"), "customer_satisfaction": (80, "at_least", "annual"),
        "kpi_pack_on_time": (100, "at_least", "monthly"),
    }
    assert [s.role for s in rules.escalation.internal] == ["team_leader", "service_lead", "service_manager", "director"]
    assert rules.roles["director"] == "Deputy Director (OCS)"
    assert [s.step for s in rules.escalation.public] == ["local_resolution", "stage1", "stage2", "ombudsman"]
    assert set(rules.business_continuity.event_kinds) == {"extreme_weather", "major_demand", "business_continuity_plan"}
    assert [r.name for r in rules.zone_report.recipients] == ["Parking inbox", "NSL"]
    assert (rules.zone_report.due_working_days_after, rules.zone_report.due_time) == (1, dt.time(10))
    v = rules.permits.visitor
    assert (v.allowance_per_year, v.free_per_year) == (50, 25)
    s = rules.staffing
    assert (s.working_days_per_year, s.funded_fte) == (253, 3)
    assert [(p.grade, p.fte) for p in s.funded] == [("G3/6", 2), ("G7", 1)]
    residents = next(w for w in s.workloads if w.code == "residents_permits")
    weekly_hours = residents.per_day * residents.handling_minutes * 5 / 60
    assert round(weekly_hours / s.productive_hours_per_fte_week, 1) == 0.8  # the seed's FTE column
    assert rules.finance.stationery_cost_code == "NP0009"
    assert sum(rules.finance.postage.history_months.values()) == rules.finance.postage.total_annual_pence == 1188608
    assert rules.partners[0].contact == "Helen Crozier"
    assert rules.telephony.abandoned_kpi == "abandoned_calls"


def test_assumptions_are_listed_with_their_values(rules):
    paths = {a.path: a for a in rules.assumptions}
    for path in ("permits.visitor", "kpis.quality_monitoring.benchmark_score", "at_risk",
                 "business_continuity.reduced_targets", "reports.daily_zone_report.due",
                 "kpis.answered_calls.amber_limit", "clocks.public_stage1_response.extension.max_length"):
        assert path in paths and paths[path].note
    assert paths["kpis.quality_monitoring.benchmark_score"].value == 80


def test_summary(rules):
    assert rules.summary().startswith("SLA rules OK: Residential Parking Permits (2016-06-01 to 2017-03-31), 9 clocks, 7 KPIs")


def test_engine_imports_no_flask_and_nothing_of_ours():
    allowed = {"__future__", "bisect", "copy", "dataclasses", "datetime", "functools", "holidays", "math",
               "pathlib", "re", "threading", "types", "typing", "yaml", "zoneinfo"}
    for path in SLA_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [] if node.level else [node.module.split(".")[0]]
            else:
                continue
            assert set(names) <= allowed, f"{path.name} imports {names}"


# --------------------------------------------------------------------------
# Validation: each kind of bad input names its key
# --------------------------------------------------------------------------
@pytest.mark.parametrize("changes, message", [
    ({"kpis.answered_calls.target": 140}, "kpis.answered_calls.target: expected a percentage 0-100, got 140"),
    ({"kpis.answered_calls.target": "95%"}, "kpis.answered_calls.target: expected a percentage 0-100, got '95%'"),
    ({"calendar.service_hours": {"open": "17:00", "close": "08:30"}},
     "calendar.service_hours.close: close must be after open, got 17:00-08:30"),
    ({"calendar.service_hours.open": 510}, 'calendar.service_hours.open: expected a time "HH:MM" (quoted), got 510'),
    ({"calendar.service_hours.close": "25:00"}, 'calendar.service_hours.close: expected a time "HH:MM" (quoted)'),
    ({"clocks.permit_issue.length": -2}, "clocks.permit_issue.length: expected a whole number of days, weeks or working days of at least 1, got -2"),
    ({"clocks.permit_issue.length": 2.5}, "clocks.permit_issue.length: expected a whole number"),
    ({"clocks.permit_issue.unit": "fortnights"}, "clocks.permit_issue.unit: expected one of working_days"),
    ({"clocks.kpi_pack.length": 30}, "clocks.kpi_pack.length: a month has at most 23 working days, got 30"),
    ({"clocks.public_stage1_response.starts_after": "stage_zero"}, "clocks.public_stage1_response.starts_after: unknown clock 'stage_zero'"),
    ({"agreement.period.start": "2016-13-01"}, "agreement.period.start: expected a date YYYY-MM-DD, got '2016-13-01'"),
    ({"agreement.period.end": dt.date(2016, 1, 1)}, "agreement.period.end: end 2016-01-01 is before start 2016-06-01"),
    ({"agreement.made_on": "first of April"}, "agreement.made_on: expected a date YYYY-MM-DD"),
    ({"kpis.answered_calls.targte": 95}, "kpis.answered_calls.targte: unknown key"),
    ({"kpis.answered_calls.direction": ...}, "kpis.answered_calls.direction: missing"),
    ({"kpis.answered_calls.direction": "more"}, "kpis.answered_calls.direction: expected one of at_least, at_most, got 'more'"),
    ({"kpis.answered_calls.amber_limit": 97}, "kpis.answered_calls.amber_limit: for at_least the amber limit must be at or below the target 95, got 97"),
    ({"kpis.abandoned_calls.amber_limit": 3}, "kpis.abandoned_calls.amber_limit: for at_most the amber limit must be at or above the target 5, got 3"),
    ({"kpis.answered_calls.clock": "nope"}, "kpis.answered_calls.clock: unknown clock 'nope'"),
    ({"kpis.answered_calls.frequency": "hourly"}, "kpis.answered_calls.frequency: expected one of daily"),
    ({"permits.visitor.allowance_per_year": "fifty"}, "permits.visitor.allowance_per_year: expected a whole number, got 'fifty'"),
    ({"permits.visitor.free_per_year": 60}, "permits.visitor.free_per_year: cannot exceed the allowance of 50, got 60"),
    ({"permits.resident.price_pence": 60.5}, "permits.resident.price_pence: expected an amount in whole pence, got 60.5"),
    ({"permits.resident.price_pence": -1}, "permits.resident.price_pence: expected an amount in whole pence of at least 0, got -1"),
    ({"permits.vrm_formats.current": "^[A-Z"}, "permits.vrm_formats.current: not a valid regular expression"),
    ({"calendar.timezone": "Europe/Londres"}, "calendar.timezone: expected an IANA time zone such as Europe/London, got 'Europe/Londres'"),
    ({"calendar.working_days": ["mon", "funday"]}, "calendar.working_days[1]: expected one of mon, tue"),
    ({"calendar.working_days": []}, "calendar.working_days: expected at least one working day"),
    ({"calendar.closures": [{"date": "2016-02-30", "reason": "x"}]}, "calendar.closures[0].date: expected a date YYYY-MM-DD, got '2016-02-30'"),
    ({"calendar.closures": [{"date": dt.date(2016, 12, 28)}]}, "calendar.closures[0].reason: missing"),
    ({"calendar.bank_holidays.country": "XX"}, "calendar.bank_holidays.country: the holidays package does not know XX"),
    ({"reports.daily_zone_report.recipients": [{"name": "NSL", "email": "not-an-address"}]},
     "reports.daily_zone_report.recipients[0].email: expected an email address, got 'not-an-address'"),
    ({"business_continuity.reduced_targets.answered_calls": 99},
     "business_continuity.reduced_targets.answered_calls: a reduced target cannot be stricter than the target 95, got 99"),
    ({"business_continuity.reduced_targets.abandoned_calls": 2},
     "business_continuity.reduced_targets.abandoned_calls: a reduced target cannot be stricter than the target 5, got 2"),
    ({"business_continuity.reduced_targets.happiness": 50}, "business_continuity.reduced_targets.happiness: unknown KPI 'happiness'"),
    ({"escalation.internal": [{"step": "x", "title": "X", "role": "boss"}]}, "escalation.internal[0].role: unknown role 'boss'"),
    ({"escalation.public": []}, "escalation.public: expected at least one step"),
    ({"agreement.sign_off_roles": ["service_manager", "king"]}, "agreement.sign_off_roles[1]: unknown role 'king'"),
    ({"telephony.answered_kpi": "calls"}, "telephony.answered_kpi: unknown KPI 'calls'"),
    ({"staffing.productive_hours_per_fte_week": 0}, "staffing.productive_hours_per_fte_week: expected a number greater than 0, got 0"),
    ({"staffing.workloads.post": {"title": "Post", "handling_minutes": 1}}, "staffing.workloads.post: expected daily_volume, or annual_volume with working_days"),
    ({"finance.postage.history.months": {"2015-13": 100}}, 'finance.postage.history.months.2015-13: expected a month "YYYY-MM"'),
    ({"at_risk.fraction_of_clock_left": 1.5}, "at_risk.fraction_of_clock_left: expected a fraction 0-1, got 1.5"),
    ({"assumptions": {"kpis.nothing_here": "why"}}, "assumptions.kpis.nothing_here: names no key of the rules"),
    ({"colour": "blue"}, "colour: unknown key"),
    ({"telephony": ...}, "telephony: missing"),
    ({"kpis.answered_calls": 95}, "kpis.answered_calls: expected a mapping, got 95"),
    ({"changes.notice_clock": "notice"}, "changes.notice_clock: unknown clock 'notice'"),
])
def test_bad_input_names_the_key(changes, message):
    errors = errors_for(changes)
    assert any(e.startswith(message) for e in errors), errors


def test_every_error_is_reported_at_once():
    errors = errors_for({"kpis.answered_calls.target": 140, "clocks.permit_issue.length": -1,
                         "calendar.timezone": "Mars/Olympus", "colour": "blue"})
    assert len(errors) == 4, errors
    with pytest.raises(RulesError) as info:
        rules_from_mapping(varied({"kpis.answered_calls.target": 140, "colour": "blue"}))
    assert "kpis.answered_calls.target" in str(info.value) and "colour: unknown key" in str(info.value)


def test_site_file_overrides_and_is_validated(tmp_path):
    site = tmp_path / "sla.yaml"
    site.write_text("kpis:\n  answered_calls:\n    target: 90\n    amber_limit: 85\n"
                    "calendar:\n  closures:\n    - {date: 2016-12-28, reason: Offices closed}\n"
                    "assumptions:\n  at_risk: null\n")
    r = load_rules(site_path=site)
    assert r.kpi("answered_calls").target == 90
    assert r.kpi("answered_calls").direction == "at_least"  # the rest kept
    assert r.kpi("abandoned_calls").target == 5
    assert not calendar_for(r.calendar).is_working_day(dt.date(2016, 12, 28))
    assert "at_risk" not in {a.path for a in r.assumptions}  # confirmed by the site

    site.write_text("kpis:\n  answered_calls:\n    target: 140\n")
    with pytest.raises(RulesError) as info:
        load_rules(site_path=site)
    assert info.value.errors == ["kpis.answered_calls.target: expected a percentage 0-100, got 140"]

    site.write_text("kpis: [unclosed\n")
    with pytest.raises(RulesError, match="not valid YAML"):
        load_rules(site_path=site)
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(site_path=tmp_path / "missing.yaml")


# --------------------------------------------------------------------------
# Variations: the rules in force on a date
# --------------------------------------------------------------------------
VARIATIONS = [
    {"id": "renewal-2017", "effective_from": dt.date(2017, 4, 1), "reason": "Renewal for 2017-18",
     "agreed_by": "Service Manager", "changes": {
         "agreement.period.start": dt.date(2017, 4, 1), "agreement.period.end": dt.date(2018, 3, 31),
         "agreement.reviews.annual_review": dt.date(2018, 3, 2)}},
    {"id": "v1", "effective_from": dt.date(2016, 10, 1), "reason": "Lower call target during system change",
     "changes": {"kpis.answered_calls.target": 90, "kpis.answered_calls.amber_limit": 85}},
    {"id": "closure", "effective_from": dt.date(2016, 11, 1), "reason": "Office move",
     "changes": {"calendar.closures": [{"date": dt.date(2016, 12, 28), "reason": "Office move"}]}},
]


def test_rules_in_force_on_a_date():
    r = rules_from_mapping(varied({"variations": VARIATIONS}))
    assert r.in_force_on(dt.date(2016, 9, 30)).kpi("answered_calls").target == 95
    assert r.in_force_on(dt.date(2016, 10, 1)).kpi("answered_calls").target == 90
    assert r.in_force_on(dt.datetime(2016, 10, 1, 12)).applied_variations == ("v1",)
    later = r.in_force_on(dt.date(2017, 6, 1))
    assert later.applied_variations == ("v1", "closure", "renewal-2017")
    assert later.kpi("answered_calls").target == 90  # cumulative
    assert later.agreement.period_end == dt.date(2018, 3, 31)
    assert r.agreement.period_end == dt.date(2017, 3, 31)  # the base is untouched
    assert later.in_force_on(dt.date(2016, 6, 1)) is r
    # the calendar follows the variations: a closure moves a deadline
    received = london("2016-12-23 10:00")
    assert deadline_for(r.in_force_on(dt.date(2016, 10, 15)), "permit_issue", received) == london("2016-12-29 17:00")
    assert deadline_for(r.in_force_on(dt.date(2016, 12, 1)), "permit_issue", received) == london("2016-12-30 17:00")


def test_variations_on_one_day_apply_in_order():
    vs = [{"id": "a", "effective_from": dt.date(2016, 10, 1), "reason": "x", "changes": {"kpis.answered_calls.target": 92}},
          {"id": "b", "effective_from": dt.date(2016, 10, 1), "reason": "y", "changes": {"kpis.answered_calls.target": 91}}]
    r = rules_from_mapping(varied({"variations": vs}))
    assert r.in_force_on(dt.date(2016, 10, 1)).kpi("answered_calls").target == 91


def test_a_variation_may_add_a_kpi():
    new = {"title": "Emails answered in 5 working days", "category": "cycle_time", "target": 90,
           "direction": "at_least", "frequency": "monthly", "amber_limit": 80}
    r = rules_from_mapping(varied({"variations": [{"id": "e", "effective_from": dt.date(2016, 12, 1),
                                                   "reason": "New KPI", "changes": {"kpis.emails_answered": new}}]}))
    assert "emails_answered" not in r.kpis
    assert r.in_force_on(dt.date(2016, 12, 1)).kpi("emails_answered").target == 90


@pytest.mark.parametrize("change, message", [
    ({"kpis.answerd_calls.target": 90}, "variations[0].changes.kpis.answerd_calls.target: no such key 'kpis.answerd_calls' in the rules"),
    ({"kpis.answered_calls.targt": 90}, "variations[0].changes.kpis.answered_calls.targt: no such key in the rules"),
    ({"kpis.answered_calls.target": 140}, "variations[0].changes.kpis.answered_calls.target: expected a percentage 0-100, got 140"),
    ({"kpis.answered_calls.target": 80}, "variations[0] (bad, from 2016-10-01): kpis.answered_calls.amber_limit: for at_least the amber limit must be at or below the target 80, got 90"),
    ({"Not A Path": 1}, "variations[0].changes.Not A Path: expected a dotted key path"),
])
def test_bad_variations_name_the_key(change, message):
    vs = [{"id": "bad", "effective_from": dt.date(2016, 10, 1), "reason": "x", "changes": change}]
    with pytest.raises(RulesError) as info:
        rules_from_mapping(varied({"variations": vs}))
    assert any(e.startswith(message) for e in info.value.errors), info.value.errors


def test_variation_fields_are_checked():
    vs = [{"id": "a", "effective_from": "soon", "changes": {}}, {"id": "a", "effective_from": dt.date(2016, 1, 1),
                                                              "reason": "r", "changes": {"kpis.answered_calls.target": 90}}]
    with pytest.raises(RulesError) as info:
        rules_from_mapping(varied({"variations": vs}))
    text = "\n".join(info.value.errors)
    assert "variations[0].effective_from: expected a date YYYY-MM-DD, got 'soon'" in text
    assert "variations[0].reason: missing" in text
    assert "variations[0].changes: expected at least one change" in text
    assert "variations[1].id: id 'a' is used twice" in text


# --------------------------------------------------------------------------
# Business continuity and RAG
# --------------------------------------------------------------------------
def test_effective_target_in_an_emergency(rules):
    assert targets.effective_target(rules, "answered_calls", False) == 95
    assert targets.effective_target(rules, "answered_calls", True) == 80
    assert targets.effective_target(rules, "abandoned_calls", True) == 15
    r = rules_from_mapping(varied({"business_continuity.reduced_targets": {"answered_calls": 80}}))
    assert targets.effective_target(r, "quality_monitoring", True) == 85  # no reduction given
    with pytest.raises(KeyError, match="unknown KPI"):
        targets.effective_target(rules, "happiness", False)


@pytest.mark.parametrize("kpi, value, emergency, colour", [
    ("answered_calls", 95, False, "green"), ("answered_calls", 92, False, "amber"),
    ("answered_calls", 89.9, False, "red"), ("answered_calls", 82, True, "green"),
    ("answered_calls", 76, True, "amber"), ("answered_calls", 74, True, "red"),
    ("abandoned_calls", 5, False, "green"), ("abandoned_calls", 7, False, "amber"),
    ("abandoned_calls", 9, False, "red"), ("abandoned_calls", 12, True, "green"),
    ("kpi_pack_on_time", 99, False, "red"),
])
def test_rag(rules, kpi, value, emergency, colour):
    assert targets.rag(rules, kpi, value, emergency) == colour


def test_default_file_round_trips_through_rules_from_mapping():
    assert rules_from_mapping(default_doc()).summary() == load_rules().summary()
