"""Forms of the complaint log. Choices that come from the rules (categories, rungs) or the database
(handlers) are filled in by the routes, so a site's rules file changes the forms too."""
from __future__ import annotations

from datetime import datetime

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (GovRadioInput, GovSelect, GovSubmitInput,
                                                GovTextArea, GovTextInput)
from wtforms import RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ..formfields import DateRequired, GovDateField, TimeField, WholeNumberField
from ..timefmt import LONDON, utcnow
from .models import CHANNELS, OUTCOMES, PROCEDURES, SEND_METHODS, STATUSES


def when(date_field, time_field) -> datetime | None:
    """The London moment typed in a date field and a time field (None if either is missing)."""
    if date_field.data is None or getattr(time_field, "parsed", None) is None:
        return None
    hour, minute = time_field.parsed
    d = date_field.data
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=LONDON)


def fill_now(date_field, time_field) -> None:
    now = utcnow().astimezone(LONDON)
    date_field.data = now.date()
    time_field.data = f"{now.hour % 12 or 12}:{now:%M}{'am' if now.hour < 12 else 'pm'}"


class LogFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Search", widget=GovTextInput(), validators=[Optional(), Length(max=100)],
                    description="Reference, complainant or organisation")
    procedure = SelectField("Procedure", widget=GovSelect(), validators=[Optional()],
                            choices=[("", "Any procedure")] + list(PROCEDURES.items()))
    step = SelectField("Stage", widget=GovSelect(), validators=[Optional()], choices=[("", "Any stage")])
    handler = SelectField("Handler", widget=GovSelect(), validators=[Optional()],
                          choices=[("", "Anyone"), ("me", "Me"), ("none", "Nobody yet")])
    status = SelectField("Status", widget=GovSelect(), validators=[Optional()],
                         choices=[("", "Any status")] + list(STATUSES.items()))
    category = SelectField("Category", widget=GovSelect(), validators=[Optional()], choices=[("", "Any category")])
    overdue = SelectField("Overdue", widget=GovSelect(), validators=[Optional()],
                          choices=[("", "Overdue or not"), ("yes", "Overdue only")])
    sort = SelectField("Sort by", widget=GovSelect(), validators=[Optional()],
                       choices=[("deadline", "Next deadline"), ("newest", "Newest first")])


class LogComplaintForm(FlaskForm):
    source = RadioField("Who is the complaint from?", widget=GovRadioInput(),
                        validators=[InputRequired("Select who the complaint is from")])
    complainant_name = StringField("Complainant's name", widget=GovTextInput(),
                                   validators=[InputRequired("Enter the complainant's name"), Length(max=200)])
    organisation = StringField("Organisation (optional)", widget=GovTextInput(), validators=[Optional(), Length(max=200)],
                               description="For an internal customer or partner, e.g. Thames Valley Police")
    contact_email = StringField("Email address (optional)", widget=GovTextInput(),
                                validators=[Optional(), Length(max=200)],
                                description="Needed to send the acknowledgement by email")
    contact_address = TextAreaField("Postal address (optional)", widget=GovTextArea(),
                                    validators=[Optional(), Length(max=2000)])
    channel = RadioField("How did it arrive?", widget=GovRadioInput(), choices=list(CHANNELS.items()),
                         validators=[InputRequired("Select how the complaint arrived")])
    received_date = GovDateField("Date received", description="For example, 13 4 2017",
                                 validators=[DateRequired("Enter the date received")])
    received_time = TimeField("Time received", description="For example 9:30am",
                              validators=[InputRequired("Enter the time received")])
    category = SelectField("Category", widget=GovSelect(), validators=[InputRequired("Select a category")])
    step = RadioField("Where does it start?", widget=GovRadioInput(),
                      validators=[InputRequired("Select where the complaint starts")])
    summary = TextAreaField("Summary of the complaint", widget=GovTextArea(),
                            validators=[InputRequired("Enter a summary"), Length(max=10000)])
    handler = SelectField("Handler (optional)", widget=GovSelect(), validators=[Optional()], choices=[("", "Not yet")])
    application_ref = StringField("Application reference (optional)", widget=GovTextInput(),
                                  validators=[Optional(), Length(max=20)])
    permit_ref = StringField("Permit number (optional)", widget=GovTextInput(), validators=[Optional(), Length(max=20)])
    customer_ref = StringField("Customer reference (optional)", widget=GovTextInput(),
                               validators=[Optional(), Length(max=20)])
    submit = SubmitField("Log the complaint", widget=GovSubmitInput())


