"""An invoice's totals from its lines: discounts first, then taxes, as Stripe computes them.

Per line: the line's own discounts (an invoice item's) come off its amount, then each of the
invoice's discounts in order (a percentage off every discountable line; a fixed amount spread
over those lines in proportion to what is left of each). Taxes are computed on what remains:
the line's tax rates, or the invoice's default tax rates when the line has none; inclusive
rates are carved out of the amount, exclusive ones added on top.

``subtotal`` is the sum of line amounts; ``subtotal_excluding_tax`` the same with the inclusive
taxes on the undiscounted amounts taken out; ``total_excluding_tax`` = subtotal - discounts -
inclusive taxes; ``total`` = subtotal - discounts + exclusive taxes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from billfold.billing.discounts import discount_allocate, discount_amount
from billfold.billing.models import Discount, Invoice, InvoiceLineItem, TaxRate
from billfold.billing.taxes import compute_taxes


@dataclass
class _LineWork:
    line: InvoiceLineItem
    remaining: int
    discount_amounts: list[dict[str, Any]] = field(default_factory=list)


def discounts_by_id(livemode: bool, ids: Iterable[str]) -> dict[str, Discount]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = Discount.objects.select_related("coupon").filter(livemode=livemode, public_id__in=wanted)
    return {d.public_id: d for d in rows}


def tax_rates_by_id(livemode: bool, ids: Iterable[str]) -> dict[str, TaxRate]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {r.public_id: r for r in TaxRate.objects.filter(livemode=livemode, public_id__in=wanted)}


def _product_id(line: InvoiceLineItem) -> str | None:
    return line.price.product.public_id if line.price is not None else None


def _applies(discount: Discount, line: InvoiceLineItem) -> bool:
    products = discount.coupon.applies_to_products
    if products is None:
        return True
    product_id = _product_id(line)
    return product_id is not None and product_id in products


def _take(work: _LineWork, discount: Discount, amount: int) -> None:
    work.discount_amounts.append({"amount": amount, "discount": discount.public_id})
    work.remaining -= amount


def _apply_invoice_discount(discount: Discount, works: Sequence[_LineWork], currency: str) -> None:
    eligible = [w for w in works if w.line.discountable and _applies(discount, w.line)]
    if not eligible:
        return
    coupon = discount.coupon
    if coupon.percent_off is not None:
        for work in eligible:
            _take(work, discount, discount_amount(coupon=coupon, amount=work.remaining, currency=currency))
        return
    base = sum(max(w.remaining, 0) for w in eligible)
    off = discount_amount(coupon=coupon, amount=base, currency=currency)
    shares = discount_allocate(discount=off, amounts=[w.remaining for w in eligible])
    for work, share in zip(eligible, shares, strict=True):
        _take(work, discount, share)


def _tax_entry(*, amount: int, inclusive: bool, tax_rate: str, taxable_amount: int) -> dict[str, Any]:
    return {
        "amount": amount,
        "tax_behavior": "inclusive" if inclusive else "exclusive",
        "tax_rate_details": {"tax_rate": tax_rate},
        "taxability_reason": "standard_rated",
        "taxable_amount": taxable_amount,
        "type": "tax_rate_details",
    }


def _discounts_summed(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One ``{"amount", "discount"}`` per discount, in the order they first appear."""
    merged: dict[str, dict[str, Any]] = {}
    for entry in entries:
        total = merged.setdefault(entry["discount"], {"amount": 0, "discount": entry["discount"]})
        total["amount"] += entry["amount"]
    return list(merged.values())


def _taxes_summed(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per tax rate, amounts and taxable amounts added up, in the order they first appear."""
    merged: dict[str, dict[str, Any]] = {}
    for entry in entries:
        rate = entry["tax_rate_details"]["tax_rate"]
        if rate not in merged:
            merged[rate] = {**entry, "amount": 0, "taxable_amount": 0, "tax_rate_details": {"tax_rate": rate}}
        merged[rate]["amount"] += entry["amount"]
        merged[rate]["taxable_amount"] += entry["taxable_amount"]
    return list(merged.values())


def invoice_totals_compute(*, invoice: Invoice, lines: Sequence[InvoiceLineItem]) -> None:
    """Fill in each line's ``discount_amounts`` and ``taxes`` and the invoice's totals (nothing is saved).

    ``amount_due`` here is what the invoice asks before the customer's balance: finalization
    applies the balance.
    """
    discount_ids = list(invoice.discounts) + [d for line in lines for d in line.discounts]
    discounts = discounts_by_id(invoice.livemode, discount_ids)
    rate_ids = list(invoice.default_tax_rates) + [r for line in lines for r in line.tax_rates]
    rates = tax_rates_by_id(invoice.livemode, rate_ids)
    works = [_LineWork(line=line, remaining=line.amount) for line in lines]
    for work in works:
        for discount_id in work.line.discounts:
            discount = discounts.get(discount_id)
            if discount is not None and _applies(discount, work.line):
                amount = discount_amount(coupon=discount.coupon, amount=work.remaining, currency=invoice.currency)
                _take(work, discount, amount)
    for discount_id in invoice.discounts:
        discount = discounts.get(discount_id)
        if discount is not None:
            _apply_invoice_discount(discount, works, invoice.currency)

    subtotal = subtotal_excluding_tax = inclusive_tax = exclusive_tax = total_discount = 0
    for work in works:
        line = work.line
        line_rates = [rates[r] for r in (line.tax_rates or invoice.default_tax_rates) if r in rates]
        taxed = compute_taxes(amount=work.remaining, rates=line_rates)
        undiscounted = compute_taxes(amount=line.amount, rates=[r for r in line_rates if r.inclusive])
        line.discount_amounts = work.discount_amounts
        line.taxes = [
            _tax_entry(
                amount=t.amount,
                inclusive=t.inclusive,
                tax_rate=t.tax_rate.public_id,
                taxable_amount=t.taxable_amount,
            )
            for t in taxed.lines
        ]
        subtotal += line.amount
        subtotal_excluding_tax += undiscounted.amount_excluding_tax
        total_discount += line.amount - work.remaining
        inclusive_tax += taxed.total_tax - taxed.exclusive_tax
        exclusive_tax += taxed.exclusive_tax

    invoice.subtotal = subtotal
    invoice.subtotal_excluding_tax = subtotal_excluding_tax
    invoice.total_excluding_tax = subtotal - total_discount - inclusive_tax
    invoice.total = subtotal - total_discount + exclusive_tax
    invoice.total_discount_amounts = _discounts_summed(d for w in works for d in w.discount_amounts)
    invoice.total_taxes = _taxes_summed(t for w in works for t in w.line.taxes)
    invoice.amount_due = max(invoice.total, 0)
    invoice.amount_remaining = invoice.amount_due - invoice.amount_paid
