"""Load the SLA rules from YAML, merge a site's overrides, validate, freeze.

The SLA is a contract: a target that silently fails to load is worse than
an app that refuses to start. So loading checks every value, collects
*every* problem (each naming its key path) and raises them together in one
``RulesError``; ``flask sla check`` prints them before a restart.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from ._reader import Reader, RulesError, describe
from .model import (
    CLOCK_UNITS, DIRECTIONS, FREQUENCIES, WEEKDAYS, Agreement, Assumption, AtRisk,
    BusinessContinuity, CalendarRules, ChangeRules, Clock, Closure, ComplaintRules, Escalation, Extension,
    Finance, FundedPost, Kpi, LadderStep, LetterSender, Partner, Party, PermitRules, Postage, PrintingRules,
    Recipient, StockItem, QualityMonitoringRules, SatisfactionRules, ServiceReviewRules,
    RefundRules, ResidentPermitRules, Reviews, Rules, Staffing, Telephony, Variation,
    VisitorPermitRules, Workload, ZoneReportRules, frozen_map,
)
from .model import ENQUIRY_CHANNELS, STAFFING_MEASURES, CashExceptionRules, EnquiryRules


__all__ = ["DEFAULT_PATH", "Rules", "RulesError", "load_rules", "rules_from_mapping", "deep_merge"]

DEFAULT_PATH = Path(__file__).with_name("default.yaml")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

# Mappings whose keys are names chosen by the council: a variation may add
# a new entry to these; anywhere else its key path must already exist.
_FREE_KEYED = {
    "roles", "clocks", "kpis", "partners", "business_continuity.event_kinds",
    "business_continuity.reduced_targets", "permits.vrm_formats", "staffing.workloads",
    "finance.postage.prices_pence", "finance.postage.history.months",
    "changes.request_types", "changes.routes", "assumptions", "complaints.categories", "printing.stock",
    "quality_monitoring.criteria", "staffing.grade_costs_pence", "enquiries.categories",
}


# --------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------
def load_rules(default_path: str | Path | None = None, site_path: str | Path | None = None) -> Rules:
    """Read the default rules and, if given, a site file over them.

    A missing *site* file is an error (an administrator named it on
    purpose); pass ``None`` when the site has none.
    """
    errors: list[str] = []
    base = _read_yaml(Path(default_path) if default_path else DEFAULT_PATH, errors)
    if site_path is not None:
        site = _read_yaml(Path(site_path), errors)
        if isinstance(base, dict) and isinstance(site, dict):
            base = deep_merge(base, site)
    if errors:
        raise RulesError(errors)
    return rules_from_mapping(base)


def rules_from_mapping(doc: Any) -> Rules:
    """Validate an already-parsed document (what tests and the CLI use)."""
    errors: list[str] = []
    base = _build(doc, errors)
    if errors or base is None:
        raise RulesError(errors or ["(top): expected a mapping"])
    versions = _build_versions(doc, base, errors)
    if errors:
        raise RulesError(errors)
    versions.insert(0, (dt.date.min, base))
    for _, r in versions:
        r._versions.extend(versions)
    return base


def deep_merge(base: Mapping, override: Mapping) -> dict:
    """Mappings merge key by key; anything else (lists too) is replaced,
    so a site can empty a list or set one value without restating the rest."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read_yaml(path: Path, errors: list[str]) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        errors.append(f"{path}: cannot read ({exc.strerror or exc})")
        return None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        errors.append(f"{path}: not valid YAML ({exc})".replace("\n", " "))
        return None
    if data is None:
        return {}
    if not isinstance(data, dict):
        errors.append(f"{path}: expected a mapping at the top, got {describe(data)}")
        return None
    return data


