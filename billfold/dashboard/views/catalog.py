"""Product catalog: products with their prices, created and changed through the catalog services.

An image is stored as soon as it arrives, even when another field of the form is refused, and kept
as a pending file id (``views.uploads``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from billfold.catalog import selectors, services
from billfold.catalog.models import Price, Product
from billfold.catalog.tax_codes import tax_code_get, tax_code_list, tax_code_search
from billfold.core.errors import DomainError, NotFound
from billfold.dashboard.forms.catalog import PRICE_PARAMS, PRODUCT_PARAMS, PriceForm, ProductForm
from billfold.dashboard.forms.common import add_domain_error
from billfold.dashboard.pages import paginate, query_without_page, render_page
from billfold.dashboard.security import livemode, staff_page
from billfold.dashboard.templatetags.dashboard import price_text
from billfold.dashboard.views.uploads import image_upload
from billfold.files.models import StoredFile

SECTION = "products"
_STATUSES = {"active": True, "archived": False, "all": None}


def _product(request: HttpRequest, product_id: str) -> Product:
    try:
        return selectors.product_get(public_id=product_id, livemode=livemode(request))
    except NotFound:
        raise Http404("No such product") from None


def _price(request: HttpRequest, price_id: str) -> Price:
    try:
        return selectors.price_get(public_id=price_id, livemode=livemode(request))
    except NotFound:
        raise Http404("No such price") from None


def file_url(stored: StoredFile) -> str:
    """The absolute URL the API gives a stored file (``images`` of a product hold these)."""
    return settings.SITE_URL + reverse("file-download", args=[stored.public_id, stored.filename])


@staff_page
@require_http_methods(["GET", "HEAD"])
def product_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "active")
    if status not in _STATUSES:
        status = "active"
    query = request.GET.get("q", "").strip()
    products = (
        selectors.product_list(livemode=livemode(request), active=_STATUSES[status])
        .select_related("default_price")
        .annotate(active_prices=Count("prices", filter=Q(prices__active=True)))
    )
    if query:
        products = products.filter(Q(name__icontains=query) | Q(public_id=query) | Q(description__icontains=query))
    return render_page(
        request,
        "dashboard/catalog/product_list.html",
        {
            "page": paginate(request, products.order_by("-created", "-pk")),
            "query": query,
            "status": status,
            "pager_query": query_without_page(request),
        },
        section=SECTION,
    )


def _store_image(request: HttpRequest, form: ProductForm) -> StoredFile | bool | None:
    """The image of this submission: a new upload (stored now), the pending one, or None.

    False when the upload was refused (the error is on the form).
    """
    return image_upload(request, form, field="image", purpose="product_image")


def _form_context(form: ProductForm, image: StoredFile | None, product: Product | None = None) -> dict[str, Any]:
    current = product.images[0] if product is not None and product.images else None
    return {
        "form": form,
        "pending_image": image,
        "pending_image_url": file_url(image) if image is not None else None,
        "current_image": current,
        "tax_codes": tax_code_list(),
        "tax_code_name": _tax_code_name(form),
        "product": product,
    }


def _tax_code_name(form: ProductForm) -> str | None:
    value = form["tax_code"].value()
    code = tax_code_get(str(value).strip()) if value else None
    return code.name if code is not None else None


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def product_new(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        context = {**_form_context(ProductForm(), None), "price_form": PriceForm(prefix="price")}
        return render_page(request, "dashboard/catalog/product_form.html", context, section=SECTION)
    form = ProductForm(request.POST, request.FILES)
    price_form = PriceForm(request.POST, prefix="price")
    form_valid, price_valid = form.is_valid(), price_form.is_valid()
    image = _store_image(request, form)
    kept = image if isinstance(image, StoredFile) else None
    if form_valid and price_valid and image is not False:
        values = form.product_values()
        if kept is not None:
            values["images"] = [file_url(kept)]
        values["default_price_data"] = price_form.price_values()
        try:
            product = services.product_create(livemode=livemode(request), values=values)
        except DomainError as refused:
            target = price_form if (refused.param or "").startswith("default_price_data") else form
            add_domain_error(target, refused, PRICE_PARAMS if target is price_form else PRODUCT_PARAMS)
        else:
            messages.success(request, f"{product.name} was added to your catalog.")
            return redirect("dashboard:product", product_id=product.public_id)
    context = {**_form_context(form, kept), "price_form": price_form}
    return render_page(request, "dashboard/catalog/product_form.html", context, section=SECTION, status=400)


@staff_page
@require_http_methods(["GET", "HEAD"])
def product_detail(request: HttpRequest, product_id: str) -> HttpResponse:
    product = _product(request, product_id)
    prices = selectors.price_list(livemode=product.livemode, product_id=product.public_id).order_by(
        "-active", "-created", "-pk"
    )
    code = tax_code_get(product.tax_code) if product.tax_code else None
    return render_page(
        request,
        "dashboard/catalog/product_detail.html",
        {"product": product, "prices": prices, "tax_code": code},
        section=SECTION,
    )


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def product_edit(request: HttpRequest, product_id: str) -> HttpResponse:
    product = _product(request, product_id)
    if request.method != "POST":
        form = ProductForm(initial=ProductForm.initial_for(product))
        return render_page(
            request, "dashboard/catalog/product_form.html", _form_context(form, None, product), section=SECTION
        )
    form = ProductForm(request.POST, request.FILES)
    form_valid = form.is_valid()
    image = _store_image(request, form)
    kept = image if isinstance(image, StoredFile) else None
    if form_valid and image is not False:
        values = form.product_values()
        if kept is not None:
            values["images"] = [file_url(kept)]
        elif form.cleaned_data["remove_image"]:
            values["images"] = None
        try:
            services.product_update(product=product, values=values)
        except DomainError as refused:
            add_domain_error(form, refused, PRODUCT_PARAMS)
        else:
            messages.success(request, "Your changes were saved.")
            return redirect("dashboard:product", product_id=product.public_id)
    return render_page(
        request,
        "dashboard/catalog/product_form.html",
        _form_context(form, kept, product),
        section=SECTION,
        status=400,
    )


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def product_archive(request: HttpRequest, product_id: str) -> HttpResponse:
    """Archive (or bring back) a product, after a confirmation page."""
    product = _product(request, product_id)
    if request.method == "POST":
        services.product_update(product=product, values={"active": not product.active})
        done = "archived: it can no longer be bought" if product.active else "back in your catalog"
        messages.success(request, f"{product.name} is {done}.")
        return redirect("dashboard:product", product_id=product.public_id)
    back = reverse("dashboard:product", args=[product.public_id])
    action = reverse("dashboard:product-archive", args=[product.public_id])
    if product.active:
        confirm = {
            "heading": f"Archive {product.name}?",
            "explanation": [
                "An archived product can no longer be bought: it disappears from the portal and new subscriptions "
                "cannot use its prices.",
                "Existing subscriptions keep running and past invoices are unchanged. You can unarchive it later.",
            ],
            "button": "Archive product",
        }
    else:
        confirm = {
            "heading": f"Unarchive {product.name}?",
            "explanation": ["The product becomes available again, with its active prices."],
            "button": "Unarchive product",
            "button_class": "primary",
        }
    return render_page(request, "dashboard/confirm.html", {**confirm, "action": action, "back": back}, section=SECTION)


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def price_new(request: HttpRequest, product_id: str) -> HttpResponse:
    product = _product(request, product_id)
    form = PriceForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        values = {**form.price_values(), "product": product.public_id}
        try:
            price = services.price_create(livemode=product.livemode, values=values)
            if request.POST.get("make_default") == "on":
                services.product_update(product=product, values={"default_price": price.public_id})
        except DomainError as refused:
            add_domain_error(form, refused, PRICE_PARAMS)
        else:
            messages.success(request, "The price was added.")
            return redirect("dashboard:product", product_id=product.public_id)
    status = 400 if request.method == "POST" else 200
    return render_page(
        request,
        "dashboard/catalog/price_form.html",
        {"product": product, "price_form": form},
        section=SECTION,
        status=status,
    )


@staff_page
@require_http_methods(["GET", "HEAD", "POST"])
def price_active(request: HttpRequest, price_id: str) -> HttpResponse:
    """Deactivate a price (after a confirmation page) or activate it again; prices are never deleted."""
    price = _price(request, price_id)
    if request.method == "POST":
        try:
            services.price_update(price=price, values={"active": not price.active})
        except DomainError as refused:
            messages.error(request, refused.message)
        else:
            messages.success(
                request, "The price is active again." if not price.active else "The price was deactivated."
            )
        return redirect("dashboard:product", product_id=price.product.public_id)
    context = {
        "heading": f"Deactivate the price {price_text(price)} of {price.product.name}?",
        "explanation": [
            "New purchases and subscriptions can no longer use this price. Subscriptions already on it keep it.",
            "Prices are never deleted: you can activate it again later.",
        ],
        "button": "Deactivate price",
        "action": reverse("dashboard:price-active", args=[price.public_id]),
        "back": reverse("dashboard:product", args=[price.product.public_id]),
    }
    return render_page(request, "dashboard/confirm.html", context, section=SECTION)


@staff_page
@require_POST
def price_default(request: HttpRequest, price_id: str) -> HttpResponse:
    price = _price(request, price_id)
    try:
        services.product_update(product=price.product, values={"default_price": price.public_id})
    except DomainError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, "The default price was changed.")
    return redirect("dashboard:product", product_id=price.product.public_id)


@staff_page
@require_http_methods(["GET", "HEAD"])
def tax_code_search_view(request: HttpRequest) -> HttpResponse:
    """The tax codes best matching ``q``, for the product form's suggestions (the catalog's ranking:
    every word must match, ids before names before descriptions)."""
    codes = tax_code_search(request.GET.get("q", "")[:100], limit=8)
    return JsonResponse({"data": [{"id": c.id, "name": c.name, "description": c.description} for c in codes]})
