"""Signing in and out, and switching between test and live data."""

from __future__ import annotations

from django import forms
from django.contrib import auth
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from billfold.accounts.signin import SignInLocked, SignInRefused, staff_sign_in
from billfold.dashboard.pages import DEVELOPER_TABS, NAVIGATION, render_page
from billfold.dashboard.security import client_address, is_staff, public_page, safe_next, set_livemode, staff_page


class SignInForm(forms.Form):
    email = forms.CharField(label="Email address", max_length=254)
    password = forms.CharField(label="Password", max_length=4096, strip=False, widget=forms.PasswordInput)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["email"].widget.attrs.update({"autocomplete": "username", "autofocus": True, "type": "email"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


@public_page
@require_http_methods(["GET", "HEAD", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    home = reverse("dashboard:home")
    target = safe_next(request, request.POST.get("next") or request.GET.get("next"), home)
    if request.method != "POST" and is_staff(request):
        return redirect(target)
    form = SignInForm(request.POST if request.method == "POST" else None)
    error = None
    status = 200
    if form.is_valid():
        try:
            user = staff_sign_in(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                client_address=client_address(request),
            )
        except (SignInRefused, SignInLocked) as refused:
            error, status = refused.message, refused.http_status
        else:
            # login() rotates the session key, so a session fixed before sign-in is worthless after.
            auth.login(request, user)
            return redirect(target)
    elif request.method == "POST":
        status = 400
    return render_page(
        request, "dashboard/sign_in.html", {"form": form, "error": error, "next": target}, section="", status=status
    )


@public_page
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    auth.logout(request)
    return redirect(f"{reverse('dashboard:sign-in')}?signed_out=1")


_SECTIONS = {section: url_name for section, _, url_name in NAVIGATION}
# A Developers tab a switch may come back to (``tab``): every tab exists in both modes.
_TABS = {url_name for _, url_name in DEVELOPER_TABS}


@staff_page
@require_POST
def switch_mode(request: HttpRequest) -> HttpResponse:
    """Show live or test data from now on; back to the list of the section in view (an object of
    one mode does not exist in the other)."""
    set_livemode(request, request.POST.get("livemode") == "true")
    tab = request.POST.get("tab", "")
    if tab in _TABS:
        return redirect(reverse(tab))
    return redirect(reverse(_SECTIONS.get(request.POST.get("section", ""), "dashboard:home")))
