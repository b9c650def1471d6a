"""Forms for what happens after a permit is issued: changes, refunds, renewals, partners, enforcement.

Fields only parse what was typed and name the field in the error; the rules (is a refund due, is a
collection within the agreement) live in the services, whose CaseworkError names the field to
put its message on.
"""
from __future__ import annotations

from datetime import date, datetime, time

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (GovDateInput, GovRadioInput, GovSelect, GovSubmitInput, GovTextArea,
                                                GovTextInput)
from wtforms import DateField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Email, InputRequired, Length, Optional

from ..money import parse_pounds
from ..formfields import GovDateField, PoundsField, WholeNumberField
from ..timefmt import LONDON
from .after_issue import LOST_OR_STOLEN
from .models import CHANNELS, KINDS


class TimeField(StringField):
    """A time of day as people type it: 14:30, 2:30pm, 9am."""

    widget = GovTextInput()

    def process_formdata(self, valuelist):
        self.raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if self.raw:
            self.data = parse_time(self.raw)
            if self.data is None:
                raise ValueError(f"{self.label.text} must be a time, like 14:30 or 2:30pm")

    def _value(self):
        if getattr(self, "raw", None):
            return self.raw
        return self.data.strftime("%H:%M") if self.data else ""


def parse_time(text: str) -> time | None:
    cleaned = text.lower().replace(".", ":").replace(" ", "")
    suffix = ""
    if cleaned.endswith(("am", "pm")):
        cleaned, suffix = cleaned[:-2], cleaned[-2:]
    parts = cleaned.split(":") if cleaned else []
    if not 1 <= len(parts) <= 2 or not all(p.isdigit() for p in parts):
        return None
    hour, minute = int(parts[0]), int(parts[1]) if len(parts) == 2 else 0
    if suffix:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


class ChangeVehicleForm(FlaskForm):
    vrm = StringField("New vehicle registration", widget=GovTextInput(),
                      description="As on the V5C, for example AB12 CDE",
                      validators=[InputRequired("Enter the new vehicle registration"),
                                  Length(max=12, message="Vehicle registration must be 12 characters or fewer")])
    note = TextAreaField("Note (optional)", widget=GovTextArea(), validators=[Optional(), Length(max=500)],
                         description="For example, the V5C seen at the counter")
    submit = SubmitField("Change the vehicle", widget=GovSubmitInput())


class ReplaceForm(FlaskForm):
    what = RadioField("Was the permit lost or stolen?", widget=GovRadioInput(), choices=list(LOST_OR_STOLEN.items()),
                      validators=[InputRequired("Select whether the permit was lost or stolen")])
    payment_reference = StringField("Payment reference", widget=GovTextInput(),
                                    description="From the council's payment system",
                                    validators=[Optional(), Length(max=60, message="Payment reference must be 60 "
                                                                                    "characters or fewer")])
    note = TextAreaField("Note (optional)", widget=GovTextArea(), validators=[Optional(), Length(max=500)],
                         description="For example, the police crime reference")
    submit = SubmitField("Issue a replacement", widget=GovSubmitInput())


class CancelForm(FlaskForm):
    reason = TextAreaField("Why is the permit cancelled?", widget=GovTextArea(),
                           validators=[InputRequired("Enter why the permit is cancelled"),
                                       Length(max=500, message="Reason must be 500 characters or fewer")])
    submit = SubmitField("Cancel the permit", widget=GovSubmitInput())


class RefundForm(FlaskForm):
    refund_from = GovDateField("Refund from", validators=[Optional()],
                               description="The day the customer stopped using, or returned, the permit. "
                                           "For example, 27 3 2026")
    reason = TextAreaField("Why does the customer want a refund?", widget=GovTextArea(),
                           validators=[InputRequired("Enter why the customer wants a refund"),
                                       Length(max=500, message="Reason must be 500 characters or fewer")])
    amount = PoundsField("Different amount agreed (optional)",
                         description="Leave blank to refund the amount the rules give", validators=[Optional()])
    submit = SubmitField("Continue", widget=GovSubmitInput())


