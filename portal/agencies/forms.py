from __future__ import annotations

from wtforms.validators import NumberRange, ValidationError

from portal.core.codes import AgencyKind, ServiceType
from portal.core.forms import (
    BooleanField,
    DateField,
    EnumRadioField,
    EnumSelectField,
    Form,
    IntegerField,
    Optional,
    SelectField,
    SubmitField,
    TextAreaField,
    TextField,
    VersionField,
    location_id,
    max_length,
    required,
    uk_postcode,
)


def _provider_id(form, field):
    if field.data:
        try:
            location_id(form, field)
        except ValidationError as exc:
            raise ValidationError("Enter a provider ID in the regulator's format: 1- followed by numbers, like 1-101234567") from exc


class AgencyForm(Form):
    name = TextField("Name", [required("Enter the agency's name"), max_length(200, "Name")])
    kind = EnumRadioField("Kind of agency", [required("Select the kind of agency")], enum_class=AgencyKind)
    provider_ref = TextField(
        "Regulator provider ID (optional)",
        [max_length(20, "Provider ID"), _provider_id],
        description="Care providers only, for example 1-101234567",
    )
    require_two_factor = BooleanField("Everyone with a role here must use two-factor sign-in")
    submit = SubmitField("Save agency")


class EditAgencyForm(AgencyForm):
    active = BooleanField("The agency is active", description="People in an inactive agency cannot act for it.")
    version = VersionField()


class ServiceForm(Form):
    name = TextField("Service name", [required("Enter the service's name"), max_length(200, "Service name")])
    location_ref = TextField(
        "Regulator location ID",
        [required("Enter the regulator's location ID"), max_length(20, "Location ID"), location_id],
        description="For example 1-123456789",
    )
    service_type = EnumSelectField("Service type", [required("Select the service type")], enum_class=ServiceType, choices=[("", "Select a service type")] + ServiceType.choices())
    address = TextAreaField("Address", [required("Enter the service's address"), max_length(300, "Address")], description="Not including the postcode")
    postcode = TextField("Postcode", [required("Enter the service's postcode"), max_length(10, "Postcode"), uk_postcode])
    registered_beds = IntegerField(
        "Registered beds",
        [Optional(), NumberRange(min=1, max=2000, message="Registered beds must be between 1 and 2,000")],
        description="Care homes only",
    )
    submit = SubmitField("Save service")


class EditServiceForm(ServiceForm):
    active = BooleanField("The service is active")
    version = VersionField()


class CommissioningForm(Form):
    commissioner = SelectField("Commissioner", [required("Select the commissioning agency")])
    starts_on = DateField("Contract start date", [required("Enter the contract start date")], description="For example, 1 4 2026")
    # No Optional(): it would clear "must include a day" for a half-filled date; empty is None anyway.
    ends_on = DateField("Contract end date (optional)", description="Leave empty if the contract runs on")
    submit = SubmitField("Add commissioner")

    def validate_ends_on(self, field):
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError("Contract end date must be the same as or after the start date")


class EndCommissioningForm(Form):
    ends_on = DateField("Last day of the contract", [required("Enter the last day of the contract")])
    submit = SubmitField("End contract")
