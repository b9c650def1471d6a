"""Forms of the KPI area (GOV.UK widgets; messages in the GOV.UK style)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (GovCheckboxInput, GovFileInput, GovRadioInput, GovSelect,
                                                GovSubmitInput, GovTextArea, GovTextInput)
from wtforms import BooleanField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ..formfields import DateRequired, GovDateField


class MonthForm(FlaskForm):
    """A GET form: choosing a month changes nothing, and the URL is the bookmark."""

    class Meta:
        csrf = False

    month = SelectField("Month", widget=GovSelect())
    submit = SubmitField("Show", widget=GovSubmitInput())


class CallsImportForm(FlaskForm):
    file = FileField("Telephony statistics (CSV)", widget=GovFileInput(),
                     description="Columns: interval_start (YYYY-MM-DDTHH:MM, UK time, or with a UTC offset), offered, "
                                 "answered, abandoned; optional interval_minutes, answered_within_threshold, "
                                 "average_wait_seconds, queue.")
    replace = BooleanField("Replace intervals already stored", widget=GovCheckboxInput(),
                           description="Without this, an interval already stored is an error and nothing is imported")
    submit = SubmitField("Import call statistics", widget=GovSubmitInput())


class UploadForm(FlaskForm):
    file = FileField("Survey responses (CSV)", widget=GovFileInput(),
                     description="Columns: responded_on (YYYY-MM-DD), channel, satisfied (yes or no) or score (1 to 5), "
                                 "comment (optional).")
    submit = SubmitField("Import responses", widget=GovSubmitInput())


def quality_form_class(criteria, out_of: int):
    """The evaluation form for the criteria in the rules: one row of radios (0 to out_of) per criterion."""

    class QualityForm(FlaskForm):
        staff_id = SelectField("Staff member", widget=GovSelect(), coerce=int,
                               validators=[InputRequired("Select the staff member evaluated")])
        evaluated_on = GovDateField("Date of the contact", validators=[DateRequired("Enter the date of the contact")])
        contact_reference = StringField("Contact reference", widget=GovTextInput(),
                                        description="Call ID, application reference or email reference",
                                        validators=[InputRequired("Enter the contact reference"), Length(max=60)])
        overall_score = StringField("Overall score (%)", widget=GovTextInput(),
                                    description="Leave empty to use the criteria scores as a percentage",
                                    validators=[Optional(), Length(max=6)])
        comments = TextAreaField("Comments", widget=GovTextArea(), validators=[Optional(), Length(max=4000)])
        submit = SubmitField("Save evaluation", widget=GovSubmitInput())

    choices = [(i, str(i)) for i in range(out_of + 1)]
    for code, label in criteria.items():
        setattr(QualityForm, f"score_{code}", RadioField(
            f"{label} (0 to {out_of})", widget=GovRadioInput(), coerce=int, choices=choices,
            validators=[InputRequired(f"Enter a score for {label.lower()}")]))
    return QualityForm


class SatisfactionForm(FlaskForm):
    responded_on = GovDateField("Date of the response", validators=[DateRequired("Enter the date of the response")])
    channel = SelectField("Channel", widget=GovSelect(), validators=[InputRequired("Select the channel")])
    answer = RadioField("How did the customer answer?", widget=GovRadioInput(),
                        choices=[("yes", "Satisfied"), ("no", "Not satisfied"), ("score", "A score from 1 to 5")],
                        validators=[InputRequired("Select how the customer answered")])
    score = SelectField("Score (if they gave one)", widget=GovSelect(),
                        choices=[("", "No score")] + [(str(i), str(i)) for i in range(1, 6)], validators=[Optional()])
    comment = TextAreaField("Comment (optional)", widget=GovTextArea(), validators=[Optional(), Length(max=4000)])
    submit = SubmitField("Save response", widget=GovSubmitInput())


class CommentaryForm(FlaskForm):
    issues = TextAreaField("Issues impacting on service provision", widget=GovTextArea(),
                           validators=[Optional(), Length(max=10000)])
    proposals = TextAreaField("Proposals for service or process improvement", widget=GovTextArea(),
                              validators=[Optional(), Length(max=10000)])
    submit = SubmitField("Save commentary", widget=GovSubmitInput())


class ButtonForm(FlaskForm):
    submit = SubmitField("Continue", widget=GovSubmitInput())


class ReviewForm(FlaskForm):
    held_on = GovDateField("Date of the meeting", validators=[DateRequired("Enter the date of the meeting")])
    title = StringField("Title", widget=GovTextInput(), default="Six-monthly service review",
                        validators=[InputRequired("Enter a title for the meeting"), Length(max=200)])
    attendees = TextAreaField("Attendees", widget=GovTextArea(),
                              description="One a line, as Name <email>, for example Pat Parking <pat@example.org>",
                              validators=[InputRequired("Enter at least one attendee"), Length(max=5000)])
    submit = SubmitField("Plan the meeting", widget=GovSubmitInput())


class MinutesForm(FlaskForm):
    minutes = TextAreaField("Minutes", widget=GovTextArea(), validators=[Optional(), Length(max=20000)])
    submit = SubmitField("Save minutes", widget=GovSubmitInput())


class ActionForm(FlaskForm):
    description = TextAreaField("Action", widget=GovTextArea(),
                                validators=[InputRequired("Enter the action"), Length(max=2000)])
    owner = StringField("Owner", widget=GovTextInput(), validators=[InputRequired("Enter who owns the action"),
                                                                    Length(max=120)])
    due_on = GovDateField("Due date", validators=[DateRequired("Enter the date the action is due")])
    submit = SubmitField("Add action", widget=GovSubmitInput())
