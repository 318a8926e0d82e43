"""Domain errors: views turn them into messages or field errors."""

from packshots.instructions import format_errors


class PackshotError(Exception):
    """A use case refused: the message is safe and useful to show to the user."""


class UploadRejectedError(PackshotError):
    pass


class InvalidInstructionsError(PackshotError):
    def __init__(self, field_errors: dict[str, list[str]]):
        self.field_errors = field_errors
        super().__init__(format_errors(field_errors))  # rows counted from 1, as the pages count them


class JobStateError(PackshotError):
    pass


class WorkerLostError(Exception):
    """A task row was still RUNNING past its lease: its worker died without recording an outcome."""


class InvalidInputError(PackshotError):
    """Refused input keyed by the field it belongs to ({"name": [message]}); str() is the messages alone."""

    def __init__(self, field_errors: dict[str, list[str]]):
        self.field_errors = field_errors
        super().__init__(" ".join(m for msgs in field_errors.values() for m in msgs))
