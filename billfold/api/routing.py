"""The ``/v1`` request cycle shared by every resource.

``route("customers/<str:id>", GET=..., POST=...)`` makes a URL pattern whose view
authenticates the key, decodes Stripe's form encoding, applies ``Idempotency-Key``, runs the
handler, expands the result and renders JSON or the error envelope, always with a Request-Id.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path

from billfold.accounts.models import ApiKey
from billfold.api import idempotency
from billfold.api.auth import authenticate
from billfold.api.encoding import decode
from billfold.api.errors import ParamError, error_body, json_response
from billfold.api.expand import expand_result
from billfold.api.params import EXPAND
from billfold.core.errors import DomainError
from billfold.core.ids import new_id
from billfold.core.request_context import RequestInfo, current_request
from billfold.events.services import API_VERSION

logger = logging.getLogger("billfold.api")

_VERSION_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}(\.[a-z_]+)?")


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


def unrecognized(request: HttpRequest) -> DomainError:
    return DomainError(
        f"Unrecognized request URL ({request.method}: {request.path}). Please see the Billfold API reference "
        "in the README, or check the method and path of your request.",
    )


def _params(request: HttpRequest) -> dict[str, Any]:
    query = request.META.get("QUERY_STRING", "")
    if request.method != "POST":
        return decode(query)
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
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
    response["Stripe-Version"] = version
    response["Cache-Control"] = "no-cache, no-store"
    if idem_key:
        response["Idempotency-Key"] = idem_key
    return response


class ApiEndpoint:
    csrf_exempt = True

    def __init__(self, handlers: dict[str, Handler]) -> None:
        self.handlers = handlers

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
            params = _params(request)
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
                with transaction.atomic():
                    body = self._run(handler, call, kwargs)
                    idempotency.finish(record, status=200, body=body)
                return HttpResponse(body, content_type="application/json")
            return HttpResponse(self._run(handler, call, kwargs), content_type="application/json")
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

    @staticmethod
    def _run(handler: Handler, call: ApiCall, kwargs: dict[str, Any]) -> str:
        result = handler(call, **kwargs)
        if call.expand:
            expand_result(result, call.expand, call.livemode)
        return json.dumps(result, indent=2)


class ServerError(DomainError):
    http_status = 500
    error_type = "api_error"

    def __init__(self) -> None:
        super().__init__("An unexpected error occurred on the server. It has been logged; please retry.")


def route(pattern: str, **handlers: Handler) -> URLPattern:
    return path(f"v1/{pattern}", ApiEndpoint(handlers))


def not_found_view(request: HttpRequest, rest: str = "") -> HttpResponse:
    request_id = new_id("req", 14)
    response = json_response(error_body(unrecognized(request)), status=404)
    return _finish(response, request_id, API_VERSION, None)


not_found_view.csrf_exempt = True  # type: ignore[attr-defined]
