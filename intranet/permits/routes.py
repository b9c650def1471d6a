"""Permit casework pages. Thin: parse the request, call a service, render or redirect."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("permits", __name__)

from . import routes_casework  # noqa: E402,F401  (routes attach themselves to bp)
from . import models  # noqa: E402,F401  (tables known to migrations)
from . import routes_issued  # noqa
from . import routes_households  # noqa