# --------------------------------------------------------------------------
# Variations
# --------------------------------------------------------------------------
def _build_versions(doc: dict, base: Rules, errors: list[str]) -> list[tuple[dt.date, Rules]]:
    """One validated Rules per distinct effective date, cumulative.

    Validated at load, not on first use, so a bad variation stops the app at
    start rather than breaking a KPI page months later.
    """
    versions: list[tuple[dt.date, Rules]] = []
    ordered = sorted(enumerate(base.variations), key=lambda iv: (iv[1].effective_from, iv[0]))
    current = copy.deepcopy(doc)
    applied: list[str] = []
    for pos, (index, variation) in enumerate(ordered):
        prefix = f"variations[{index}].changes"
        ok = True
        for path, value in variation.changes.items():
            problem = _apply_change(current, path, value)
            if problem:
                errors.append(f"{prefix}.{path}: {problem}")
                ok = False
        applied.append(variation.id)
        last_of_day = pos + 1 == len(ordered) or ordered[pos + 1][1].effective_from != variation.effective_from
        if not ok or not last_of_day:
            continue
        local: list[str] = []
        rules = _build(current, local, applied=tuple(applied))
        for message in local:
            path = message.split(":", 1)[0]
            hit = next((p for p in variation.changes if path == p or path.startswith(p + ".") or path.startswith(p + "[")), None)
            if hit is not None:
                errors.append(f"{prefix}.{message}")
            else:
                errors.append(f"variations[{index}] ({variation.id}, from {variation.effective_from}): {message}")
        if rules is not None and not local:
            versions.append((variation.effective_from, rules))
    return versions


def _apply_change(doc: dict, path: str, value: Any) -> str | None:
    parts = path.split(".")
    node: Any = doc
    for depth, part in enumerate(parts[:-1]):
        if not isinstance(node, dict) or part not in node:
            return f"no such key {'.'.join(parts[:depth + 1])!r} in the rules"
        node = node[part]
    if not isinstance(node, dict):
        return "cannot set a key inside a value that is not a mapping"
    parent = ".".join(parts[:-1])
    if parts[-1] not in node and parent not in _FREE_KEYED:
        return "no such key in the rules"
    node[parts[-1]] = copy.deepcopy(value)
    return None


# --------------------------------------------------------------------------
# Building typed objects
# --------------------------------------------------------------------------
def _build(doc: Any, errors: list[str], applied: tuple[str, ...] = ()) -> Rules | None:
    top = Reader(doc, "", errors)
    if not top.ok:
        return None
    roles = _roles(top.mapping("roles"))
    role_names = set(roles)
    calendar = _calendar(top.mapping("calendar"))
    clocks = _clocks(top.mapping("clocks"))
    kpis = _kpis(top.mapping("kpis"), set(clocks))
    agreement = _agreement(top.mapping("agreement"), role_names)
    escalation = _escalation(top.mapping("escalation"), role_names, set(clocks))
    continuity = _continuity(top.mapping("business_continuity"), kpis)
    zone_report = _zone_report(top.mapping("reports"))
    permits = _permits(top.mapping("permits"))
    partners = _partners(top.mapping("partners"))
    telephony = _telephony(top.mapping("telephony"), set(kpis))
    staffing = _staffing(top.mapping("staffing"))
    finance = _finance(top.mapping("finance"))
    printing = _printing(top.mapping("printing", {}), finance)
    changes = _changes(top.mapping("changes"), role_names, set(clocks))
    at_risk = _at_risk(top.mapping("at_risk"))
    complaints = _complaints(top.mapping("complaints", {}))
    quality, satisfaction, service_reviews = _performance(top)
    enquiries, cash_exceptions = _contacts(top, role_names)
    variations = _variations(top)
    assumptions = _assumptions(top.mapping("assumptions"), doc)
    top.done()
    if errors:
        return None
    return Rules(
        agreement=agreement, roles=frozen_map(roles), calendar=calendar,
        clocks=frozen_map(clocks), kpis=frozen_map(kpis), escalation=escalation,
        business_continuity=continuity, zone_report=zone_report, permits=permits,
        partners=partners, telephony=telephony, staffing=staffing, finance=finance,
        changes=changes, at_risk=at_risk, variations=variations, assumptions=assumptions,
        printing=printing, applied_variations=applied, complaints=complaints, raw=frozen_map(copy.deepcopy(doc)),
        quality_monitoring=quality, satisfaction=satisfaction, service_reviews=service_reviews,
        enquiries=enquiries, cash_exceptions=cash_exceptions,
    )


