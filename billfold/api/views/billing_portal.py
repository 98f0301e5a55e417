"""/v1/billing_portal/configurations and /v1/billing_portal/sessions"""

from __future__ import annotations

from typing import Any

from billfold.api.lists import LIST_PARAMS, paginate
from billfold.api.params import Bool, Enum, Field, Hash, Int, ListOf, Metadata, Str, validate
from billfold.api.representations.portal import render_portal_configuration, render_portal_session
from billfold.api.routing import ApiCall, route
from billfold.core.errors import InvalidParam
from billfold.portal import configurations, sessions

_ID = Str(max_length=5000)


class _Refused(Field):
    """A parameter Billfold accepts only to refuse it with a clear reason (any shape)."""

    def convert(self, value: Any, name: str) -> Any:
        return value


def _features(*, create: bool) -> Hash:
    """``features``: on creation each feature hash needs ``enabled``; on update only where Stripe says."""
    reason: dict[str, Field] = {
        "enabled": Bool(required=True),
        "feedback_options": ListOf(_ID, unsettable=True),
        "options": ListOf(Enum(*configurations.CANCELLATION_REASONS), unsettable=True, required=create),
    }
    product = Hash(
        {
            "adjustable_quantity": Hash({"enabled": Bool(required=True), "maximum": Int(min=1), "minimum": Int(min=0)}),
            "prices": ListOf(_ID, required=True),
            "product": Str(required=True),
        }
    )
    return Hash(
        {
            "customer_update": Hash(
                {
                    "allowed_updates": ListOf(Enum(*configurations.CUSTOMER_UPDATES), unsettable=True),
                    "enabled": Bool(required=create),
                }
            ),
            "invoice_history": Hash({"enabled": Bool(required=True)}),
            "payment_method_update": Hash(
                {"enabled": Bool(required=True), "payment_method_configuration": Str(unsettable=True)}
            ),
            "subscription_cancel": Hash(
                {
                    "cancellation_reason": Hash(reason),
                    "enabled": Bool(required=create),
                    "mode": Enum("at_period_end", "immediately"),
                    "proration_behavior": Enum("always_invoice", "create_prorations", "none"),
                }
            ),
            "subscription_pause": Hash({"duration": _Refused(), "enabled": Bool()}),
            "subscription_update": Hash(
                {
                    "billing_cycle_anchor": Enum("now", "unchanged"),
                    "default_allowed_updates": ListOf(Enum(*configurations.SUBSCRIPTION_UPDATES), unsettable=True),
                    "enabled": Bool(required=create),
                    "products": ListOf(product, unsettable=True),
                    "proration_behavior": Enum("always_invoice", "create_prorations", "none"),
                    "schedule_at_period_end": Hash(
                        {
                            "conditions": ListOf(
                                Hash({"type": Enum(*configurations.SCHEDULE_CONDITIONS, required=True)}),
                                unsettable=True,
                            )
                        }
                    ),
                    "trial_update_behavior": Enum("continue_trial", "end_trial"),
                }
            ),
        },
        required=create,
    )


def _business_profile(*, create: bool) -> Hash:
    return Hash(
        {
            "headline": Str(max_length=60, unsettable=True),
            "privacy_policy_url": Str(max_length=configurations.MAX_URL_LENGTH, unsettable=not create),
            "terms_of_service_url": Str(max_length=configurations.MAX_URL_LENGTH, unsettable=not create),
        }
    )


_COMMON: dict[str, Field] = {
    "default_return_url": Str(max_length=configurations.MAX_URL_LENGTH, unsettable=True),
    "login_page": Hash({"enabled": Bool(required=True)}),
    "metadata": Metadata(),
    "name": Str(max_length=256, unsettable=True),
}
_CREATE: dict[str, Field] = {
    **_COMMON,
    "business_profile": _business_profile(create=True),
    "features": _features(create=True),
}
_UPDATE: dict[str, Field] = {
    **_COMMON,
    "active": Bool(),
    "business_profile": _business_profile(create=False),
    "features": _features(create=False),
}
_LIST: dict[str, Field] = {**LIST_PARAMS, "active": Bool(), "is_default": Bool()}


def _subscription_update_required(values: dict[str, Any]) -> None:
    """Since 2024-09-30 Stripe requires ``products`` and ``default_allowed_updates`` only when the
    creation turns subscription updates on."""
    update = (values.get("features") or {}).get("subscription_update")
    if update is None or not update.get("enabled"):
        return
    for key in ("default_allowed_updates", "products"):
        if key not in update:
            name = f"features[subscription_update][{key}]"
            raise InvalidParam(f"Missing required param: {name}.", param=name, code="parameter_missing")


