"""Fixtures for the SLA engine's tests: the default rules, a way to vary
them, and Europe/London times written the way the SLA states them."""
from __future__ import annotations

import copy
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import yaml

from intranet.sla.calendar import calendar_for
from intranet.sla.rules import DEFAULT_PATH, load_rules, rules_from_mapping

LONDON = ZoneInfo("Europe/London")


def london(text: str) -> dt.datetime:
    """'2017-03-10 18:00' as an aware Europe/London datetime."""
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=LONDON)


def default_doc() -> dict:
    return yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))


def varied(changes: dict) -> dict:
    """The default document with dotted paths set (or deleted with ...)."""
    doc = copy.deepcopy(default_doc())
    for path, value in changes.items():
        node = doc
        *parents, last = path.split(".")
        for p in parents:
            node = node[p]
        if value is ...:
            del node[last]
        else:
            node[last] = value
    return doc


@pytest.fixture(scope="session")
def rules():
    return load_rules()


@pytest.fixture(scope="session")
def cal(rules):
    return calendar_for(rules.calendar)


@pytest.fixture
def make_rules():
    return lambda changes: rules_from_mapping(varied(changes))
