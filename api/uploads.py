"""A model upload's multipart form, read without holding up live sessions.

Werkzeug parses a multipart body in Python (a 145 MiB upload: about 0.4 s of CPU), which under
gevent or eventlet would stop every session while it runs. So the route reads the raw body
first, in chunks that yield to the event loop between them, into a temporary file written from
the offloaded thread, and parses it there (``api.offload``) together with the model's storage
and loading. A form the token check already parsed (the ``token`` form field) is used as it is.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from flask import Request
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.formparser import parse_form_data

from stream_pose_ml.serving import ServingError

_CHUNK = 1 << 16  # small reads: the sessions run between them
_IN_MEMORY = 1 << 20  # a larger body goes to a temporary file
_WRITE_BATCH = 4 << 20  # the body is written to it in batches this large, off the event loop


@dataclass
class UploadForm:
    """The parsed form: its fields and its ``file`` part."""

    form: MultiDict[str, str]
    file: FileStorage


def spool_body(request: Request, offload: Callable[[Callable[[], Any]], Any]) -> IO[bytes] | None:
    """The request body in a temporary file (None if Werkzeug parsed the form already), read
    chunk by chunk with a yield to other green threads after each; the body size is capped by
    ``MAX_CONTENT_LENGTH`` (413) as Flask caps it. The file is written by ``offload`` (see
    `api.offload`) a few MiB at a time: a write to disk can block for hundreds of milliseconds
    once the kernel throttles dirty pages (measured: 0.5 s of a 145 MiB upload), and on the
    event loop that stops every session."""
    if "files" in request.__dict__:  # parsed already (``request.form`` was read)
        return None
    stream = request.stream  # limited to Content-Length and MAX_CONTENT_LENGTH by Werkzeug
    body = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY)  # noqa: SIM115 - returned
    pending: list[bytes] = []
    size = 0
    while chunk := stream.read(_CHUNK):
        pending.append(chunk)
        size += len(chunk)
        if size >= _WRITE_BATCH:
            _write(body, pending, offload)
            pending, size = [], 0
        time.sleep(0)  # green threads: the sessions run between chunks
    _write(body, pending, offload)
    body.seek(0)
    return body


def _write(
    body: IO[bytes], chunks: list[bytes], offload: Callable[[Callable[[], Any]], Any]
) -> None:
    data = b"".join(chunks)
    offload(lambda: body.write(data))


def parse_upload(request: Request, body: IO[bytes] | None) -> UploadForm:
    """The form of ``request`` from its spooled ``body`` (any thread); ``no_file`` 400 without
    a ``file`` part."""
    form, files = parse_form(request, body)
    upload = files.get("file")
    if upload is None or not upload.filename:
        raise ServingError(
            "no_file", "send the model file as the multipart form field 'file'", status=400
        )
    return UploadForm(form, upload)


def parse_form(
    request: Request, body: IO[bytes] | None, stream_factory: Any = None
) -> tuple[MultiDict[str, str], MultiDict[str, FileStorage]]:
    """The fields and file parts of ``request`` from its spooled ``body`` (any thread); file
    parts go where ``stream_factory`` (Werkzeug's signature) says, by default a temporary
    file."""
    form: MultiDict[str, str]
    files: MultiDict[str, FileStorage]
    if body is None:
        form, files = request.form, request.files
    else:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "POST",
            "CONTENT_TYPE": request.environ.get("CONTENT_TYPE", ""),
            "wsgi.input": body,
        }
        if request.content_length is None:  # chunked: the spooled body ends where it ends
            environ["wsgi.input_terminated"] = True
        else:
            environ["CONTENT_LENGTH"] = str(request.content_length)
        _, form, files = parse_form_data(
            environ, stream_factory=stream_factory, max_form_memory_size=_IN_MEMORY
        )
    return form, files
