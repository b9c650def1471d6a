"""Forms of the change request process. Choices that come from the rules (types, routes) are
filled in by the routes from the rules in force, so a site's rules file changes the form too."""
from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (GovCheckboxInput, GovDateInput, GovFileInput, GovRadioInput,
                                                GovSelect, GovSubmitInput, GovTextArea, GovTextInput)
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, Regexp

from ..money import parse_pounds
from ..formfields import GovDateField, WholeNumberField
from .models import CHANNELS
from .services import SORTS, STATUS_LABELS, URGENT_REASONS


class MinutesField(WholeNumberField):
    """Handling minutes: a decimal is allowed (3.5), unlike other counts."""

    def process_formdata(self, valuelist):
        self.raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if self.raw:
            try:
                self.data = float(self.raw)
            except ValueError:
                self.data = None
            if self.data is None or not (0 < self.data <= 600):
                self.data = None
                raise ValueError(f"{self.label.text} must be a number of minutes between 0 and 600, like 3.5")


class PoundsField(StringField):
    widget = GovTextInput()

    def process_formdata(self, valuelist):
        self.raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if self.raw:
            try:
                self.data = parse_pounds(self.raw)
            except ValueError:
                raise ValueError("Cost must be an amount in pounds and pence, like 1250 or 1250.50") from None
            if self.data < 0:
                self.data = None
                raise ValueError("Cost must be 0 or more")

    def _value(self):
        if getattr(self, "raw", None):
            return self.raw
        return "" if self.data is None else f"{self.data / 100:.2f}"


class ChangeRequestForm(FlaskForm):
    title = StringField("Title", widget=GovTextInput(), validators=[Length(max=200, message="Title must be 200 characters or fewer")])
    requestor_name = StringField("Requestor", widget=GovTextInput(), description="The person asking for the change",
                                 validators=[Length(max=120, message="Requestor must be 120 characters or fewer")])
    directorate = StringField("Directorate", widget=GovTextInput(), description="For example Communities",
                              validators=[Length(max=120, message="Directorate must be 120 characters or fewer")])
    request_type = RadioField("Type of change", widget=GovRadioInput(), validators=[Optional()], validate_choice=False)
    route = RadioField("Route", widget=GovRadioInput(), validators=[Optional()], validate_choice=False)
    urgent_reason = RadioField("Urgent route only: why must the CSC deal with it in a shorter time?", widget=GovRadioInput(),
                               choices=list(URGENT_REASONS.items()), validators=[Optional()], validate_choice=False)
    urgent_detail = TextAreaField("Urgent route only: details of the urgency", widget=GovTextArea(),
                                  validators=[Length(max=4000)])
    minor_no_resources = BooleanField("Minor route only: the change does not affect resources or funding",
                                      widget=GovCheckboxInput())
    minor_directorate_process = BooleanField("Minor route only: the change has been through the Directorate change process",
                                             widget=GovCheckboxInput())
    description = TextAreaField("Description", widget=GovTextArea(), validators=[Length(max=8000)])
    required_by = GovDateField("Required-by date", description="For example, 27 3 2017")
    volume_phone = WholeNumberField("Phone calls per week")
    volume_email = WholeNumberField("Emails per week")
    volume_post = WholeNumberField("Letters per week")
    volume_counter = WholeNumberField("Counter visits per week")
    volume_online = WholeNumberField("Online contacts per week")
    duration = StringField("Duration", widget=GovTextInput(), description="For example, 6 weeks from 1 May, or permanent",
                           validators=[Length(max=200, message="Duration must be 200 characters or fewer")])
    implementation_plan = TextAreaField("Implementation plan", widget=GovTextArea(), validators=[Length(max=8000)])
    script_design = TextAreaField("Script design", widget=GovTextArea(),
                                  description="What advisors will say to customers", validators=[Length(max=8000)])
    briefings = TextAreaField("Briefings", widget=GovTextArea(), validators=[Length(max=8000)])
    training = TextAreaField("Training", widget=GovTextArea(), validators=[Length(max=8000)])
    attachment = FileField("Add an attachment (optional)", widget=GovFileInput(),
                           description="A PDF, JPG or PNG, smaller than 10 MB")
    save = SubmitField("Save as draft", widget=GovSubmitInput())
    submit = SubmitField("Submit request", widget=GovSubmitInput())

    volume_fields = tuple(f"volume_{c}" for c, _ in CHANNELS)

    def data_for_service(self) -> dict:
        names = ("title", "requestor_name", "directorate", "request_type", "route", "urgent_reason", "urgent_detail",
                 "minor_no_resources", "minor_directorate_process", "description", "required_by", "duration",
                 "implementation_plan", "script_design", "briefings", "training", *self.volume_fields)
        data = {n: getattr(self, n).data for n in names}
        for n in ("request_type", "route", "urgent_reason"):
            data[n] = data[n] or ""
        return data