def _str_map(r: Reader) -> dict[str, str]:
    out = {}
    for key in r.keys():
        value = r.data[key]
        if not isinstance(value, str) or not value.strip():
            r.error(f"expected a non-empty text, got {describe(value)}", key)
        else:
            out[key] = value
    return out


def _check_roles(r: Reader, key: str, names: tuple[str, ...], roles: set[str]) -> None:
    for i, name in enumerate(names):
        if name not in roles:
            r.errors.append(f"{r.child_path(key)}[{i}]: unknown role {name!r}; expected one of {', '.join(sorted(roles))}")


def _roles(r: Reader) -> dict[str, str]:
    roles = _str_map(r)
    if r.ok and not roles:
        r.error("expected at least one role")
    return roles


def _agreement(r: Reader, roles: set[str]) -> Agreement:
    period = r.mapping("period")
    start, end = period.date("start"), period.date("end")
    period.done()
    if start and end and end < start:
        period.error(f"end {end} is before start {start}", "end")
    made_on = r.date("made_on")
    if made_on and end and made_on > end:
        r.error(f"the agreement cannot be made after its period ends ({end}), got {made_on}", "made_on")
    rv = r.mapping("reviews")
    reviews = Reviews(
        first_month_review=rv.date("first_month_review"),
        annual_review=rv.date("annual_review"),
        frequency=rv.choice("frequency", FREQUENCIES),
        reviewers=rv.str_list("reviewers"),
        service_review_interval_months=rv.int("service_review_interval_months", minimum=1, maximum=24),
        service_review_attendees=rv.str_list("service_review_attendees"),
    )
    _check_roles(rv, "reviewers", reviews.reviewers, roles)
    _check_roles(rv, "service_review_attendees", reviews.service_review_attendees, roles)
    rv.done()
    parties = []
    for path, item in r.list("parties"):
        p = Reader(item, path, r.errors)
        parties.append(Party(
            role=p.choice("role", ("principal_customer", "service_provider")),
            name=p.str("name"), position=p.str("position"), organisation=p.str("organisation"),
        ))
        p.done()
    sign_off = r.str_list("sign_off_roles")
    _check_roles(r, "sign_off_roles", sign_off, roles)
    agreement = Agreement(
        title=r.str("title"), service=r.str("service"), provider=r.str("provider"),
        customer=r.str("customer"), purpose=r.str("purpose"),
        period_start=start, period_end=end, made_on=made_on, reviews=reviews,
        parties=tuple(parties), sign_off_roles=sign_off,
        customers=r.str_list("customers", []), key_services=r.str_list("key_services", []),
        service_user_duties=r.str_list("service_user_duties", []),
    )
    r.done()
    return agreement


def _calendar(r: Reader) -> CalendarRules:
    tz = r.str("timezone")
    if tz:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            r.error(f"expected an IANA time zone such as Europe/London, got {tz!r}", "timezone")
    days = []
    for path, item in r.list("working_days"):
        if item not in WEEKDAYS:
            r.errors.append(f"{path}: expected one of {', '.join(WEEKDAYS)}, got {describe(item)}")
        elif WEEKDAYS.index(item) in days:
            r.errors.append(f"{path}: {item} is listed twice")
        else:
            days.append(WEEKDAYS.index(item))
    if r.ok and "working_days" in r.data and isinstance(r.data["working_days"], list) and not r.data["working_days"]:
        r.error("expected at least one working day", "working_days")
    hours = r.mapping("service_hours")
    open_, close = hours.time("open"), hours.time("close")
    if open_ and close and close <= open_:
        hours.error(f"close must be after open, got {open_:%H:%M}-{close:%H:%M}", "close")
    hours.done()
    bh = r.mapping("bank_holidays")
    country = bh.str("country")
    subdiv = bh.str("subdivision", None)
    if country:
        try:
            import holidays
            holidays.country_holidays(country, subdiv=subdiv, years=2016)
        except (NotImplementedError, KeyError, ValueError) as exc:
            bh.error(f"the holidays package does not know {country}/{subdiv}: {exc}", "country")
    bh.done()
    closures = []
    for path, item in r.list("closures", []):
        c = Reader(item, path, r.errors)
        closures.append(Closure(date=c.date("date"), reason=c.str("reason")))
        c.done()
    r.done()
    return CalendarRules(
        timezone=tz, working_weekdays=tuple(sorted(days)), open=open_, close=close,
        holiday_country=country, holiday_subdivision=subdiv,
        closures=tuple(sorted((c for c in closures if c.date), key=lambda c: c.date)),
    )


