"""Authenticating an API request by its secret key (Bearer or Basic)."""

from __future__ import annotations

import base64
import binascii

from django.http import HttpRequest

from billfold.accounts.models import ApiKey
from billfold.accounts.selectors import api_key_authenticate
from billfold.api.errors import AuthenticationFailed

_NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, "
    "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See the Developers page of your "
    "Billfold dashboard for your keys."
)


def _redact(secret: str) -> str:
    if len(secret) <= 12:
        return "*" * len(secret)
    return f"{secret[:8]}{'*' * (len(secret) - 12)}{secret[-4:]}"


def presented_secret(request: HttpRequest) -> str | None:
    header = str(request.META.get("HTTP_AUTHORIZATION", ""))
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    credentials = credentials.strip()
    if scheme == "bearer" and credentials:
        return credentials
    if scheme == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise AuthenticationFailed("Invalid Basic authorization header: it is not valid base64.") from None
        username, _, _password = decoded.partition(":")
        return username or None
    if header:
        raise AuthenticationFailed(
            "Invalid Authorization header: use 'Bearer YOUR_SECRET_KEY' or Basic auth with the key as the username."
        )
    return None


def authenticate(request: HttpRequest) -> ApiKey:
    secret = presented_secret(request)
    if not secret:
        raise AuthenticationFailed(_NO_KEY)
    key = api_key_authenticate(secret=secret)
    if key is None:
        raise AuthenticationFailed(f"Invalid API Key provided: {_redact(secret)}")
    return key
