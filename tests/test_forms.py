"""The shared GOV.UK form fields: dates typed in three boxes, and text cleaned of control characters."""

from datetime import date

import pytest
from werkzeug.datastructures import MultiDict

from portal.core.forms import DateField, Form, TextField, not_in_future


class DateForm(Form):
    when = DateField("Date of birth (optional)", [not_in_future()])


@pytest.mark.parametrize(
    ("boxes", "data", "error"),
    [
        (["", "", ""], None, None),
        (["31", "3", "1940"], date(1940, 3, 31), None),
        (["", "5", "2026"], None, "Date of birth (optional) must include a day"),
        (["1", "", ""], None, "Date of birth (optional) must include a month and year"),
        (["31", "2", "2026"], None, "Date of birth (optional) must be a real date"),
        (["1", "1", "99999999999999999999"], None, "Date of birth (optional) must be a real date"),
        (["1", "1", "2999"], date(2999, 1, 1), "Date of birth (optional) must be today or in the past"),
    ],
)
def test_a_date_in_three_boxes_is_whole_real_and_not_in_the_future(app, boxes, data, error):
    with app.test_request_context(method="POST"):
        form = DateForm(formdata=MultiDict([("when", box) for box in boxes]), meta={"csrf": False})
        form.validate()
        assert form.when.data == data
        assert (form.when.errors[0] if form.when.errors else None) == error


def test_text_loses_control_characters_and_outer_spaces(app):
    class NameForm(Form):
        name = TextField("Name")

    with app.test_request_context(method="POST"):
        form = NameForm(formdata=MultiDict({"name": "  Jo\x00 Bloggs\x07 "}), meta={"csrf": False})
        assert form.name.data == "Jo Bloggs"


@pytest.mark.parametrize("typed", ["", "   ", "\x00\x07", "\t\n"])
def test_a_required_field_is_not_satisfied_by_spaces_or_control_characters(app, typed):
    from portal.agencies.forms import AgencyForm

    with app.test_request_context(method="POST"):
        form = AgencyForm(formdata=MultiDict({"name": typed, "kind": "POLICE"}), meta={"csrf": False})
        assert not form.validate()
        assert form.name.errors == ["Enter the agency's name"]


def test_a_required_date_typed_in_part_keeps_its_own_message(app):
    from portal.agencies.forms import EndCommissioningForm

    with app.test_request_context(method="POST"):
        form = EndCommissioningForm(formdata=MultiDict([("ends_on", ""), ("ends_on", "4"), ("ends_on", "2026")]), meta={"csrf": False})
        assert not form.validate()
        assert form.ends_on.errors == ["Last day of the contract must include a day"]
