from __future__ import annotations

from django.db import models

from billfold.core.models import current_time


class Brand(models.Model):
    """How the business looks to its customers: on the portal, its login page, emails, hosted invoice
    pages and PDFs. One row (``pk=1``) for the whole installation, shared by test and live mode, as a
    Stripe account's branding is; until it is saved, ``branding.selectors.brand_get`` gives the defaults.
    """

    # Shown in headers, emails and invoices; empty means BILLFOLD_BUSINESS_NAME or the site's host name.
    business_name = models.CharField(max_length=100, blank=True, default="")
    # Square image for small places (browser tab, email header); the logo is wider, for the portal header.
    icon = models.ForeignKey("files.StoredFile", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    logo = models.ForeignKey("files.StoredFile", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # "#rrggbb": the background of headers (brand) and of buttons and links (accent).
    brand_color = models.CharField(max_length=7, default="#ffffff")
    accent_color = models.CharField(max_length=7, default="#3d4eac")
    # A key of branding.theme.FONTS and of branding.theme.SHAPES.
    font = models.CharField(max_length=20, default="system")
    corner_shape = models.CharField(max_length=20, default="rounded")
    updated = models.DateTimeField(default=current_time)

    def __str__(self) -> str:
        return self.business_name or "Brand"
