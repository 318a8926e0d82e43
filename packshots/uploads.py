"""Size caps on uploaded files, enforced while the request body streams in.

`LimitedUploadHandler` comes first in FILE_UPLOAD_HANDLERS, so it sees every chunk before Django keeps it
(in memory or in a temporary file):
- a request whose Content-Length is over the per-request cap (PACKSHOT_MAX_UPLOAD_MB × the photo limit, plus
  a margin for the form fields) is refused at its first file, before any of it is read; on WSGI the body
  stream ends at Content-Length, so no more than that is ever read;
- a file over PACKSHOT_MAX_UPLOAD_MB is dropped the moment it passes the cap (its partial temporary file is
  deleted); the other files of the request are kept;
- reading stops at the first byte of a file past the photo limit (the files before it are kept).
Refusals are not errors: Django goes on with what it kept, and the view shows `upload_refusals(request)`
next to the field, as it does for any other refused photo.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload
from django.http import HttpRequest

from packshots import instructions as schema

_FIELDS_MARGIN = 1024 * 1024  # the note, the CSRF token and each part's headers


@dataclass
class UploadRefusals:
    request: str = ""  # the whole request was refused: nothing in it may be used
    files: list[str] = field(default_factory=list)  # one message per dropped file, with its name


def upload_refusals(request: HttpRequest) -> UploadRefusals:
    """What the upload handler refused while reading this request's body (nothing, for most requests)."""
    return getattr(request, "_upload_refusals", None) or UploadRefusals()


def file_cap() -> int:
    return settings.PACKSHOT_MAX_UPLOAD_MB * 1024 * 1024


def request_cap() -> int:
    return schema.MAX_IMAGES * file_cap() + _FIELDS_MARGIN


class LimitedUploadHandler(FileUploadHandler):
    def __init__(self, request: HttpRequest | None = None):
        super().__init__(request)
        self.refusals = UploadRefusals()
        if request is not None:
            request._upload_refusals = self.refusals
        self.files = 0
        self.total = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > request_cap():
            self.refusals.request = (
                f"This upload is {content_length / 2**20:,.0f} MB; one upload may be at most "
                f"{request_cap() // 2**20} MB ({schema.MAX_IMAGES} photos of up to "
                f"{settings.PACKSHOT_MAX_UPLOAD_MB} MB). Nothing of it was kept."
            )
        return None  # the other handlers parse and store as usual

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        if self.refusals.request:
            # Stop here, before the first file's data is read: fields that came first (the CSRF token) stay.
            raise StopUpload(connection_reset=True)
        self.files += 1
        self.size = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.size += len(raw_data)
        self.total += len(raw_data)
        if self.total > request_cap():
            # Only when Content-Length understated the body (it cannot on WSGI): stop reading at once.
            self.refusals.request = (
                f"This upload is over {request_cap() // 2**20} MB. Nothing of it was kept."
            )
            raise StopUpload(connection_reset=True)
        # Dropped from inside a chunk, not in new_file: Django then closes this file's partial copy, not the
        # previous (complete) file's.
        if self.files > schema.MAX_IMAGES:
            self.refusals.files.append(
                f"{self.file_name} and any photo after it: a job takes at most {schema.MAX_IMAGES} photos."
            )
            raise StopUpload  # the rest of the body is read and dropped, so the browser gets our answer
        if self.size > file_cap():
            self.refusals.files.append(
                f"{self.file_name}: the file is over the {settings.PACKSHOT_MAX_UPLOAD_MB} MB limit."
            )
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler returns the file it kept