def _clocks(r: Reader) -> dict[str, Clock]:
    clocks: dict[str, Clock] = {}
    after: list[tuple[Reader, str]] = []
    for name, c in r.items():
        unit = c.choice("unit", CLOCK_UNITS)
        length = c.int("length", minimum=1, maximum=400, what="a whole number of days, weeks or working days")
        if unit == "working_day_of_next_month" and length and length > 23:
            c.error(f"a month has at most 23 working days, got {length}", "length")
        ext = None
        if "extension" in c.data:
            e = c.mapping("extension")
            ext = Extension(max_length=e.int("max_length", minimum=1, maximum=400),
                            reason_required=e.bool("reason_required", True))
            e.done()
        else:
            c.raw("extension", None)
        starts_after = c.str("starts_after", None)
        if starts_after:
            after.append((c, starts_after))
        clocks[name] = Clock(
            name=name, title=c.str("title"), unit=unit, length=length,
            starts=c.str("starts"), starts_after=starts_after,
            pausable=c.bool("pausable", False), extension=ext,
        )
        c.done()
    for c, other in after:
        if other not in clocks:
            c.error(f"unknown clock {other!r}", "starts_after")
    if r.ok and not clocks:
        r.error("expected at least one clock")
    return clocks


def _kpis(r: Reader, clocks: set[str]) -> dict[str, Kpi]:
    kpis = {}
    for name, k in r.items():
        target = k.percent("target")
        direction = k.choice("direction", DIRECTIONS)
        amber = k.percent("amber_limit")
        if None not in (target, direction, amber):
            if direction == "at_least" and amber > target:
                k.error(f"for at_least the amber limit must be at or below the target {target}, got {amber}", "amber_limit")
            if direction == "at_most" and amber < target:
                k.error(f"for at_most the amber limit must be at or above the target {target}, got {amber}", "amber_limit")
        frequency = k.choice("frequency", FREQUENCIES)
        clock = k.str("clock", None)
        if clock and clock not in clocks:
            k.error(f"unknown clock {clock!r}", "clock")
        kpis[name] = Kpi(
            name=name, title=k.str("title"), category=k.str("category"), target=target,
            direction=direction, frequency=frequency,
            measured=k.choice("measured", FREQUENCIES, frequency), amber_limit=amber,
            clock=clock, benchmark_score=k.percent("benchmark_score", None),
        )
        k.done()
    return kpis


def _ladder(r: Reader, key: str, roles: set[str], clocks: set[str]) -> tuple[LadderStep, ...]:
    steps, seen = [], set()
    for path, item in r.list(key):
        s = Reader(item, path, r.errors)
        step = s.str("step")
        if step in seen:
            s.error(f"step {step!r} appears twice", "step")
        seen.add(step)
        role = s.str("role", None)
        if role and role not in roles:
            s.error(f"unknown role {role!r}; expected one of {', '.join(sorted(roles))}", "role")
        step_clocks = s.str_list("clocks", [])
        for i, c in enumerate(step_clocks):
            if c not in clocks:
                r.errors.append(f"{path}.clocks[{i}]: unknown clock {c!r}")
        steps.append(LadderStep(step=step, title=s.str("title"), role=role,
                                clocks=step_clocks, signpost=s.str("signpost", None)))
        s.done()
    if r.ok and key in r.data and not steps:
        r.error("expected at least one step", key)
    return tuple(steps)


