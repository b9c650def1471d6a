from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSelect, GovSubmitInput, GovTextArea, GovTextInput
from wtforms import RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional


class DeadlineForm(FlaskForm):
    """A GET form: working out a deadline changes nothing."""

    class Meta:
        csrf = False

    clock = SelectField("Clock", widget=GovSelect(), validators=[InputRequired("Select a clock")])
    received = StringField("Received (date and time)", widget=GovTextInput(),
                           description="For example 2017-03-10T18:00 (UK time)",
                           validators=[InputRequired("Enter the date and time it was received")])
    submit = SubmitField("Work out the deadline", widget=GovSubmitInput())


class DeclarationForm(FlaskForm):
    kind = RadioField("What kind of event is it?", widget=GovRadioInput(),
                      validators=[InputRequired("Select the kind of event")])
    starts = StringField("From (date and time)", widget=GovTextInput(),
                         description="For example 2026-12-04T09:00 (UK time). Leave empty for now.",
                         validators=[Optional()])
    ends = StringField("To (date and time, if known)", widget=GovTextInput(),
                       description="Leave empty until it is over; you can end it from this page.",
                       validators=[Optional()])
    reason = TextAreaField("Reason", widget=GovTextArea(),
                           validators=[InputRequired("Enter the reason"), Length(max=2000)])
    submit = SubmitField("Declare", widget=GovSubmitInput())


class EndDeclarationForm(FlaskForm):
    note = TextAreaField("Note (optional)", widget=GovTextArea(), validators=[Optional(), Length(max=2000)])
    submit = SubmitField("End the declaration", widget=GovSubmitInput())