class RefundDecisionForm(FlaskForm):
    decision = RadioField("Decision", widget=GovRadioInput(),
                          choices=[("approve", "Approve the refund"), ("refuse", "Refuse the refund")],
                          validators=[InputRequired("Select approve or refuse")])
    note = TextAreaField("Note", widget=GovTextArea(), description="Needed when you refuse: the customer will ask why",
                         validators=[Optional(), Length(max=500, message="Note must be 500 characters or fewer")])
    submit = SubmitField("Save decision", widget=GovSubmitInput())


class RefundPaidForm(FlaskForm):
    payment_reference = StringField("Refund payment reference", widget=GovTextInput(),
                                    validators=[InputRequired("Enter the payment reference of the refund"),
                                                Length(max=60, message="Payment reference must be 60 characters or "
                                                                       "fewer")])
    submit = SubmitField("Mark as paid", widget=GovSubmitInput())


class RenewalForm(FlaskForm):
    channel = SelectField("How did the customer ask to renew?", widget=GovSelect(), choices=list(CHANNELS.items()),
                          default="post", validators=[InputRequired("Select how the customer asked to renew")])
    submit = SubmitField("Start renewal", widget=GovSubmitInput())


class PartnerAgreementForm(FlaskForm):
    organisation = StringField("Organisation", widget=GovTextInput(),
                               validators=[InputRequired("Enter the organisation"), Length(max=120)])
    contact_name = StringField("Contact name", widget=GovTextInput(),
                               validators=[InputRequired("Enter the contact's name"), Length(max=120)])
    contact_email = StringField("Contact email address (optional)", widget=GovTextInput(),
                                validators=[Optional(), Email("Enter an email address in the correct format, like "
                                                              "name@example.org"), Length(max=200)])
    permit_kind = RadioField("What do they collect?", widget=GovRadioInput(), choices=list(KINDS.items()),
                             default="visitor", validators=[InputRequired("Select what kind of permits they collect")])
    max_per_collection = WholeNumberField("Most permits per collection",
                                          validators=[InputRequired("Enter the most permits per collection")])
    max_per_year = WholeNumberField("Most permits a year",
                                    description="Counted per agreement year, from the start date",
                                    validators=[InputRequired("Enter the most permits a year")])
    owner_name = StringField("Agreement owner at the council", widget=GovTextInput(),
                             validators=[InputRequired("Enter who owns the agreement at the council"), Length(max=120)])
    valid_from = GovDateField("Agreement starts", validators=[Optional()], description="For example, 1 4 2026")
    valid_to = GovDateField("Agreement ends", validators=[Optional()], description="For example, 31 3 2027")
    notes = TextAreaField("Notes (optional)", widget=GovTextArea(), validators=[Optional(), Length(max=2000)])
    submit = SubmitField("Save agreement", widget=GovSubmitInput())


class CollectionForm(FlaskForm):
    collected_on = GovDateField("Date collected", validators=[Optional()], description="For example, 27 3 2026")
    collected_time = TimeField("Time collected", description="For example, 14:30 or 2:30pm",
                               validators=[InputRequired("Enter the time collected")])
    quantity = WholeNumberField("Number of permits", validators=[InputRequired("Enter how many permits were collected")])
    collected_by = StringField("Collected by", widget=GovTextInput(), description="Name and, for the police, collar number",
                               validators=[InputRequired("Enter the name of the person who collected them"),
                                           Length(max=120)])
    note = TextAreaField("Note (optional)", widget=GovTextArea(), validators=[Optional(), Length(max=500)])
    submit = SubmitField("Record collection", widget=GovSubmitInput())

    def collected_at(self) -> datetime | None:
        if self.collected_on.data is None or self.collected_time.data is None:
            return None
        return datetime.combine(self.collected_on.data, self.collected_time.data, LONDON)


class EnforcementForm(FlaskForm):
    """A GET form: nothing changes, so no CSRF token (the URL can be bookmarked and shared)."""

    class Meta:
        csrf = False

    vrm = StringField("Vehicle registration", widget=GovTextInput(), description="For example AB12 CDE",
                      validators=[Optional(), Length(max=12, message="Vehicle registration must be 12 characters "
                                                                      "or fewer")])
    on = GovDateField("Date", validators=[Optional()], description="For example, 27 3 2026")
    zone = SelectField("Zone", widget=GovSelect(), choices=[("", "Any zone")], validators=[Optional()])