def _escalation(r: Reader, roles: set[str], clocks: set[str]) -> Escalation:
    esc = Escalation(internal=_ladder(r, "internal", roles, clocks), public=_ladder(r, "public", roles, clocks))
    r.done()
    return esc


def _continuity(r: Reader, kpis: dict[str, Kpi]) -> BusinessContinuity:
    kinds = _str_map(r.mapping("event_kinds"))
    rt = r.mapping("reduced_targets")
    reduced = {}
    for name in list(rt.data):
        value = rt.percent(name)
        kpi = kpis.get(name)
        if name not in kpis:
            rt.error(f"unknown KPI {name!r}", name)
        elif value is not None and kpi.target is not None:
            if kpi.direction == "at_least" and value > kpi.target:
                rt.error(f"a reduced target cannot be stricter than the target {kpi.target}, got {value}", name)
            elif kpi.direction == "at_most" and value < kpi.target:
                rt.error(f"a reduced target cannot be stricter than the target {kpi.target}, got {value}", name)
            else:
                reduced[name] = value
    rt.done()
    bc = BusinessContinuity(event_kinds=frozen_map(kinds),
                            clocks_keep_running=r.bool("clocks_keep_running", True),
                            reduced_targets=frozen_map(reduced))
    r.done()
    return bc


def _zone_report(r: Reader) -> ZoneReportRules:
    z = r.mapping("daily_zone_report")
    recipients = []
    for path, item in z.list("recipients"):
        p = Reader(item, path, r.errors)
        email = p.str("email")
        if email and not _EMAIL_RE.match(email):
            p.error(f"expected an email address, got {email!r}", "email")
        recipients.append(Recipient(name=p.str("name"), email=email))
        p.done()
    if z.ok and "recipients" in z.data and not recipients:
        z.error("expected at least one recipient", "recipients")
    due = z.mapping("due")
    rules = ZoneReportRules(title=z.str("title"), recipients=tuple(recipients),
                            due_working_days_after=due.int("working_days_after", maximum=30),
                            due_time=due.time("time"))
    due.done()
    z.done()
    r.done()
    return rules


def _permits(r: Reader) -> PermitRules:
    res = r.mapping("resident")
    resident = ResidentPermitRules(
        price_pence=res.int("price_pence", what="an amount in whole pence"),
        validity_months=res.int("validity_months", minimum=1, maximum=60),
        max_per_household=res.int("max_per_household", minimum=1),
        renewal_window_days=res.int("renewal_window_days"),
        replacement_fee_pence=res.int("replacement_fee_pence", what="an amount in whole pence"),
        evidence_required=res.str_list("evidence_required"),
    )
    res.done()
    vis = r.mapping("visitor")
    visitor = VisitorPermitRules(
        allowance_per_year=vis.int("allowance_per_year"),
        free_per_year=vis.int("free_per_year"),
        price_pence=vis.int("price_pence", what="an amount in whole pence"),
        validity_months=vis.int("validity_months", minimum=1, maximum=60),
        evidence_required=vis.str_list("evidence_required"),
        allowance_year_start_month=vis.int("allowance_year_start_month", minimum=1, maximum=12),
    )
    if visitor.allowance_per_year is not None and visitor.free_per_year is not None \
            and visitor.free_per_year > visitor.allowance_per_year:
        vis.error(f"cannot exceed the allowance of {visitor.allowance_per_year}, got {visitor.free_per_year}", "free_per_year")
    vis.done()
    ref = r.mapping("refunds")
    refunds = RefundRules(method=ref.choice("method", ("pro_rata_whole_months", "pro_rata_days", "none")),
                          admin_fee_pence=ref.int("admin_fee_pence", what="an amount in whole pence"))
    ref.done()
    vf = r.mapping("vrm_formats")
    formats = _str_map(vf)
    for name, pattern in list(formats.items()):
        try:
            re.compile(pattern)
        except re.error as exc:
            vf.error(f"not a valid regular expression ({exc})", name)
            formats.pop(name)
    et = r.mapping("evidence_types")
    evidence_types = _str_map(et)
    for kind, required in (("resident", resident.evidence_required), ("visitor", visitor.evidence_required)):
        for code in required or ():
            if code not in evidence_types:
                r.error(f"unknown evidence type {code!r}; known: {', '.join(evidence_types)}",
                        f"{kind}.evidence_required")
    permits = PermitRules(resident=resident, visitor=visitor, refunds=refunds, vrm_formats=frozen_map(formats),
                          evidence_types=frozen_map(evidence_types))
    r.done()
    return permits


