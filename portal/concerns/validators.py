"""Checks on what people type about an adult."""

from __future__ import annotations

from wtforms.validators import ValidationError


def nhs_number_is_valid(value: str) -> bool:
    """Ten digits whose last is the modulus 11 check digit of the first nine."""
    digits = value.replace(" ", "").replace("-", "")
    if len(digits) != 10 or not (digits.isascii() and digits.isdigit()):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def normalise_nhs_number(value: str) -> str:
    return value.replace(" ", "").replace("-", "")


def nhs_number(form, field) -> None:
    if field.data:
        if not nhs_number_is_valid(field.data):
            raise ValidationError("Enter a valid NHS number: 10 digits, like 943 476 5919")
        field.data = normalise_nhs_number(field.data)
