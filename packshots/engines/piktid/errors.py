"""Errors of the PiktID client: one class per meaningful HTTP status, carrying the server's details.

`str(exc)` is one human line that names the status and PiktID's own "error" text; it never holds the token
(the client builds every message from the method, the path without its query string and the response body).
"""

from typing import Any


class PiktidError(Exception):
    """A PiktID call failed; `retryable` says whether the same request may simply be sent again."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, body: dict | str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r})"


class PiktidBadRequestError(PiktidError):
    """400: `details` is PiktID's `detail[]` list of {field, message, position}."""

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.details = details or []


class PiktidAuthError(PiktidError):
    """401: the token is invalid or expired (PiktID tokens cannot be refreshed)."""


class PiktidInsufficientCreditsError(PiktidError):
    """402: PiktID's `required_credits`, `in_progress_credits`, `user_credits` (None if absent)."""

    def __init__(
        self,
        message: str,
        *,
        required_credits: float | None = None,
        in_progress_credits: float | None = None,
        user_credits: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.required_credits = required_credits
        self.in_progress_credits = in_progress_credits
        self.user_credits = user_credits


class PiktidForbiddenError(PiktidError):
    """403: plan policy (e.g. custom dimensions), a foreign project, or an expired pre-signed URL."""


class PiktidNotFoundError(PiktidError):
    """404."""


class PiktidConflictError(PiktidError):
    """409."""


class PiktidRateLimitError(PiktidError):
    """429: `retry_after` is seconds from now (Retry-After: delta-seconds or HTTP-date, clamped) or None."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class PiktidServerError(PiktidError):
    """5xx (and any other unexpected status): retryable; `retry_after` as for 429 when the server sent one."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class PiktidConnectionError(PiktidError):
    """Timeout, reset, DNS failure, dropped stream; `maybe_sent`: the server may have the request."""

    retryable = True

    def __init__(self, message: str, *, maybe_sent: bool = True, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.maybe_sent = maybe_sent


class UnsafeUrlError(PiktidError):
    """A result URL was refused: scheme, host, private address, redirect or size."""


class SignatureError(Exception):
    """A webhook delivery's signature header is missing, malformed or matches no secret."""