def _partners(r: Reader) -> tuple[Partner, ...]:
    out = []
    for code, p in r.items():
        out.append(Partner(code=code, name=p.str("name"), arrangement=p.str("arrangement"), contact=p.str("contact")))
        p.done()
    return tuple(out)


def _telephony(r: Reader, kpis: set[str]) -> Telephony:
    t = Telephony(answered_kpi=r.str("answered_kpi"), abandoned_kpi=r.str("abandoned_kpi"))
    for key in ("answered_kpi", "abandoned_kpi"):
        value = getattr(t, key)
        if value and value not in kpis:
            r.error(f"unknown KPI {value!r}", key)
    r.done()
    return t


def _staffing(r: Reader) -> Staffing:
    funded = []
    for path, item in r.list("funded"):
        f = Reader(item, path, r.errors)
        funded.append(FundedPost(grade=f.str("grade"), fte=f.number("fte", positive=True)))
        f.done()
    workloads = []
    for code, w in r.mapping("workloads").items():
        daily = w.number("daily_volume", None)
        annual = w.int("annual_volume", None)
        days = w.int("working_days", None, minimum=1)
        if daily is None and (annual is None or days is None) and w.ok:
            w.error("expected daily_volume, or annual_volume with working_days")
        workloads.append(Workload(
            code=code, title=w.str("title"), handling_minutes=w.number("handling_minutes", positive=True),
            daily_volume=daily, annual_volume=annual, working_days=days,
            observed_volume=w.int("observed_volume", None),
            observed_working_days=w.int("observed_working_days", None, minimum=1),
            measure=w.choice("measure", STAFFING_MEASURES, None),
        ))
        w.done()
    costs = {}
    gc = r.mapping("grade_costs_pence", {})
    for grade in list(gc.data):
        amount = gc.int(grade, what="a yearly cost in whole pence")
        if amount is not None:
            costs[str(grade)] = amount
    gc.done()
    s = Staffing(
        working_days_per_year=r.int("working_days_per_year", minimum=1, maximum=366),
        productive_hours_per_fte_week=r.number("productive_hours_per_fte_week", positive=True, maximum=168),
        funded=tuple(funded), workloads=tuple(workloads), grade_costs_pence=frozen_map(costs),
    )
    r.done()
    return s


def _finance(r: Reader) -> Finance:
    st = r.mapping("stationery")
    code, through = st.str("cost_code"), st.str("ordered_through")
    st.done()
    po = r.mapping("postage")
    pp = po.mapping("prices_pence")
    prices = {name: pp.int(name, what="an amount in whole pence") for name in list(pp.data)}
    pp.done()
    hist = po.mapping("history")
    hm = hist.mapping("months")
    months = {}
    for key in list(hm.data):
        amount = hm.int(key, what="an amount in whole pence")
        if not isinstance(key, str) or not _MONTH_RE.match(key):
            hm.error('expected a month "YYYY-MM" (quoted)', str(key))
        elif amount is not None:
            months[key] = amount
    hm.done()
    postage = Postage(
        prices_pence=frozen_map(prices), history_title=hist.str("title"),
        history_months=frozen_map(months),
        total_annual_pence=hist.int("total_annual_pence", what="an amount in whole pence"),
        including_reminder_letters_pence=hist.int("including_reminder_letters_pence", what="an amount in whole pence"),
        average_monthly_pence=hist.int("average_monthly_pence", what="an amount in whole pence"),
    )
    hist.done()
    po.done()
    r.done()
    return Finance(stationery_cost_code=code, stationery_ordered_through=through, postage=postage)


