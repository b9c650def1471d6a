"""Forms for the queue, intake, evidence and issuing."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (GovCheckboxesInput, GovCheckboxInput, GovDateInput, GovFileInput,
                                                GovRadioInput, GovSelect, GovSubmitInput, GovTextArea, GovTextInput)
from wtforms import (BooleanField, DateField, IntegerField, RadioField, SelectField, SelectMultipleField, StringField,
                     SubmitField, TextAreaField)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from ..formfields import DateRequired, GovDateField, TimeField
from .models import CHANNELS, KINDS, STATUSES, TYPES


class QueueFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Search", widget=GovTextInput(), validators=[Optional(), Length(max=60)],
                    description="Reference, VRM, postcode or surname")
    status = SelectField("Status", widget=GovSelect(), validators=[Optional()],
                         choices=[("", "Any open status")] + [(k, v) for k, v in STATUSES.items()
                                                                if k in ("received", "awaiting_evidence", "ready")])
    zone = SelectField("Zone", widget=GovSelect(), validators=[Optional()], choices=[("", "Any zone")])
    channel = SelectField("Channel", widget=GovSelect(), validators=[Optional()],
                          choices=[("", "Any channel")] + list(CHANNELS.items()))
    assignee = SelectField("Assigned to", widget=GovSelect(), validators=[Optional()],
                           choices=[("", "Anyone"), ("me", "Me"), ("none", "Nobody")])
    sla = SelectField("Clock", widget=GovSelect(), validators=[Optional()],
                      choices=[("", "Any"), ("on_track", "On track"), ("at_risk", "At risk"), ("breached", "Breached")])


class IntakeForm(FlaskForm):
    kind = RadioField("Which permit?", widget=GovRadioInput(), choices=list(KINDS.items()),
                      validators=[InputRequired("Select the kind of permit")])
    app_type = RadioField("New or renewal?", widget=GovRadioInput(), choices=list(TYPES.items()),
                          validators=[InputRequired("Select new or renewal")])
    channel = RadioField("How did it arrive?", widget=GovRadioInput(), choices=list(CHANNELS.items()),
                         validators=[InputRequired("Select how the application arrived")])
    received_date = GovDateField("Date received", description="For post, the day it arrived. For example, 27 3 2026",
                              validators=[DateRequired("Enter the date received")])
    received_time = TimeField("Time received", description="For example 9:30am",
                              validators=[InputRequired("Enter the time received")])
    vrm = StringField("Vehicle registration", widget=GovTextInput(), validators=[Optional(), Length(max=12)],
                      description="Resident permits only. For example AB12 CDE")
    vehicle_make = StringField("Vehicle make", widget=GovTextInput(), validators=[Optional(), Length(max=40)])
    vehicle_colour = StringField("Vehicle colour", widget=GovTextInput(), validators=[Optional(), Length(max=30)])
    quantity = IntegerField("How many visitor permits?", widget=GovTextInput(), validators=[Optional()],
                            description="Visitor permits only")
    confirm_duplicate = BooleanField("Log it anyway: this is not a duplicate", widget=GovCheckboxInput(),
                                     validators=[Optional()])
    submit = SubmitField("Log the application", widget=GovSubmitInput())

    def validate_quantity(self, field):
        if self.kind.data == "visitor":
            if field.data is None:
                raise ValidationError("Enter how many visitor permits")
            if field.data < 1 or field.data > 100:
                raise ValidationError("How many visitor permits must be between 1 and 100")


class EvidenceForm(FlaskForm):
    evidence_type = SelectField("Evidence", widget=GovSelect(), validators=[InputRequired("Select the evidence")])
    received_date = GovDateField("Date received", validators=[DateRequired("Enter the date the evidence was received")])
    received_time = TimeField("Time received", description="For example 9:30am",
                              validators=[InputRequired("Enter the time the evidence was received")])
    description = StringField("Description (optional)", widget=GovTextInput(), validators=[Optional(), Length(max=200)],
                              description="For example: council tax bill, April 2026")
    scan = FileField("Scan (optional)", widget=GovFileInput(), description="PDF, JPG or PNG, smaller than 10 MB")
    submit = SubmitField("Add evidence", widget=GovSubmitInput())


class CheckEvidenceForm(FlaskForm):
    outcome = RadioField("Outcome", widget=GovRadioInput(), choices=[("accept", "Accept"), ("reject", "Reject")],
                         validators=[InputRequired("Select accept or reject")])
    reason = StringField("Reason for rejecting", widget=GovTextInput(), validators=[Optional(), Length(max=500)])
    valid_until = GovDateField("Valid until (optional)", validators=[Optional()])
    submit = SubmitField("Save check", widget=GovSubmitInput())


class RequestEvidenceForm(FlaskForm):
    items = SelectMultipleField("What is missing?", widget=GovCheckboxesInput(),
                                validators=[InputRequired("Select the evidence to ask for")])
    method = RadioField("How to ask", widget=GovRadioInput(), choices=[("letter", "Letter"), ("email", "Email")],
                        validators=[InputRequired("Select letter or email")])
    note = TextAreaField("Note to the customer (optional)", widget=GovTextArea(), validators=[Optional(), Length(max=1000)])
    submit = SubmitField("Request evidence", widget=GovSubmitInput())


class PauseForm(FlaskForm):
    reason = StringField("What are you waiting for?", widget=GovTextInput(),
                         validators=[InputRequired("Enter what you are waiting for"), Length(max=300)],
                         description="For example: payment, or the customer to confirm the vehicle")
    submit = SubmitField("Pause the clock", widget=GovSubmitInput())


class IssueForm(FlaskForm):
    payment_reference = StringField("Payment reference", widget=GovTextInput(),
                                    validators=[Optional(), Length(max=60)],
                                    description="From the council's payment system. Never enter card details.")
    submit = SubmitField("Issue", widget=GovSubmitInput())

    def validate_payment_reference(self, field):
        import re

        digits = re.sub(r"\D", "", field.data or "")
        if len(digits) >= 13:
            raise ValidationError("That looks like a card number: enter the payment system's reference instead")


class CloseForm(FlaskForm):
    outcome = RadioField("Outcome", widget=GovRadioInput(),
                         choices=[("refused", "Refuse the application"), ("withdrawn", "Withdrawn by the customer")],
                         validators=[InputRequired("Select refuse or withdrawn")])
    reason = TextAreaField("Reason", widget=GovTextArea(), validators=[InputRequired("Enter the reason"), Length(max=1000)])
    submit = SubmitField("Close the application", widget=GovSubmitInput())


class AssignForm(FlaskForm):
    assignee = SelectField("Assign to", widget=GovSelect(), validators=[Optional()])
    submit = SubmitField("Assign", widget=GovSubmitInput())


class CustomerSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Find the household", widget=GovTextInput(), validators=[Optional(), Length(max=80)],
                    description="Name, postcode, customer reference, permit number or VRM")
