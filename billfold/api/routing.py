"""The ``/v1`` request cycle shared by every resource.

``route("customers/<str:id>", GET=..., POST=...)`` makes a URL pattern whose view
authenticates the key, decodes Stripe's form encoding, applies ``Idempotency-Key``, runs the
handler, expands the result and renders JSON or the error envelope, always with a Request-Id.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import URLPattern, path

from billfold.accounts.models import ApiKey
from billfold.api import idempotency
from billfold.api.auth import authenticate
from billfold.api.encoding import decode
from billfold.api.errors import ParamError, error_body, json_response
from billfold.api.expand import expand_result
from billfold.api.jsonbody import json_body
from billfold.api.params import EXPAND
from billfold.core.errors import DomainError
from billfold.core.ids import new_id
from billfold.core.request_context import RequestInfo, current_request
from billfold.events.services import API_VERSION

logger = logging.getLogger("billfold.api")

_VERSION_FORMAT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(\.[a-z_]+)?")
_HEADER_SAFE = re.compile(r"[\x20-\x7e]+")


@dataclass
class ApiCall:
    """One authenticated API request, as handlers see it."""

    request: HttpRequest
    api_key: ApiKey
    params: dict[str, Any]
    expand: list[str] = field(default_factory=list)

    @property
    def livemode(self) -> bool:
        return self.api_key.livemode


Handler = Callable[..., dict[str, Any]]


class FilePart(str):
    """A file sent as a multipart/form-data part (only to routes made with ``uploads=True``).

    As a string it is the SHA-256 of the content, so the Idempotency-Key fingerprint of the
    parameters covers the bytes; ``upload`` is the file itself.
    """

    upload: UploadedFile

    def __new__(cls, upload: UploadedFile) -> FilePart:
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        part = super().__new__(cls, f"sha256:{digest.hexdigest()}")
        part.upload = upload
        return part


class UnrecognizedRequest(DomainError):
    """No endpoint has this path and method: a 404, as Stripe answers."""

    http_status = 404


def unrecognized(request: HttpRequest) -> DomainError:
    return UnrecognizedRequest(
        f"Unrecognized request URL ({request.method}: {request.path}). Please see the Billfold API reference "
        "in the README, or check the method and path of your request.",
    )


def _multipart_params(request: HttpRequest, query: str) -> dict[str, Any]:
    try:
        fields = [(key, value) for key, values in request.POST.lists() for value in values]
        files = request.FILES
    except (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent, MultiPartParserError) as error:
        raise ParamError(f"The multipart/form-data body could not be read: {error}", param=None) from None
    params = decode("&".join(part for part in (query, urlencode(fields)) if part))
    for name, uploads in files.lists():
        params[name] = FilePart(uploads[-1])
    return params


def _params(request: HttpRequest, *, uploads: bool = False) -> dict[str, Any]:
    query = request.META.get("QUERY_STRING", "")
    if request.method != "POST":
        return decode(query)
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if uploads and content_type == "multipart/form-data":
        return _multipart_params(request, query)
    if content_type not in {"", "application/x-www-form-urlencoded"}:
        raise ParamError(
            f"Invalid request: the body must be application/x-www-form-urlencoded (got {content_type}). "
            "Encode parameters as form fields, e.g. name=Jenny&metadata[plan]=pro.",
            param=None,
        )
    try:
        body = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise ParamError("The request body is not valid UTF-8.", param=None) from None
    return decode("&".join(part for part in (query, body) if part))


def _finish(response: HttpResponse, request_id: str, version: str, idem_key: str | None) -> HttpResponse:
    response["Request-Id"] = request_id
    # Echo only what can be written back as a header: a refused version or an odd key could
    # hold characters (newlines, non-Latin-1) that would turn the response into a 500.
    response["Stripe-Version"] = version if _VERSION_FORMAT.fullmatch(version) else API_VERSION
    response["Cache-Control"] = "no-cache, no-store"
    if idem_key and _HEADER_SAFE.fullmatch(idem_key):
        response["Idempotency-Key"] = idem_key
    return response


class ApiEndpoint:
    csrf_exempt = True

    def __init__(self, handlers: dict[str, Handler], *, uploads: bool = False) -> None:
        self.handlers = handlers
        self.uploads = uploads

    def __call__(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        request_id = new_id("req", 14)
        version = request.META.get("HTTP_STRIPE_VERSION") or API_VERSION
        idem_key = request.META.get("HTTP_IDEMPOTENCY_KEY") if request.method == "POST" else None
        token = current_request.set(RequestInfo(request_id=request_id, idempotency_key=idem_key))
        try:
            response = self._respond(request, kwargs, idem_key, version)
        finally:
            current_request.reset(token)
        return _finish(response, request_id, version, idem_key)

    def _respond(
        self, request: HttpRequest, kwargs: dict[str, Any], idem_key: str | None, version: str
    ) -> HttpResponse:
        record = None
        try:
            api_key = authenticate(request)
            if not _VERSION_FORMAT.fullmatch(version):
                raise ParamError(f"Invalid Stripe API version: {version[:40]}", param=None)
            handler = self.handlers.get(request.method or "")
            if handler is None:
                raise unrecognized(request)
            params = _params(request, uploads=self.uploads)
            expand = EXPAND.parse(params.pop("expand"), "expand") if "expand" in params else []
            call = ApiCall(request=request, api_key=api_key, params=params, expand=expand or [])
            if idem_key:
                record = idempotency.claim(
                    livemode=api_key.livemode,
                    key=idem_key,
                    method="POST",
                    path=request.path,
                    params={**params, "expand": expand},
                )
                with _transaction_for(handler):
                    status, body = self._run_keeping(handler, call, kwargs)
                    idempotency.finish(record, status=status, body=body.decode())
                return HttpResponse(body, status=status, content_type="application/json")
            if request.method == "GET":
                return HttpResponse(self._run(handler, call, kwargs), content_type="application/json")
            # Expansion runs after the handler's writes; a refused expand[] must undo them.
            with _transaction_for(handler):
                status, body = self._run_keeping(handler, call, kwargs)
            return HttpResponse(body, status=status, content_type="application/json")
        except idempotency.Replay as replay:
            stored = replay.record
            response = HttpResponse(
                stored.response_body, status=stored.response_status or 200, content_type="application/json"
            )
            response["Idempotent-Replayed"] = "true"
            return response
        except ParamError as error:
            if record is not None:
                idempotency.release(record)
            return json_response(error_body(error), status=error.http_status)
        except DomainError as error:
            response = json_response(error_body(error), status=error.http_status)
            if record is not None:
                idempotency.finish(record, status=response.status_code, body=response.content.decode())
            return response
        except Exception:
            logger.exception("Unhandled error in %s %s", request.method, request.path)
            if record is not None:
                idempotency.release(record)
            return json_response(error_body(ServerError()), status=500)

    @classmethod
    def _run_keeping(cls, handler: Handler, call: ApiCall, kwargs: dict[str, Any]) -> tuple[int, bytes]:
        """``_run`` for a write: (status, body). A refusal that ``keeps_changes`` (a declined card whose
        failed attempt stays recorded) is answered as its error while the transaction commits; any
        other refusal propagates and rolls everything back."""
        try:
            return 200, cls._run(handler, call, kwargs)
        except DomainError as error:
            if not error.keeps_changes:
                raise
            return error.http_status, json_body(error_body(error))

    @staticmethod
    def _run(handler: Handler, call: ApiCall, kwargs: dict[str, Any]) -> bytes:
        result = handler(call, **kwargs)
        if call.expand:
            expand_result(result, call.expand, call.livemode)
        return json_body(result)


def commits_itself(handler: Handler) -> Handler:
    """Mark a handler that calls a payment processor: the request is not wrapped in a transaction,
    because the processor must be called with none open (see ``payments.intents``).

    Such a handler commits its own work through services, refuses before its first write, and
    checks ``expand[]`` before acting, since nothing can be rolled back after the work is done.
    """
    handler.commits_itself = True  # type: ignore[attr-defined]
    return handler


def _transaction_for(handler: Handler) -> AbstractContextManager[object]:
    return nullcontext() if getattr(handler, "commits_itself", False) else transaction.atomic()


class ServerError(DomainError):
    http_status = 500
    error_type = "api_error"

    def __init__(self) -> None:
        super().__init__("An unexpected error occurred on the server. It has been logged; please retry.")


def route(pattern: str, *, uploads: bool = False, **handlers: Handler) -> URLPattern:
    """``uploads=True`` also accepts multipart/form-data bodies, whose files arrive as ``FilePart``."""
    return path(f"v1/{pattern}", ApiEndpoint(handlers, uploads=uploads))


def not_found_view(request: HttpRequest, rest: str = "") -> HttpResponse:
    request_id = new_id("req", 14)
    response = json_response(error_body(unrecognized(request)), status=404)
    return _finish(response, request_id, API_VERSION, None)


not_found_view.csrf_exempt = True  # type: ignore[attr-defined]