class AcknowledgeForm(FlaskForm):
    method = RadioField("How is the acknowledgement sent?", widget=GovRadioInput(), choices=list(SEND_METHODS.items()),
                        validators=[InputRequired("Select how the acknowledgement is sent")])
    sent_date = GovDateField("Date it went", validators=[DateRequired("Enter the date the acknowledgement went")])
    sent_time = TimeField("Time it went", description="For example 9:30am",
                          validators=[InputRequired("Enter the time the acknowledgement went")])
    submit = SubmitField("Send and record the acknowledgement", widget=GovSubmitInput())


class NoteForm(FlaskForm):
    kind = RadioField("What is it?", widget=GovRadioInput(),
                      choices=[("note", "Investigation note"), ("contact", "Contact with the complainant")],
                      validators=[InputRequired("Select a note or a contact with the complainant")])
    text = TextAreaField("Details", widget=GovTextArea(), validators=[InputRequired("Enter the note"),
                                                                      Length(max=10000)])
    occurred_date = GovDateField("Date", validators=[DateRequired("Enter the date it happened")])
    occurred_time = TimeField("Time", description="For example 9:30am",
                              validators=[InputRequired("Enter the time it happened")])
    submit = SubmitField("Add to the record", widget=GovSubmitInput())


class RespondForm(FlaskForm):
    text = TextAreaField("What was said or agreed", widget=GovTextArea(),
                         validators=[InputRequired("Enter what was said or agreed"), Length(max=10000)])
    occurred_date = GovDateField("Date", validators=[DateRequired("Enter the date of the response or meeting")])
    occurred_time = TimeField("Time", description="For example 9:30am",
                              validators=[InputRequired("Enter the time of the response or meeting")])
    method = RadioField("Send the response to the complainant?", widget=GovRadioInput(),
                        choices=[("", "No, record it only")] + list(SEND_METHODS.items()), default="",
                        validators=[Optional()])
    submit = SubmitField("Record the response", widget=GovSubmitInput())


class ExtendForm(FlaskForm):
    clock = RadioField("Which clock?", widget=GovRadioInput(), coerce=int,
                       validators=[InputRequired("Select the clock to extend")])
    length = WholeNumberField("Length of the extension", maximum=9999, example="5", validators=[InputRequired("Enter the length of the extension")],
                              description="In the clock's own units (working days)")
    reason = TextAreaField("Reason for the extension", widget=GovTextArea(), validators=[Optional(), Length(max=2000)])
    submit = SubmitField("Extend the clock", widget=GovSubmitInput())


class EscalateForm(FlaskForm):
    reason = TextAreaField("Why is it escalated?", widget=GovTextArea(),
                           validators=[InputRequired("Enter why the complaint is escalated"), Length(max=2000)],
                           description="For example: the complainant is not satisfied with the agreement offered")
    handler = SelectField("New handler", widget=GovSelect(), validators=[InputRequired("Select the new handler")])
    requested_date = GovDateField("Date the complainant asked",
                                  validators=[DateRequired("Enter the date the complainant asked to escalate")])
    requested_time = TimeField("Time the complainant asked", description="For example 9:30am",
                               validators=[InputRequired("Enter the time the complainant asked to escalate")])
    submit = SubmitField("Escalate", widget=GovSubmitInput())


class AssignForm(FlaskForm):
    handler = SelectField("Handler", widget=GovSelect(), validators=[InputRequired("Select the handler")])
    submit = SubmitField("Assign", widget=GovSubmitInput())


class CloseForm(FlaskForm):
    outcome = RadioField("Outcome", widget=GovRadioInput(), choices=list(OUTCOMES.items()),
                         validators=[InputRequired("Select the outcome: upheld, partly upheld or not upheld")])
    agreement_text = TextAreaField("Agreement (optional)", widget=GovTextArea(), validators=[Optional(), Length(max=10000)],
                                   description="The resolution or remedy agreed with the complainant")
    remedy = TextAreaField("Remedy (optional)", widget=GovTextArea(), validators=[Optional(), Length(max=10000)])
    learning_action = TextAreaField("Learning action (optional)", widget=GovTextArea(),
                                    validators=[Optional(), Length(max=10000)],
                                    description="What the service will change because of this complaint")
    closed_date = GovDateField("Date closed", validators=[DateRequired("Enter the date it was closed")])
    closed_time = TimeField("Time closed", description="For example 9:30am",
                            validators=[InputRequired("Enter the time it was closed")])
    method = RadioField("Send a record of the agreement?", widget=GovRadioInput(),
                        choices=[("", "No, not needed")] + list(SEND_METHODS.items()), default="",
                        validators=[Optional()])
    submit = SubmitField("Close the complaint", widget=GovSubmitInput())


class ReopenForm(FlaskForm):
    reason = TextAreaField("Why is it reopened?", widget=GovTextArea(),
                           validators=[InputRequired("Enter why the complaint is reopened"), Length(max=2000)])
    submit = SubmitField("Reopen", widget=GovSubmitInput())


