"""/v1/invoices (+ search, lines, finalize, pay, send, void, mark_uncollectible)

Paying calls the payment processor, so ``pay`` runs outside a request-wide transaction
(``commits_itself``): it checks its parameters and ``expand[]`` before acting, and the invoice
services commit each step themselves.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from billfold.api.errors import ParamError, RecordedCardError
from billfold.api.expand import expand_result
from billfold.api.lists import CREATED_FILTER, LIST_PARAMS, apply_range, list_object, paginate
from billfold.api.params import (
    Bool,
    Enum,
    Field,
    Hash,
    Int,
    ListOf,
    Metadata,
    RangeFilter,
    Str,
    Timestamp,
    exclusive,
    validate,
)
from billfold.api.representations.invoice import render_invoice, render_line_item
from billfold.api.representations.payment_intent import render_payment_intent
from billfold.api.routing import ApiCall, commits_itself, route
from billfold.api.search import CREATED, SearchField, SearchSpec, metadata_field, search_page
from billfold.api.views.search import total_count_wanted
from billfold.billing import invoices as services
from billfold.billing.invoices import selectors
from billfold.billing.models import Invoice, InvoiceLineItem
from billfold.core import clock
from billfold.core.errors import NotFound
from billfold.core.request_context import current_request
from billfold.customers import selectors as customer_selectors
from billfold.payments import selectors as payment_selectors
from billfold.payments.models import PaymentMethod

STATUSES = ("draft", "open", "paid", "uncollectible", "void")
_DISCOUNTS = ListOf(
    Hash(
        {
            "coupon": Str(max_length=5000),
            "discount": Str(max_length=5000),
            "promotion_code": Str(max_length=5000),
        }
    ),
    max_items=20,
    unsettable=True,
)
_TAX_RATES = ListOf(Str(max_length=5000), max_items=10, unsettable=True)
_COLLECTION = Enum("charge_automatically", "send_invoice")
_EDITABLE: dict[str, Field] = {
    "auto_advance": Bool(),
    "collection_method": _COLLECTION,
    "days_until_due": Int(min=0, max=3650),
    "default_payment_method": Str(max_length=5000, unsettable=True),
    "default_tax_rates": _TAX_RATES,
    "description": Str(max_length=1500, unsettable=True),
    "discounts": _DISCOUNTS,
    "due_date": Timestamp(),
    "footer": Str(max_length=5000, unsettable=True),
    "metadata": Metadata(),
    "statement_descriptor": Str(max_length=22, unsettable=True),
}
_CREATE: dict[str, Field] = {
    **_EDITABLE,
    "currency": Str(max_length=3),
    "customer": Str(max_length=5000, required=True),
    "pending_invoice_items_behavior": Enum("exclude", "include", "include_and_require"),
}
_LIST: dict[str, Field] = {
    **LIST_PARAMS,
    "collection_method": _COLLECTION,
    "created": CREATED_FILTER,
    "customer": Str(max_length=5000),
    "due_date": RangeFilter(),
    "status": Enum(*STATUSES),
    "subscription": Str(max_length=5000),
}
_SEARCH: dict[str, Field] = {
    "query": Str(max_length=5000, required=True),
    "limit": Int(min=1, max=100),
    "page": Str(max_length=5000),
}
_PAY: dict[str, Field] = {
    "forgive": Bool(),
    "off_session": Bool(),
    "paid_out_of_band": Bool(),
    "payment_method": Str(max_length=5000),
}
INVOICES = SearchSpec(
    "invoices",
    {
        "created": CREATED,
        "currency": SearchField("token", "currency"),
        "customer": SearchField("token", "customer__public_id"),
        "metadata": metadata_field(),
        "number": SearchField("string", "number"),
        "status": SearchField("token", "status"),
        "subscription": SearchField("token", "subscription_id"),
        "total": SearchField("amount", "total"),
    },
)


def _invoice(call: ApiCall, invoice_id: str) -> Invoice:
    return selectors.invoice_get(public_id=invoice_id, livemode=call.livemode)


def _timestamp(values: dict[str, Any], name: str) -> None:
    if values.get(name) is not None:
        values[name] = clock.from_unix(values[name])


def _payment_method_of(call: ApiCall, invoice_customer_id: str, value: str | None) -> PaymentMethod | None:
    if value is None:
        return None
    customer = customer_selectors.customer_get(
        public_id=invoice_customer_id, livemode=call.livemode, include_deleted=True
    )
    return payment_selectors.payment_method_of_customer(
        public_id=value, customer=customer, param="default_payment_method"
    )


def invoice_create(call: ApiCall) -> dict[str, Any]:
    values = validate(_CREATE, call.params)
    customer = customer_selectors.customer_get(public_id=values["customer"], livemode=call.livemode, param="customer")
    _timestamp(values, "due_date")
    invoice = services.invoice_create(
        customer=customer,
        livemode=call.livemode,
        currency=values.get("currency"),
        collection_method=values.get("collection_method") or "charge_automatically",
        days_until_due=values.get("days_until_due"),
        due_date=values.get("due_date"),
        description=values.get("description"),
        metadata=values.get("metadata"),
        auto_advance=values.get("auto_advance"),
        default_payment_method=_payment_method_of(call, customer.public_id, values.get("default_payment_method")),
        discounts=values.get("discounts") or (),
        default_tax_rates=values.get("default_tax_rates") or (),
        # Stripe's default since 2022: a new invoice starts empty unless asked to include pending items.
        pending_invoice_items_behavior=values.get("pending_invoice_items_behavior") or "exclude",
        footer=values.get("footer"),
        statement_descriptor=values.get("statement_descriptor"),
    )
    return render_invoice(invoice)


def invoice_retrieve(call: ApiCall, invoice_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_invoice(_invoice(call, invoice_id))


def invoice_update(call: ApiCall, invoice_id: str) -> dict[str, Any]:
    values = validate(_EDITABLE, call.params)
    invoice = _invoice(call, invoice_id)
    _timestamp(values, "due_date")
    if "default_payment_method" in values:
        values["default_payment_method"] = _payment_method_of(
            call, invoice.customer.public_id, values["default_payment_method"]
        )
    return render_invoice(services.invoice_update(invoice=invoice, values=values))


def invoice_delete(call: ApiCall, invoice_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_invoice(services.invoice_delete(invoice=_invoice(call, invoice_id)))


def _filtered(call: ApiCall, params: dict[str, Any]) -> QuerySet[Invoice]:
    customer = (
        customer_selectors.customer_get(
            public_id=params["customer"], livemode=call.livemode, include_deleted=True, param="customer"
        )
        if "customer" in params
        else None
    )
    invoices = selectors.invoice_list(
        livemode=call.livemode,
        customer=customer,
        status=params.get("status"),
        subscription_id=params.get("subscription"),
        collection_method=params.get("collection_method"),
    )
    if "created" in params:
        invoices = apply_range(invoices, "created", params["created"])
    if "due_date" in params:
        invoices = apply_range(invoices, "due_date", params["due_date"])
    return invoices


def invoice_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_LIST, call.params)
    return paginate(
        _filtered(call, params),
        params,
        url="/v1/invoices",
        kind="invoice",
        render=lambda rows: [render_invoice(i) for i in rows],
    )


def invoice_search(call: ApiCall) -> dict[str, Any]:
    params = validate(_SEARCH, call.params)
    total_count = total_count_wanted(call)
    return search_page(
        selectors.invoice_list(livemode=call.livemode),
        livemode=call.livemode,
        spec=INVOICES,
        query=params["query"],
        params=params,
        url="/v1/invoices/search",
        render=lambda rows: [render_invoice(i) for i in rows],
        total_count=total_count,
    )


def invoice_lines(call: ApiCall, invoice_id: str) -> dict[str, Any]:
    """The invoice's lines in the order they were added (Stripe pages them forward, not newest first)."""
    params = validate(LIST_PARAMS, call.params)
    exclusive(params, "starting_after", "ending_before")
    invoice = _invoice(call, invoice_id)
    lines = selectors.invoice_lines(invoice=invoice)
    limit: int = params.get("limit") or 10
    cursor_id = params.get("starting_after") or params.get("ending_before")
    page: QuerySet[InvoiceLineItem] = lines
    if cursor_id is not None:
        cursor = lines.filter(public_id=cursor_id).values_list("pk", flat=True).first()
        if cursor is None:
            raise NotFound(
                "line_item", cursor_id, param="starting_after" if "starting_after" in params else "ending_before"
            )
        if "ending_before" in params:
            rows = list(lines.filter(pk__lt=cursor).order_by("-pk")[: limit + 1])
            has_more = len(rows) > limit
            return list_object(
                [render_line_item(line) for line in reversed(rows[:limit])],
                url=f"/v1/invoices/{invoice.public_id}/lines",
                has_more=has_more,
            )
        page = lines.filter(pk__gt=cursor)
    rows = list(page.order_by("pk")[: limit + 1])
    return list_object(
        [render_line_item(line) for line in rows[:limit]],
        url=f"/v1/invoices/{invoice.public_id}/lines",
        has_more=len(rows) > limit,
    )


