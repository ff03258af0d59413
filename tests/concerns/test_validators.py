"""NHS numbers: ten digits whose last is the modulus 11 check digit of the first nine."""

import pytest
from wtforms import Form, StringField

from portal.concerns.validators import nhs_number, nhs_number_is_valid

# Weights 10..2 on the first nine digits; the check digit is 11 minus the remainder mod 11, with 11
# meaning 0 and 10 meaning the number can never be valid.


@pytest.mark.parametrize(
    "value",
    [
        "9434765919",
        "943 476 5919",
        "4010232137",
        "943-476-5919",
        "4010232110",  # remainder 0: the check digit is 0
    ],
)
def test_a_valid_nhs_number_is_accepted(value):
    assert nhs_number_is_valid(value) is True


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("9434765918", id="wrong check digit"),
        pytest.param("4010232136", id="wrong check digit, second example"),
        pytest.param("4010232111", id="1 where the check digit must be 0"),
        pytest.param("943476591", id="nine digits"),
        pytest.param("94347659190", id="eleven digits"),
        pytest.param("94347659AB", id="letters"),
        pytest.param("NHS4765919", id="letters in front"),
        pytest.param("9434765960", id="check digit would be 10 (943476596 leaves remainder 1)"),
        pytest.param("4010232170", id="check digit would be 10 (401023217 leaves remainder 1)"),
        pytest.param("", id="empty"),
        pytest.param("          ", id="only spaces"),
    ],
)
def test_an_invalid_nhs_number_is_refused(value):
    assert nhs_number_is_valid(value) is False




def test_an_nhs_number_in_other_scripts_digits_is_refused():
    assert nhs_number_is_valid("\u0669\u0664\u0663\u0664\u0667\u0666\u0665\u0669\u0661\u0669") is False


class AdultNumberForm(Form):
    nhs = StringField("NHS number", validators=[nhs_number])


def test_the_form_stores_a_valid_nhs_number_as_ten_digits():
    form = AdultNumberForm(data={"nhs": "943 476 5919"})
    assert form.validate()
    assert form.nhs.data == "9434765919"


def test_the_form_explains_an_invalid_nhs_number():
    form = AdultNumberForm(data={"nhs": "9434765918"})
    assert not form.validate()
    assert form.nhs.errors == ["Enter a valid NHS number: 10 digits, like 943 476 5919"]


def test_the_form_explains_an_nhs_number_with_a_superscript_digit_rather_than_failing():
    form = AdultNumberForm(data={"nhs": "943476591\u00b2"})
    assert not form.validate()
    assert form.nhs.errors == ["Enter a valid NHS number: 10 digits, like 943 476 5919"]


def test_the_nhs_number_is_optional_on_the_form():
    assert AdultNumberForm(data={"nhs": ""}).validate()
