"""The real SMTP server and mailbox of the invitation tests, shared with the password-reset tests."""

from tests.people.test_invitations import mailbox, smtp_server  # noqa: F401 (fixtures)
