"""Forms of the report pages: choosing a day (a GET form: looking changes nothing) and sending a missing day."""
from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from wtforms import SubmitField

from ..formfields import DateRequired, GovDateField


class ReportDayForm(FlaskForm):
    class Meta:
        csrf = False

    report_day = GovDateField("Report day", description="A working day, for example 18 4 2017",
                              validators=[DateRequired("Enter the report day")])
    submit = SubmitField("Show the report", widget=GovSubmitInput())


class SendNowForm(FlaskForm):
    """Only the CSRF token: the day is in the URL, and the button says which day."""
