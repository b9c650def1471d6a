"""Forms for zones, the gazetteer import, the zone lookup and household records.

Only what a single field can know is checked here (present, length, format); rules that need the
database or other fields (a street already in another zone, an address in no zone, email needed
for the email channel) are the services' and come back as CaseworkError naming the field.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (GovCheckboxInput, GovFileInput, GovRadioInput, GovSelect,
                                                GovSubmitInput, GovTextArea, GovTextInput)
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import AnyOf, Email, InputRequired, Length, Optional, Regexp

from .models import PREFERRED_CHANNELS


class ZoneForm(FlaskForm):
    code = StringField("Zone code", widget=GovTextInput(),
                       description="Letters and numbers as on the signs, for example JR",
                       validators=[InputRequired("Enter the zone code"),
                                   Length(max=12, message="Zone code must be 12 characters or fewer")])
    name = StringField("Zone name", widget=GovTextInput(), description="For example Jericho",
                       validators=[InputRequired("Enter the zone name"),
                                   Length(max=120, message="Zone name must be 120 characters or fewer")])
    active = BooleanField("In use: permits can be issued for this zone", widget=GovCheckboxInput(), default=True)
    submit = SubmitField("Save zone", widget=GovSubmitInput())


class StreetForm(FlaskForm):
    street = StringField("Street name", widget=GovTextInput(), description="As in the gazetteer, for example Walton Street",
                         validators=[InputRequired("Enter the street name"),
                                     Length(max=120, message="Street name must be 120 characters or fewer")])
    submit = SubmitField("Add street", widget=GovSubmitInput())


class ExclusionForm(FlaskForm):
    action = HiddenField(default="exclude")
    reason = TextAreaField("Why is the address excluded?", widget=GovTextArea(),
                           description="The advisor reads this to a customer who is refused, for example "
                                       "Car-free development under the planning agreement",
                           validators=[Length(max=200, message="Reason must be 200 characters or fewer")])
    submit = SubmitField("Exclude from the scheme", widget=GovSubmitInput())


class ImportForm(FlaskForm):
    file = FileField("CSV extract of the gazetteer", widget=GovFileInput(),
                     description="Columns: uprn, address_line1, address_line2 (optional), town (optional), postcode, "
                                 "street, zone (the zone code, may be empty). At most 10 MB here; larger files "
                                 "with the addresses import command.")
    replace = BooleanField("Replace addresses already stored (matched by UPRN)", widget=GovCheckboxInput(),
                           description="Without this, a UPRN already stored is an error")
    submit = SubmitField("Import addresses", widget=GovSubmitInput())


class LookupForm(FlaskForm):
    """A GET form: nothing changes, so no CSRF token; the URL is the bookmark."""

    class Meta:
        csrf = False

    postcode = StringField("Postcode", widget=GovTextInput(), validators=[Optional(), Length(max=10)])
    street = StringField("Street", widget=GovTextInput(), description="For example Walton Street",
                         validators=[Optional(), Length(max=120)])
    uprn = HiddenField()


class CustomerSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Name, postcode, customer reference, permit number or vehicle registration", widget=GovTextInput(),
                    validators=[Optional(), Length(max=80, message="Search must be 80 characters or fewer")])


class CustomerForm(FlaskForm):
    name = StringField("Full name", widget=GovTextInput(),
                       validators=[InputRequired("Enter the customer's full name"),
                                   Length(max=120, message="Full name must be 120 characters or fewer")])
    postcode = StringField("Postcode", widget=GovTextInput(),
                           validators=[Length(max=10, message="Postcode must be 10 characters or fewer")])
    find = SubmitField("Find addresses", widget=GovSubmitInput())
    uprn = SelectField("Address from the gazetteer", widget=GovSelect(), choices=[("", "Not in the list")],
                       validate_choice=False)
    address_line1 = StringField("Address line 1", widget=GovTextInput(),
                                validators=[Length(max=200, message="Address line 1 must be 200 characters or fewer")])
    address_line2 = StringField("Address line 2 (optional)", widget=GovTextInput(),
                                validators=[Length(max=200, message="Address line 2 must be 200 characters or fewer")])
    town = StringField("Town (optional)", widget=GovTextInput(),
                       validators=[Length(max=80, message="Town must be 80 characters or fewer")])
    email = StringField("Email address", widget=GovTextInput(),
                        validators=[Optional(), Email("Enter an email address in the correct format, like name@example.com"),
                                    Length(max=200, message="Email address must be 200 characters or fewer")])
    phone = StringField("Phone number (optional)", widget=GovTextInput(),
                        validators=[Optional(), Length(max=40, message="Phone number must be 40 characters or fewer"),
                                    Regexp(r"^[0-9 +()\-]+$", message="Phone number must only include numbers, "
                                                                       "spaces, brackets, + and -")])
    preferred_channel = RadioField("Preferred contact channel", widget=GovRadioInput(),
                                   choices=list(PREFERRED_CHANNELS.items()), default="post", validate_choice=False,
                                   validators=[AnyOf(list(PREFERRED_CHANNELS),
                                                     message="Select the preferred contact channel")])
    next = HiddenField()
    submit = SubmitField("Save household", widget=GovSubmitInput())
