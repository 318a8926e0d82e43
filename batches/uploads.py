"""The ZIP upload of a batch: streamed to a temporary file with its own cap (not the photo caps)."""

from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import HttpRequest

from batches.services import zip_cap


class ZipUploadHandler(TemporaryFileUploadHandler):
    """One file up to BATCH_MAX_ZIP_MB, straight to disk; a larger request is refused before it is read."""

    def __init__(self, request: HttpRequest | None = None):
        super().__init__(request)
        self.refusal = ""
        self.size = 0
        if request is not None:
            request._zip_refusal = self

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > zip_cap() + 1024 * 1024:
            self.refusal = (
                f"This upload is {content_length / 2**20:,.0f} MB; a batch ZIP may be at most "
                f"{zip_cap() // 2**20:,} MB. Nothing of it was kept."
            )
        return None

    def new_file(self, *args, **kwargs):
        if self.refusal:
            # Before the ZIP's first byte is read; the fields that came first (the CSRF token) stay.
            raise StopUpload(connection_reset=True)
        super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        self.size += len(raw_data)
        if self.size > zip_cap():  # a body without a truthful Content-Length
            self.refusal = (
                f"The ZIP is over the {zip_cap() // 2**20:,} MB limit for a batch; nothing was kept."
            )
            self.file.close()
            raise StopUpload(connection_reset=True)
        return super().receive_data_chunk(raw_data, start)


def zip_refusal(request: HttpRequest) -> str:
    handler = getattr(request, "_zip_refusal", None)
    return handler.refusal if handler else ""
