from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSelect
from wtforms import SelectField
from wtforms.validators import Optional

from .services import STATUS_LABELS


class OutboxFilterForm(FlaskForm):
    """A GET form: no CSRF needed, nothing changes."""

    class Meta:
        csrf = False

    status = SelectField("Status", widget=GovSelect(), validators=[Optional()],
                         choices=[("", "Any status")] + list(STATUS_LABELS.items()))
