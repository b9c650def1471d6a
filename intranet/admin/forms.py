from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (GovCheckboxesInput, GovPasswordInput, GovSelect,
                                                GovSubmitInput, GovTextInput)
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import Email, InputRequired, Length, Optional, Regexp, ValidationError

from ..auth.roles import ROLE_LABELS


class MultiCheckboxField(SelectMultipleField):
    widget = GovCheckboxesInput()


class UserForm(FlaskForm):
    username = StringField("Username", widget=GovTextInput(),
                           description="Letters, numbers, dots, hyphens and underscores; as in the council's directory",
                           validators=[InputRequired("Enter a username"), Length(max=80, message="Username must be 80 characters or fewer"),
                                       Regexp(r"^[A-Za-z0-9._-]+$", message="Username must only include letters, numbers, dots, hyphens and underscores")])
    full_name = StringField("Full name", widget=GovTextInput(),
                            validators=[InputRequired("Enter the full name"), Length(max=120, message="Full name must be 120 characters or fewer")])
    email = StringField("Email address", widget=GovTextInput(),
                        validators=[Optional(), Email("Enter an email address in the correct format, like name@oxfordshire.gov.uk"),
                                    Length(max=200)])
    roles = MultiCheckboxField("Roles", choices=list(ROLE_LABELS.items()),
                               description="Select all that apply")
    password = PasswordField("Password", widget=GovPasswordInput(),
                             description="At least 12 characters",
                             validators=[InputRequired("Enter a password"), Length(min=12, message="Password must be at least 12 characters")])
    submit = SubmitField("Save user", widget=GovSubmitInput())

    def validate_roles(self, field):
        if not field.data:
            raise ValidationError("Select at least one role")


class EditUserForm(UserForm):
    password = None
    username = None


class UserFilterForm(FlaskForm):
    """A GET form: no CSRF needed, nothing changes."""

    class Meta:
        csrf = False

    q = StringField("Name or username", widget=GovTextInput(), validators=[Optional(), Length(max=80)])
    role = SelectField("Role", widget=GovSelect(), choices=[("", "Any role")] + list(ROLE_LABELS.items()),
                       validators=[Optional()])
    status = SelectField("Status", widget=GovSelect(),
                         choices=[("", "Any status"), ("active", "Active"), ("inactive", "Deactivated")],
                         validators=[Optional()])


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    actor = StringField("Who (username)", widget=GovTextInput(), validators=[Optional(), Length(max=80)])
    subject_type = StringField("Record type", widget=GovTextInput(), validators=[Optional(), Length(max=60)],
                               description="For example user, application, permit")
    date_from = StringField("From date", widget=GovTextInput(), validators=[Optional()],
                            description="For example 2026-04-01")
    date_to = StringField("To date", widget=GovTextInput(), validators=[Optional()],
                          description="For example 2026-04-30")
