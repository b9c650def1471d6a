"""Forms for print batches, reprints, the postage ledger and stationery.

Fields parse what was typed and name themselves in their errors; the rules (is there anything to
print, may this person approve) live in the services, whose errors name the field to mark.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (GovCheckboxInput, GovRadioInput, GovSelect, GovSubmitInput,
                                                GovTextArea, GovTextInput)
from wtforms import BooleanField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ..formfields import DateRequired, GovDateField, PoundsField, WholeNumberField
from ..money import parse_pounds
from .models import POSTAGE_CATEGORIES


class BatchForm(FlaskForm):
    """Which permits go in the batch. Read from the query string (no CSRF) for the preview, posted to produce."""

    kind = RadioField("Permits", widget=GovRadioInput(), default="",
                      choices=[("", "Resident and visitor"), ("resident", "Resident only"), ("visitor", "Visitor only")],
                      validators=[Optional()])
    zone = SelectField("Zone", widget=GovSelect(), choices=[("", "All zones")], default="", validators=[Optional()])
    issued_from = GovDateField("Issued from", validators=[Optional()])
    issued_to = GovDateField("Issued to", validators=[Optional()])
    include_letters = BooleanField("Include letters waiting to be posted", widget=GovCheckboxInput(), default=True)
    submit = SubmitField("Produce the batch", widget=GovSubmitInput())


class ReprintForm(FlaskForm):
    reason = TextAreaField("Reason for the reprint", widget=GovTextArea(),
                           validators=[InputRequired("Enter the reason for the reprint"), Length(max=500)])
    submit = SubmitField("Reprint", widget=GovSubmitInput())


class PostageEntryForm(FlaskForm):
    period = SelectField("Month", widget=GovSelect(), validators=[InputRequired("Choose the month")])
    category = RadioField("Category", widget=GovRadioInput(), choices=list(POSTAGE_CATEGORIES.items()),
                          validators=[InputRequired("Choose a category")])
    amount = PoundsField("Amount", validators=[Optional()])
    items = WholeNumberField("Items posted (optional)", validators=[Optional()])
    note = TextAreaField("What the postage was for", widget=GovTextArea(), validators=[Length(max=500)])
    submit = SubmitField("Add to the ledger", widget=GovSubmitInput())


class StationeryOrderForm(FlaskForm):
    stock_code = SelectField("Stock item", widget=GovSelect(), validators=[Optional()])
    item = StringField("Item (if not a stock item)", widget=GovTextInput(), validators=[Length(max=120)])
    quantity = WholeNumberField("Quantity", validators=[Optional()])
    cost = PoundsField("Cost", validators=[Optional()])
    ordered_on = GovDateField("Ordered on", validators=[DateRequired("Enter the date it was ordered")])
    note = TextAreaField("Note (optional)", widget=GovTextArea(), validators=[Length(max=500)])
    submit = SubmitField("Log the order", widget=GovSubmitInput())


class StockCountForm(FlaskForm):
    stock_code = SelectField("Stock item", widget=GovSelect(), validators=[InputRequired("Choose a stock item")])
    counted = WholeNumberField("Number counted", validators=[Optional()])
    note = StringField("Note (optional)", widget=GovTextInput(), validators=[Length(max=200)])
    submit = SubmitField("Record the count", widget=GovSubmitInput())


class ActionForm(FlaskForm):
    """Approve or receive: a button and the CSRF token."""

    submit = SubmitField("Confirm", widget=GovSubmitInput())