def configuration_create(call: ApiCall) -> dict[str, Any]:
    values = validate(_CREATE, call.params)
    _subscription_update_required(values)
    configuration = configurations.portal_configuration_create(livemode=call.livemode, values=values)
    return render_portal_configuration(configuration)


def configuration_retrieve(call: ApiCall, configuration_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_portal_configuration(
        configurations.portal_configuration_get(public_id=configuration_id, livemode=call.livemode)
    )


def configuration_update(call: ApiCall, configuration_id: str) -> dict[str, Any]:
    values = validate(_UPDATE, call.params)
    configuration = configurations.portal_configuration_get(public_id=configuration_id, livemode=call.livemode)
    return render_portal_configuration(
        configurations.portal_configuration_update(configuration=configuration, values=values)
    )


def configuration_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_LIST, call.params)
    rows = configurations.portal_configuration_list(
        livemode=call.livemode, active=params.get("active"), is_default=params.get("is_default")
    )
    return paginate(
        rows,
        params,
        url="/v1/billing_portal/configurations",
        kind="billing_portal.configuration",
        render=lambda page: [render_portal_configuration(c) for c in page],
    )


_FLOW_DATA = Hash(
    {
        "after_completion": Hash(
            {
                "hosted_confirmation": Hash({"custom_message": Str(max_length=sessions.MAX_CUSTOM_MESSAGE)}),
                "redirect": Hash({"return_url": Str(required=True)}),
                "type": Enum("hosted_confirmation", "portal_homepage", "redirect", required=True),
            }
        ),
        "subscription_cancel": Hash(
            {
                "retention": Hash(
                    {"coupon_offer": Hash({"coupon": Str(required=True)}), "type": Enum("coupon_offer", required=True)}
                ),
                "subscription": Str(required=True),
            }
        ),
        "subscription_pause": Hash({"subscription": Str(required=True)}),
        "subscription_update": Hash({"subscription": Str(required=True)}),
        "subscription_update_confirm": Hash(
            {
                "discounts": ListOf(Hash({"coupon": Str(), "promotion_code": Str()})),
                "items": ListOf(
                    Hash({"id": Str(required=True), "price": Str(), "quantity": Int(min=0)}), required=True
                ),
                "subscription": Str(required=True),
            }
        ),
        "type": Enum(
            "customer_update",
            "payment_method_update",
            "subscription_cancel",
            "subscription_pause",
            "subscription_update",
            "subscription_update_confirm",
            required=True,
        ),
    }
)
_SESSION_CREATE: dict[str, Field] = {
    "after_expiration": _Refused(),
    "configuration": Str(),
    "customer": Str(),
    "customer_account": Str(),
    "flow_data": _FLOW_DATA,
    "locale": Enum(*sessions.LOCALES),
    "on_behalf_of": Str(),
    "return_url": Str(max_length=configurations.MAX_URL_LENGTH),
}


def session_create(call: ApiCall) -> dict[str, Any]:
    values = validate(_SESSION_CREATE, call.params)
    if "on_behalf_of" in values:
        raise InvalidParam(
            "Billfold has no connected accounts, so on_behalf_of cannot be used; leave it out.", param="on_behalf_of"
        )
    if "customer_account" in values:
        raise InvalidParam(
            "Billfold has no customer-configured accounts (Accounts v2); give a customer id in customer instead.",
            param="customer_account",
        )
    if "after_expiration" in values:
        raise InvalidParam(
            "after_expiration is not available in Billfold; an expired portal link sends the customer back to "
            "return_url's site to open a new one.",
            param="after_expiration",
        )
    if "customer" not in values:
        raise InvalidParam("Missing required param: customer.", param="customer", code="parameter_missing")
    created = sessions.portal_session_create(
        livemode=call.livemode,
        customer_id=values["customer"],
        configuration_id=values.get("configuration"),
        return_url=values.get("return_url"),
        locale=values.get("locale"),
        flow_data=values.get("flow_data"),
    )
    return render_portal_session(created.session, url=created.url)


urlpatterns = [
    route("billing_portal/configurations", GET=configuration_list, POST=configuration_create),
    route(
        "billing_portal/configurations/<str:configuration_id>", GET=configuration_retrieve, POST=configuration_update
    ),
    route("billing_portal/sessions", POST=session_create),
]