def _printing(r: Reader, finance: Finance) -> PrintingRules:
    """Letters' sender, the batch postage class and the stock kept; optional, so older site files validate."""
    s = r.mapping("sender", {})
    email = s.str("email", "")
    if email and not _EMAIL_RE.match(email):
        s.error(f"expected an email address, got {email!r}", "email")
    sender = LetterSender(organisation=s.str("organisation", ""), department=s.str("department", ""),
                          address=s.str_list("address", []), phone=s.str("phone", ""), email=email,
                          web=s.str("web", ""))
    s.done()
    po = r.mapping("postage", {})
    batch_class = po.str("batch_class", "second_class")
    prices = finance.postage.prices_pence if finance and finance.postage else {}
    if batch_class and prices and batch_class not in prices:
        po.error(f"unknown postage class {batch_class!r}; known: {', '.join(prices)}", "batch_class")
    po.done()
    stock = []
    for code, item in r.mapping("stock", {}).items():
        stock.append(StockItem(code=code, title=item.str("title"),
                               used_for=item.choice("used_for", ("resident", "visitor"), None),
                               reorder_level=item.int("reorder_level")))
        item.done()
    rules = PrintingRules(sender=sender, batch_postage_class=batch_class,
                          financial_year_start_month=r.int("financial_year_start_month", 4, minimum=1, maximum=12),
                          stock=tuple(stock))
    r.done()
    return rules


def _changes(r: Reader, roles: set[str], clocks: set[str]) -> ChangeRules:
    notice = r.str("notice_clock")
    if notice and notice not in clocks:
        r.error(f"unknown clock {notice!r}", "notice_clock")
    approvers = r.str_list("approver_roles")
    _check_roles(r, "approver_roles", approvers, roles)
    c = ChangeRules(
        notice_clock=notice, request_types=frozen_map(_str_map(r.mapping("request_types"))),
        routes=frozen_map(_str_map(r.mapping("routes"))),
        requestor_information=r.str_list("requestor_information"),
        assessment=r.str_list("assessment"), approver_roles=approvers,
    )
    r.done()
    return c


def _complaints(r: Reader) -> ComplaintRules:
    """Optional section: without it the defaults of ComplaintRules apply."""
    default = ComplaintRules()
    categories = default.categories
    if "categories" in r.data:
        categories = frozen_map(_str_map(r.mapping("categories")))
        if r.ok and not categories:
            r.error("expected at least one category", "categories")
    c = ComplaintRules(categories=categories,
                       report_year_start_month=r.int("report_year_start_month", default.report_year_start_month,
                                                     minimum=1, maximum=12, what="a month number 1-12"))
    r.done()
    return c


def _performance(top: Reader) -> tuple[QualityMonitoringRules, SatisfactionRules, ServiceReviewRules]:
    """The KPI inputs' own settings (issue 8): optional sections, so older site files validate."""
    q = top.mapping("quality_monitoring", {})
    quality = QualityMonitoringRules()
    criteria = quality.criteria
    if "criteria" in q.data:
        criteria = frozen_map(_str_map(q.mapping("criteria")))
        if q.ok and not criteria:
            q.error("expected at least one criterion", "criteria")
    quality = QualityMonitoringRules(criteria=criteria, score_out_of=q.int(
        "score_out_of", quality.score_out_of, minimum=1, maximum=100))
    q.done()
    s = top.mapping("satisfaction", {})
    satisfaction = SatisfactionRules(satisfied_from_score=s.int(
        "satisfied_from_score", SatisfactionRules().satisfied_from_score, minimum=1, maximum=5,
        what="a score 1-5"))
    s.done()
    v = top.mapping("service_reviews", {})
    reviews = ServiceReviewRules(reminder_days_before=v.int(
        "reminder_days_before", ServiceReviewRules().reminder_days_before, minimum=1, maximum=90))
    v.done()
    return quality, satisfaction, reviews


