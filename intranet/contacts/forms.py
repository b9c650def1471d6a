"""Forms of the contacts area. Fields only parse what was typed and name the field in the error; the
rules (categories from the SLA rules, PCN format, limits, who may approve) live in the services,
whose errors name the field to put their message on."""
from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (GovCheckboxInput, GovRadioInput, GovSelect, GovSubmitInput,
                                                GovTextArea, GovTextInput)
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ..money import parse_pounds
from .models import CHANNELS


class WholeMinutesField(StringField):
    """Handling time in whole minutes; what was typed is shown again with the error."""

    widget = GovTextInput()

    def process_formdata(self, valuelist):
        self.raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if self.raw:
            if not self.raw.isdigit() or len(self.raw) > 6:
                raise ValueError(f"{self.label.text} must be a whole number of minutes, like 3")
            self.data = int(self.raw)

    def _value(self):
        return getattr(self, "raw", None) or ("" if self.data is None else str(self.data))


class PoundsField(StringField):
    """An amount typed in pounds ("35", "35.00", "£35.00"), held as pence in `pence`."""

    widget = GovTextInput()
    pence: int | None = None

    def process_formdata(self, valuelist):
        self.raw = (valuelist[0] if valuelist else "").strip()
        self.data = self.raw
        self.pence = None
        if self.raw:
            try:
                self.pence = parse_pounds(self.raw)
            except ValueError:
                raise ValueError(f"{self.label.text} must be an amount in pounds and pence, like 35.00") from None

    def _value(self):
        return getattr(self, "raw", None) or ""


class EnquiryForm(FlaskForm):
    channel = RadioField("How did the customer contact us?", choices=list(CHANNELS.items()), default="phone",
                         validate_choice=False,
                         widget=GovRadioInput(), validators=[InputRequired("Select how the customer contacted us")])
    category = SelectField("What was it about?", choices=[], widget=GovSelect(), validate_choice=False,
                           validators=[InputRequired("Select what the enquiry was about")])
    reference = StringField("Customer or application reference (optional)", widget=GovTextInput(),
                            description="For example C000123 or A0001234",
                            validators=[Optional(), Length(max=20, message="Reference must be 20 characters or fewer")])
    summary = StringField("Summary of the enquiry", widget=GovTextInput(),
                          validators=[InputRequired("Enter a summary of the enquiry"),
                                      Length(max=2000, message="Summary must be 2000 characters or fewer")])
    outcome = StringField("Outcome (optional)", widget=GovTextInput(),
                          validators=[Optional(), Length(max=2000, message="Outcome must be 2000 characters or fewer")])
    handling_minutes = WholeMinutesField("Handling time in minutes",
                                         validators=[InputRequired("Enter the handling time in whole minutes, like 3")])
    needs_reply = BooleanField("Needs a reply", widget=GovCheckboxInput())
    submit = SubmitField("Log contact", widget=GovSubmitInput())


class ReplyForm(FlaskForm):
    note = TextAreaField("How was the customer answered?", widget=GovTextArea(),
                         validators=[InputRequired("Enter how the customer was answered"),
                                     Length(max=2000, message="Answer must be 2000 characters or fewer")])
    submit = SubmitField("Record the reply", widget=GovSubmitInput())


class VolumesForm(FlaskForm):
    class Meta:
        csrf = False

    period = RadioField("Show volumes by", choices=[("day", "Day"), ("week", "Week"), ("month", "Month")],
                        default="week", widget=GovRadioInput(), validators=[Optional()], validate_choice=False)


class CashPaymentForm(FlaskForm):
    pcn = StringField("Penalty charge notice number", widget=GovTextInput(),
                      validators=[InputRequired("Enter the penalty charge notice number"),
                                  Length(max=20, message="Penalty charge notice number must be 20 characters or fewer")])
    amount = PoundsField("Amount taken", validators=[InputRequired("Enter the amount taken in pounds and pence, like 35.00")])
    payer_name = StringField("Name of the person paying", widget=GovTextInput(),
                             validators=[InputRequired("Enter the name of the person paying"),
                                         Length(max=120, message="Payer's name must be 120 characters or fewer")])
    reason = TextAreaField("Why was the payment taken in cash by exception?", widget=GovTextArea(),
                           validators=[InputRequired("Enter why the payment was taken in cash by exception"),
                                       Length(max=2000, message="Reason must be 2000 characters or fewer")])
    submit = SubmitField("Record cash payment", widget=GovSubmitInput())


class ApproveForm(FlaskForm):
    submit = SubmitField("Approve receipt", widget=GovSubmitInput())


class ReverseForm(FlaskForm):
    reason = TextAreaField("Why is the receipt being reversed?", widget=GovTextArea(),
                           validators=[InputRequired("Enter why the receipt is being reversed"),
                                       Length(max=2000, message="Reason must be 2000 characters or fewer")])
    submit = SubmitField("Record reversal", widget=GovSubmitInput())


class CashUpForm(FlaskForm):
    counted = PoundsField("Cash counted", validators=[InputRequired("Enter the cash counted, in pounds and pence, like 35.00")])
    explanation = TextAreaField("Explanation of any difference", widget=GovTextArea(),
                                description="Required when the cash counted differs from the recorded total",
                                validators=[Optional(), Length(max=2000, message="Explanation must be 2000 characters or fewer")])
    banked_by = SelectField("Banked by", choices=[], widget=GovSelect(), validate_choice=False,
                            validators=[InputRequired("Select who banked the cash")])
    bag_number = StringField("Bank bag number", widget=GovTextInput(),
                             validators=[InputRequired("Enter the bank bag number"),
                                         Length(max=40, message="Bank bag number must be 40 characters or fewer")])
    # What the person closing saw: the day is closed only if its receipts are still exactly these.
    expected_count = HiddenField()
    expected_total = HiddenField()
    submit = SubmitField("Close the day's cash-up", widget=GovSubmitInput())