class AssessmentForm(FlaskForm):
    cost = PoundsField("Cost (£)", description="The cost to the CSC, in pounds; 0 if none")
    performance_levels = TextAreaField("Performance levels affected", widget=GovTextArea(), validators=[Length(max=4000)])
    risk_assessment = TextAreaField("Risk assessment", widget=GovTextArea(), validators=[Length(max=4000)])
    funding = TextAreaField("Funding", widget=GovTextArea(), validators=[Length(max=4000)])
    prioritisation = TextAreaField("Prioritisation against other work", widget=GovTextArea(), validators=[Length(max=4000)])
    change_control = TextAreaField("Change control", widget=GovTextArea(), validators=[Length(max=4000)])
    extra_contacts_per_week = WholeNumberField("Extra contacts per week",
                                               description="From the requestor's volumes unless you expect otherwise")
    handling_minutes = MinutesField("Handling time per contact (minutes)")
    varies_sla = BooleanField("Agreeing this change varies the SLA (a variation will be recorded after sign-off)",
                              widget=GovCheckboxInput())
    decision = RadioField("Decision", widget=GovRadioInput(),
                          choices=[("agree", "Agree: send for sign-off"), ("reject", "Reject")],
                          validators=[InputRequired("Select agree or reject")])
    rejection_reason = TextAreaField("Reason for rejecting", widget=GovTextArea(),
                                     description="Needed when you reject", validators=[Length(max=4000)])
    submit = SubmitField("Record the assessment", widget=GovSubmitInput())

    def data_for_service(self) -> dict:
        data = {n: getattr(self, n).data for n in ("performance_levels", "risk_assessment", "funding", "prioritisation",
                                                  "change_control", "extra_contacts_per_week", "handling_minutes",
                                                  "varies_sla", "decision", "rejection_reason")}
        data["cost_pence"] = self.cost.data
        return data


class SignOffForm(FlaskForm):
    party = RadioField("Signing for", widget=GovRadioInput(), validators=[InputRequired("Select who you are signing for")],
                       validate_choice=False)
    comment = TextAreaField("Comment (optional)", widget=GovTextArea(), validators=[Length(max=2000)])
    submit = SubmitField("Sign off", widget=GovSubmitInput())


class StatusForm(FlaskForm):
    status = RadioField("New status", widget=GovRadioInput(), validators=[InputRequired("Select the new status")],
                        validate_choice=False)
    go_live_on = GovDateField("Implementation date")
    briefing_on = GovDateField("Date of staff briefings and training")
    implemented_on = GovDateField("Date implemented")
    implementation_notes = TextAreaField("What was implemented", widget=GovTextArea(), validators=[Length(max=4000)])
    reviewed_on = GovDateField("Date of the post-implementation review")
    review_findings = TextAreaField("Findings of the review", widget=GovTextArea(), validators=[Length(max=4000)])
    later_assessment = TextAreaField("Later assessment under the variation process", widget=GovTextArea(),
                                     validators=[Length(max=4000)])
    withdrawn_reason = TextAreaField("Why it is withdrawn", widget=GovTextArea(), validators=[Length(max=4000)])
    submit = SubmitField("Change the status", widget=GovSubmitInput())


class VariationForm(FlaskForm):
    key = StringField("Variation ID (optional)", widget=GovTextInput(),
                      description="Letters, numbers, dots and hyphens; left empty, one is made from the request",
                      validators=[Optional(), Length(max=80), Regexp(r"^[A-Za-z0-9._-]+$",
                                  message="Variation ID must only include letters, numbers, dots, hyphens and underscores")])
    effective_from = GovDateField("Effective from", validators=[InputRequired("Enter the date the variation takes effect")])
    agreed_by = StringField("Agreed by", widget=GovTextInput(), validators=[InputRequired("Enter who agreed it"), Length(max=300)])
    reason = TextAreaField("Reason", widget=GovTextArea(), validators=[InputRequired("Enter the reason"), Length(max=2000)])
    changes = TextAreaField("What changes", widget=GovTextArea(),
                            description="One a line: the rule's key path, a colon, the new value. "
                                        "For example kpis.answered_calls.target: 90",
                            validators=[InputRequired("Enter at least one change"), Length(max=4000)])
    submit = SubmitField("Record the variation", widget=GovSubmitInput())


class NoticeForm(FlaskForm):
    title = StringField("What is changing", widget=GovTextInput(),
                        validators=[InputRequired("Enter what is changing"), Length(max=200)])
    what_changes = TextAreaField("Details of the change", widget=GovTextArea(),
                                 validators=[InputRequired("Enter the details of the change"), Length(max=4000)])
    change_on = GovDateField("When it changes", validators=[InputRequired("Enter the date it changes")])
    effect_on_csc = TextAreaField("Effect on the CSC's work", widget=GovTextArea(),
                                  validators=[InputRequired("Enter the effect on the CSC's work"), Length(max=4000)])
    submit = SubmitField("Publish the notice", widget=GovSubmitInput())


class RegisterFilterForm(FlaskForm):
    """A GET form: no CSRF needed, nothing changes."""

    class Meta:
        csrf = False

    q = StringField("Search", widget=GovTextInput(), description="Reference, title, requestor or directorate",
                    validators=[Optional(), Length(max=100)])
    status = SelectField("Status", widget=GovSelect(), choices=[("", "Any status")] + list(STATUS_LABELS.items()),
                         validators=[Optional()])
    route = SelectField("Route", widget=GovSelect(), validators=[Optional()])
    type = SelectField("Type", widget=GovSelect(), validators=[Optional()])
    directorate = SelectField("Directorate", widget=GovSelect(), validators=[Optional()], validate_choice=False)
    short_notice = SelectField("Notice", widget=GovSelect(),
                               choices=[("", "Any notice"), ("yes", "Short notice"), ("no", "Full notice")],
                               validators=[Optional()])
    sort = SelectField("Sort by", widget=GovSelect(), choices=list(SORTS.items()), validators=[Optional()])
