"""Domain operations. Each takes the acting user explicitly, flushes, never commits,
and raises a DomainError subclass that the view turns into a message or a status."""


class DomainError(Exception):
    """A rule said no; str(error) is the message for the user."""


class PermissionDenied(DomainError):
    """The actor may not do this (the view answers 403)."""


class NotFound(DomainError):
    """The target does not exist or is not visible to the actor (404)."""
