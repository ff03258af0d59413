"""Forms for imports: the file upload, and the buttons that confirm or cancel a checked file."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from govuk_frontend_wtf.wtforms_widgets import GovFileInput

from portal.core.forms import Form, SubmitField


class UploadForm(Form):
    file = FileField(
        "Upload a file",
        [FileRequired("Select a file to import")],
        widget=GovFileInput(),
        description="CSV, XLSX or ODS.",
    )
    submit = SubmitField("Upload and check")


class ConfirmForm(Form):
    """A button only, so that CSRF protection covers it."""

    submit = SubmitField("Confirm and import")


class CancelForm(Form):
    submit = SubmitField("Cancel this import")
