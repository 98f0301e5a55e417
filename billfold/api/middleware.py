"""Serving ``/v1`` requests without the browser-facing middleware."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.urls import get_resolver


class ApiRequestsMiddleware:
    """Hands ``/v1/`` requests straight to their view, skipping the middleware listed after it.

    API calls authenticate with a secret key: they use no cookies, sessions, CSRF tokens, users,
    messages or frame options, and running that middleware took an eighth of the CPU time of a
    customer retrieve (bench/README.md). Errors still reach Django's handler around this middleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path_info.startswith("/v1/"):
            return self.get_response(request)
        # Resolved against the API's own patterns: they hold every /v1/ path, the 404 included.
        match = get_resolver("billfold.api.urls").resolve(request.path_info)
        request.resolver_match = match
        response: HttpResponseBase = match.func(request, *match.args, **match.kwargs)
        return response