def _contacts(top: Reader, roles: set[str]) -> tuple[EnquiryRules, CashExceptionRules]:
    """The enquiries log and cash exceptions (issue 9): optional sections, so older site files validate."""
    e = top.mapping("enquiries", {})
    default = EnquiryRules()
    categories = default.categories
    if "categories" in e.data:
        categories = frozen_map(_str_map(e.mapping("categories")))
        if e.ok and not categories:
            e.error("expected at least one category", "categories")
    clocks = dict(default.reply_clocks)
    if "reply_clocks" in e.data:
        rc = e.mapping("reply_clocks")
        clocks = {ch: rc.int(ch, minimum=1, maximum=60, what="a number of working days") for ch in ENQUIRY_CHANNELS}
        rc.done()
    e.done()
    c = top.mapping("cash_exceptions", {})
    cash_default = CashExceptionRules()
    pattern = c.str("pcn_pattern", cash_default.pcn_pattern)
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            c.error(f"not a valid regular expression ({exc})", "pcn_pattern")
    approvers = c.str_list("approver_roles", list(cash_default.approver_roles))
    _check_roles(c, "approver_roles", approvers, roles)
    if c.ok and "approver_roles" in c.data and not approvers:
        c.error("expected at least one role", "approver_roles")
    cash = CashExceptionRules(
        pcn_pattern=pattern,
        max_amount_pence=c.int("max_amount_pence", cash_default.max_amount_pence, minimum=1,
                               what="an amount in whole pence"),
        approver_roles=tuple(approvers))
    c.done()
    return EnquiryRules(categories=categories, reply_clocks=frozen_map(clocks)), cash


def _at_risk(r: Reader) -> AtRisk:
    a = AtRisk(fraction_of_clock_left=r.fraction("fraction_of_clock_left"),
               working_hours_left=r.number("working_hours_left", maximum=1000))
    r.done()
    return a


def _variations(top: Reader) -> tuple[Variation, ...]:
    out, ids = [], set()
    for path, item in top.list("variations", []):
        v = Reader(item, path, top.errors)
        vid = v.str("id")
        if vid in ids:
            v.error(f"id {vid!r} is used twice", "id")
        ids.add(vid)
        ch = v.mapping("changes")
        if ch.ok and not ch.data:
            v.error("expected at least one change", "changes")
        for key in list(ch.data):
            ch.raw(key)
            if not isinstance(key, str) or not re.match(r"^[a-z_][a-z0-9_]*(\.[a-z0-9_-]+)*$", key):
                ch.error("expected a dotted key path such as kpis.answered_calls.target", str(key))
        out.append(Variation(id=vid, effective_from=v.date("effective_from"), reason=v.str("reason"),
                             agreed_by=v.str("agreed_by", None), changes=frozen_map(ch.data)))
        v.done()
    return tuple(out)


def _assumptions(r: Reader, doc: dict) -> tuple[Assumption, ...]:
    """A site confirms an assumed value by setting its note to null."""
    out = []
    for path in list(r.data):
        note = r.raw(path)
        if note is None:
            continue
        if not isinstance(note, str) or not note.strip():
            r.error(f"expected a note saying why the value is assumed, got {describe(note)}", str(path))
            continue
        found, value = _lookup(doc, str(path))
        if not found:
            r.error("names no key of the rules", str(path))
            continue
        out.append(Assumption(path=str(path), note=note, value=value))
    return tuple(out)


def _lookup(doc: Any, path: str) -> tuple[bool, Any]:
    node = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node
