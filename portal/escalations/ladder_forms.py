"""The ladder settings form: each stage's name, who answers on each side, its working days, the
roles that act there and whether the Board mediates; the grace periods and the reminder.

The form only reads what was typed. Every rule (a number in range, a role chosen, no
administrators) is :mod:`portal.escalations.ladder_operations`'s, so all problems are reported
together, against the field they are about, and nothing typed is lost.
"""

from __future__ import annotations

from portal.core.codes import Role
from portal.core.forms import (
    BooleanField,
    EnumCheckboxesField,
    Form,
    IntegerField,
    SubmitField,
    TextField,
    VersionField,
)
from portal.escalations.ladder_operations import (
    STAGE_ROLES,
    LadderDetails,
    StageSettings,
    stage_field,
)


class WholeNumberField(IntegerField):
    """A number of days or hours. What cannot be read as a whole number is kept as typed (to show
    again) and read as nothing, which the ladder's rules then refuse with the range it must be in."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None


class LadderForm(Form):
    """A ladder's settings; :func:`ladder_form` makes the class for a number of stages."""

    stage_count = 0

    def stage_fields(self, number: int) -> dict:
        return {name: self[stage_field(number, name)] for name in STAGE_FIELD_NAMES}

    def details(self) -> LadderDetails:
        """What was typed, for the operation to check and save."""
        stages = []
        for number in range(1, self.stage_count + 1):
            typed = self.stage_fields(number)
            stages.append(StageSettings(
                name=typed["name"].data, raising_side=typed["raising_side"].data,
                receiving_side=typed["receiving_side"].data, working_days=typed["working_days"].data,
                roles=set(typed["roles"].data or ()), board_mediates=bool(typed["board_mediates"].data),
            ))
        return LadderDetails(
            stages=stages, grace_working_days=self.grace_working_days.data,
            imminent_grace_hours=self.imminent_grace_hours.data, reminder_working_days=self.reminder_working_days.data,
        )


STAGE_FIELD_NAMES = ("name", "raising_side", "receiving_side", "working_days", "roles", "board_mediates")


class StageRolesField(EnumCheckboxesField):
    """Every role but the administrator's, who sets the ladder up but takes no part in escalations."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, enum_class=Role, **kwargs)
        self.choices = [(role.name, role.label) for role in STAGE_ROLES]


def ladder_form(stage_count: int) -> type[LadderForm]:
    """The form class for a ladder of ``stage_count`` stages, with labels that name the stage (so
    that each field, and each message in the error summary, says which stage it is about)."""
    attributes: dict = {"stage_count": stage_count}
    for number in range(1, stage_count + 1):
        attributes[stage_field(number, "name")] = TextField(f"Name of stage {number}")
        attributes[stage_field(number, "raising_side")] = TextField(
            f"Who answers at stage {number} for the agency that raised it")
        attributes[stage_field(number, "receiving_side")] = TextField(
            f"Who answers at stage {number} for the other agency")
        attributes[stage_field(number, "working_days")] = WholeNumberField(
            f"Working days to respond at stage {number}", description="From 1 to 30")
        attributes[stage_field(number, "roles")] = StageRolesField(
            f"Roles that act for an agency at stage {number}",
            description="People in these roles see the escalation and answer for their agency at this stage. An agency "
                        "with nobody in these roles is represented by those who acted for it at the stage before.",
        )
        attributes[stage_field(number, "board_mediates")] = BooleanField(
            f"The Board's chair mediates at stage {number}",
            description="The chair is told when an escalation reaches this stage and may add notes to its timeline; "
                        "decisions stay with the agencies.",
        )
    # Made after the stages' fields, so that the error summary lists problems in the page's order.
    attributes.update(
        version=VersionField(),
        grace_working_days=WholeNumberField(
            "Grace period after a missed deadline, in working days",
            description="An escalation left unanswered this many working days after its deadline moves to the next "
                        "stage by itself, at 5pm. From 0 to 20.",
        ),
        imminent_grace_hours=WholeNumberField(
            "Grace period where harm is imminent, in hours",
            description="Where harm is imminent, an unanswered escalation moves up this many hours after its "
                        "deadline. From 1 to 24.",
        ),
        reminder_working_days=WholeNumberField(
            "Reminder, in working days before the deadline",
            description="Those answering are reminded at 9am this many working days before the deadline (0: on the "
                        "day). Where harm is imminent the reminder goes 2 hours before. From 0 to 10.",
        ),
        submit=SubmitField("Save the ladder"),
    )
    return type(f"Ladder{stage_count}Form", (LadderForm,), attributes)


def form_data(details: LadderDetails, version: int | None) -> dict:
    """The ladder in force as the form's starting values."""
    data: dict = {
        "version": version, "grace_working_days": details.grace_working_days,
        "imminent_grace_hours": details.imminent_grace_hours, "reminder_working_days": details.reminder_working_days,
    }
    for number, stage in enumerate(details.stages, start=1):
        data.update({
            stage_field(number, "name"): stage.name, stage_field(number, "raising_side"): stage.raising_side,
            stage_field(number, "receiving_side"): stage.receiving_side,
            stage_field(number, "working_days"): stage.working_days, stage_field(number, "roles"): stage.roles,
            stage_field(number, "board_mediates"): stage.board_mediates,
        })
    return data