def invoice_finalize(call: ApiCall, invoice_id: str) -> dict[str, Any]:
    params = validate({"auto_advance": Bool()}, call.params)
    invoice = services.invoice_finalize(invoice=_invoice(call, invoice_id), auto_advance=params.get("auto_advance"))
    return render_invoice(invoice)


def _paid_or_refused(invoice: Invoice) -> dict[str, Any]:
    """The invoice; or, when its last attempt failed, Stripe's 402 (the attempt stays recorded)."""
    intent = invoice.payment_intent
    if invoice.status == "paid" or intent is None:
        return render_invoice(invoice)
    rendered_intent = render_payment_intent(intent)
    if intent.status == "requires_action":
        raise RecordedCardError(
            "This payment requires additional user action before it can be completed successfully: the card "
            "asks for authentication. Pay the invoice from its hosted page, or with another card.",
            code="invoice_payment_intent_requires_action",
            extra={"payment_intent": rendered_intent},
        )
    error = dict(intent.last_payment_error or {})
    message = error.pop("message", "Your card was declined.")
    code = error.pop("code", "card_declined")
    error.pop("type", None)
    raise RecordedCardError(message, code=code, extra={**error, "payment_intent": rendered_intent})


@commits_itself
def invoice_pay(call: ApiCall, invoice_id: str) -> dict[str, Any]:
    params = validate(_PAY, call.params)
    invoice = _invoice(call, invoice_id)
    if params.get("paid_out_of_band") and "payment_method" in params:
        raise ParamError(
            "paid_out_of_band=true records a payment made outside Billfold, so no payment_method is charged; "
            "pass one or the other.",
            param="payment_method",
        )
    if call.expand:
        expand_result(render_invoice(invoice), call.expand, call.livemode)
    request = current_request.get()
    paid = services.invoice_pay(
        invoice=invoice,
        payment_method=params.get("payment_method"),
        paid_out_of_band=params.get("paid_out_of_band") or False,
        request_key=request.idempotency_key if request else None,
    )
    return _paid_or_refused(selectors.invoice_get(public_id=paid.public_id, livemode=call.livemode))


def invoice_send(call: ApiCall, invoice_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_invoice(services.invoice_send(invoice=_invoice(call, invoice_id)))


def invoice_void(call: ApiCall, invoice_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_invoice(services.invoice_void(invoice=_invoice(call, invoice_id)))


def invoice_mark_uncollectible(call: ApiCall, invoice_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_invoice(services.invoice_mark_uncollectible(invoice=_invoice(call, invoice_id)))


urlpatterns = [
    # Before invoices/<id>, so that "search" is not read as an invoice id.
    route("invoices/search", GET=invoice_search),
    route("invoices", GET=invoice_list, POST=invoice_create),
    route("invoices/<str:invoice_id>", GET=invoice_retrieve, POST=invoice_update, DELETE=invoice_delete),
    route("invoices/<str:invoice_id>/lines", GET=invoice_lines),
    route("invoices/<str:invoice_id>/finalize", POST=invoice_finalize),
    route("invoices/<str:invoice_id>/pay", POST=invoice_pay),
    route("invoices/<str:invoice_id>/send", POST=invoice_send),
    route("invoices/<str:invoice_id>/void", POST=invoice_void),
    route("invoices/<str:invoice_id>/mark_uncollectible", POST=invoice_mark_uncollectible),
]
