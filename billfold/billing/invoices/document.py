"""What the hosted invoice page and its PDF show, worked out once: texts, dates and money in the
customer's language, amounts in the invoice's currency (Babel's formats per locale).

The language is Stripe's choice: the first of the customer's ``preferred_locales`` Billfold speaks,
else English (``core.locales``); the texts come from the ``billing`` app's gettext catalogs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billfold.billing.invoices.selectors import invoice_lines
from billfold.billing.invoices.totals import discounts_by_id, tax_rates_by_id
from billfold.billing.models import Discount, Invoice, InvoiceLineItem, TaxRate
from billfold.branding.selectors import brand_get, business_name
from billfold.core.locales import Formats, Language, language_for


@dataclass(frozen=True)
class Row:
    """One line of the invoice as printed."""

    description: str
    period: str | None
    quantity: str | None
    unit_price: str | None
    amount: str


@dataclass(frozen=True)
class Total:
    """A row of the summary under the lines: a label and an amount (``strong`` for the total)."""

    label: str
    amount: str
    strong: bool = False


@dataclass(frozen=True)
class Party:
    name: str | None
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class InvoiceDocument:
    # The Babel locale money and dates are written in (``de_CH``).
    locale: str
    # The texts' language: Django's code for ``translation.override`` (``pt-br``) and its BCP 47 tag
    # for ``<html lang>`` (``pt-BR``).
    language: str
    language_tag: str
    number: str
    status: str
    status_label: str
    merchant: Party
    customer: Party
    issued: str | None
    due: str | None
    paid: str | None
    headline_amount: str
    headline: str
    rows: list[Row]
    totals: list[Total]
    description: str | None
    footer: str | None
    custom_fields: list[dict[str, Any]]


def invoice_language(invoice: Invoice) -> Language:
    """The language the invoice is written in: the first of its customer's ``preferred_locales``
    Billfold speaks, else English."""
    return language_for(str(tag) for tag in invoice.customer.preferred_locales or [])


class _Formats(Formats):
    """``Formats`` with the invoice's currency."""

    def __init__(self, invoice: Invoice, language: Language) -> None:
        super().__init__(language.locale)
        self.currency = invoice.currency

    def amount(self, amount: int) -> str:
        return self.money(amount, self.currency)


def _address_lines(address: dict[str, Any] | None) -> list[str]:
    if not address:
        return []
    city_line = " ".join(p for p in (address.get("postal_code"), address.get("city"), address.get("state")) if p)
    return [p for p in (address.get("line1"), address.get("line2"), city_line, address.get("country")) if p]


def _customer(invoice: Invoice) -> Party:
    lines = _address_lines(invoice.customer_address)
    lines += [p for p in (invoice.customer_email, invoice.customer_phone) if p]
    lines += [f"{t['type'].replace('_', ' ').upper()} {t['value']}" for t in invoice.customer_tax_ids]
    return Party(name=invoice.customer_name, lines=lines)


def _row(line: InvoiceLineItem, fmt: _Formats) -> Row:
    price = line.price
    unit_price = None
    if line.unit_amount_decimal is not None and (price is None or price.billing_scheme == "per_unit"):
        unit_price = fmt.decimal_money(line.unit_amount_decimal, fmt.currency)
        label = price.product.unit_label if price is not None else None
        if label:
            unit_price = _("%(price)s per %(unit)s") % {"price": unit_price, "unit": label}
    description = line.description or (price.product.name if price is not None else "")
    same_day = line.period_start.date() == line.period_end.date()
    period = None if same_day else f"{fmt.date(line.period_start)} \N{EN DASH} {fmt.date(line.period_end)}"
    return Row(
        description=description,
        period=period,
        quantity=fmt.number(line.quantity) if line.quantity is not None else None,
        unit_price=unit_price,
        amount=fmt.amount(line.amount),
    )


def _discount_label(discount: Discount | None, fmt: _Formats) -> str:
    if discount is None:
        return _("Discount")
    coupon = discount.coupon
    name = coupon.name or coupon.public_id
    if coupon.percent_off is not None:
        return _("%(name)s (%(percent)s off)") % {"name": name, "percent": fmt.percent(coupon.percent_off)}
    return name


