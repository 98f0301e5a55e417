"""The portal's tables. Times are aware UTC datetimes (the API shows Unix seconds).

Secrets a person holds (a portal session's URL secret, a browser's access token, a passcode) are
stored only as hashes; the login link's token is public by design (it is meant to be shared),
so it is stored as is and shown again in ``login_page.url``.
"""

from __future__ import annotations

from django.db import models

from billfold.core.models import StripeObject, current_time


class PortalConfiguration(StripeObject):
    """What the portal offers and how it looks for the sessions made with it (``bpc_...``).

    Each mode has exactly one default configuration (``is_default``), used by sessions that name
    none and by the login link of the quick start; it is made on first use
    (``configurations.portal_configuration_default``).
    """

    active = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)
    name = models.CharField(max_length=256, null=True, blank=True)
    # {"headline", "privacy_policy_url", "terms_of_service_url"}, each a string or None.
    business_profile = models.JSONField(default=dict)
    default_return_url = models.CharField(max_length=2048, null=True, blank=True)
    # The complete ``features`` hash as the API renders it, plus
    # ``subscription_update.products`` ([{"product", "prices", "adjustable_quantity"}]), which
    # the API shows only when asked (``expand[]=features.subscription_update.products``).
    features = models.JSONField(default=dict)
    # The live login link (``login_page.enabled``), or None while the login page is off.
    login_link = models.ForeignKey(
        "portal.LoginLink", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When a visible attribute last changed (aware UTC).
    updated = models.DateTimeField(default=current_time)

    class Meta:
        indexes = [models.Index(fields=["livemode", "active"])]
        constraints = [
            models.UniqueConstraint(
                fields=["livemode"], condition=models.Q(is_default=True), name="portal_one_default_per_mode"
            ),
        ]

    def __str__(self) -> str:
        return self.public_id


class LoginLink(models.Model):
    """The shareable login page of a configuration (``login_page.url``).

    At most one link of a configuration is live; turning the login page off ends it for good
    (``deactivated`` set) and turning it on again makes a new one, so an old shared URL stays dead.
    """

    configuration = models.ForeignKey(PortalConfiguration, on_delete=models.CASCADE, related_name="login_links")
    livemode = models.BooleanField(default=False)
    # The URL's last path segment (``test_`` + random characters in test mode); public.
    token = models.CharField(max_length=80, unique=True)
    created = models.DateTimeField(default=current_time)
    deactivated = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["configuration"],
                condition=models.Q(deactivated__isnull=True),
                name="portal_one_live_login_link",
            ),
        ]

    def __str__(self) -> str:
        return self.token


class PortalSession(models.Model):
    """A portal session made through the API (``bps_...``): a single-use link into the portal.

    ``secret_hash`` is the SHA-256 of the secret at the end of the session's ``url`` (shown once,
    in the answer to its creation). The link works once, before ``redeem_by``; redeeming it opens a
    ``PortalAccess``.
    """

    public_id = models.CharField(max_length=64, unique=True)
    livemode = models.BooleanField(default=False)
    created = models.DateTimeField(default=current_time)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    configuration = models.ForeignKey(PortalConfiguration, on_delete=models.PROTECT, related_name="sessions")
    return_url = models.CharField(max_length=2048, null=True, blank=True)
    # One of Stripe's portal locales ("auto", "de", "pt-BR"...) or None (the customer's preference).
    locale = models.CharField(max_length=10, null=True, blank=True)
    # The ``flow`` hash as the API renders it, or None.
    flow = models.JSONField(null=True, blank=True)
    secret_hash = models.CharField(max_length=64, unique=True)
    # The link is refused from this moment on if it was never used (aware UTC).
    redeem_by = models.DateTimeField()
    redeemed = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.public_id


class PortalAccess(models.Model):
    """One browser signed in to the portal as one customer.

    Opened by redeeming a portal session or by a login code; the browser holds the token (its
    SHA-256 is ``token_hash``). It lasts ``ACCESS_IDLE_TIMEOUT`` after the last activity
    (``expires`` slides forward on each use) until it ends (``ended``, signing out).
    """

    SESSION = "portal_session"
    LOGIN_LINK = "login_link"

    livemode = models.BooleanField(default=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    configuration = models.ForeignKey(PortalConfiguration, on_delete=models.CASCADE, related_name="+")
    # How the browser got in: portal_session | login_link.
    via = models.CharField(max_length=16)
    session = models.ForeignKey(PortalSession, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    login_link = models.ForeignKey(LoginLink, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # False for a customer signed in by email passcode: the email is what proved who they are,
    # so changing it in the portal would let a taken-over inbox lock the owner out.
    can_change_email = models.BooleanField(default=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(default=current_time)
    last_active = models.DateTimeField(default=current_time)
    expires = models.DateTimeField()
    ended = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"access {self.pk} for {self.customer_id}"


class LoginCode(models.Model):
    """A one-time passcode sent to a customer who asked to sign in through a login link.

    ``code_hash`` is an HMAC of the code keyed with SECRET_KEY and this row's ``salt``. A code is
    good until ``expires``, for one use, for ``MAX_CODE_ATTEMPTS`` tries, and only while it is the
    latest one for its link and email (asking again sets ``superseded`` on the older ones).
    """

    login_link = models.ForeignKey(LoginLink, on_delete=models.CASCADE, related_name="codes")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    # The address as the customer typed it, trimmed and lowercased: what a later attempt gives.
    email = models.CharField(max_length=512)
    salt = models.CharField(max_length=32)
    code_hash = models.CharField(max_length=64)
    created = models.DateTimeField(default=current_time)
    expires = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used = models.DateTimeField(null=True, blank=True)
    superseded = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["login_link", "email", "created"])]

    def __str__(self) -> str:
        return f"login code {self.pk}"


class RateCounter(models.Model):
    """How many times something was tried in one fixed window, shared by every process.

    ``scope`` names the limit (``login_code_request:email``...), ``key`` a SHA-256 of what it
    counts (an email, a client address), ``window_start`` the start of the window (aware UTC).
    Old windows are deleted as new ones are counted.
    """

    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key", "window_start"], name="portal_rate_counter_unique"),
        ]
        indexes = [models.Index(fields=["window_start"])]

    def __str__(self) -> str:
        return f"{self.scope} {self.window_start:%Y-%m-%d %H:%M}: {self.count}"