def _tax_label(rate: TaxRate | None, behavior: str, fmt: _Formats) -> str:
    if rate is None:
        return _("Tax")
    percent = fmt.percent(rate.percentage)
    if behavior == "inclusive":
        return _("%(name)s (%(percent)s included)") % {"name": rate.display_name, "percent": percent}
    return f"{rate.display_name} ({percent})"


def _totals(invoice: Invoice, fmt: _Formats) -> list[Total]:
    discounts = discounts_by_id(invoice.livemode, [d["discount"] for d in invoice.total_discount_amounts])
    rates = tax_rates_by_id(invoice.livemode, [t["tax_rate_details"]["tax_rate"] for t in invoice.total_taxes])
    rows = [Total(_("Subtotal"), fmt.amount(invoice.subtotal))]
    for entry in invoice.total_discount_amounts:
        label = _discount_label(discounts.get(entry["discount"]), fmt)
        rows.append(Total(label, fmt.amount(-entry["amount"])))
    if invoice.total_taxes:
        rows.append(Total(_("Total excluding tax"), fmt.amount(invoice.total_excluding_tax)))
        for tax in invoice.total_taxes:
            rate = rates.get(tax["tax_rate_details"]["tax_rate"])
            rows.append(Total(_tax_label(rate, tax["tax_behavior"], fmt), fmt.amount(tax["amount"])))
    rows.append(Total(_("Total"), fmt.amount(invoice.total), strong=True))
    applied = invoice.amount_due - invoice.total
    if applied:
        rows.append(Total(_("Applied balance"), fmt.amount(applied)))
    if invoice.amount_paid:
        rows.append(Total(_("Amount paid"), fmt.amount(-invoice.amount_paid)))
    label = _("Amount remaining") if invoice.status in ("paid", "void") else _("Amount due")
    rows.append(Total(label, fmt.amount(invoice.amount_remaining if invoice.status != "void" else 0), strong=True))
    return rows


_STATUS_LABELS = {
    "open": gettext_lazy("Due"),
    "paid": gettext_lazy("Paid"),
    "void": gettext_lazy("Void"),
    "uncollectible": gettext_lazy("Uncollectible"),
    "draft": gettext_lazy("Draft"),
}


def _headline(invoice: Invoice, fmt: _Formats) -> tuple[str, str]:
    """(the amount shown large, the sentence under it)."""
    if invoice.status == "paid":
        return fmt.amount(invoice.amount_paid), _("Paid %(date)s") % {"date": fmt.date(invoice.paid_at)}
    if invoice.status == "void":
        return fmt.amount(invoice.total), _("This invoice has been voided; nothing is due.")
    due = fmt.date(invoice.due_date)
    if invoice.status == "uncollectible":
        return fmt.amount(invoice.amount_remaining), _("Marked uncollectible")
    if invoice.collection_method == "charge_automatically":
        return fmt.amount(invoice.amount_remaining), _("To be charged to the payment method on file")
    if due:
        return fmt.amount(invoice.amount_remaining), _("Due %(date)s") % {"date": due}
    return fmt.amount(invoice.amount_remaining), _("Due on receipt")


def invoice_document(invoice: Invoice, *, merchant: str | None = None) -> InvoiceDocument:
    """What the invoice page and PDF show, in the invoice's language; ``merchant`` is the business
    name (the brand's by default)."""
    language = invoice_language(invoice)
    with translation.override(language.code):
        return _document(invoice, language, merchant)


def _document(invoice: Invoice, language: Language, merchant: str | None) -> InvoiceDocument:
    fmt = _Formats(invoice, language)
    amount, headline = _headline(invoice, fmt)
    return InvoiceDocument(
        locale=str(language.locale),
        language=language.code,
        language_tag=language.tag,
        number=invoice.number or "",
        status=invoice.status,
        status_label=str(_STATUS_LABELS.get(invoice.status, invoice.status)),
        merchant=Party(name=merchant if merchant is not None else business_name(brand_get())),
        customer=_customer(invoice),
        issued=fmt.date(invoice.effective_at or invoice.finalized_at),
        due=fmt.date(invoice.due_date),
        paid=fmt.date(invoice.paid_at),
        headline_amount=amount,
        headline=headline,
        rows=[_row(line, fmt) for line in invoice_lines(invoice=invoice)],
        totals=_totals(invoice, fmt),
        description=invoice.description,
        footer=invoice.footer,
        custom_fields=list(invoice.custom_fields or []),
    )
