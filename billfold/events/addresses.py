"""Which network addresses webhooks may be sent to.

An endpoint URL is the merchant's input, so without a check a delivery could be aimed at the
server's own network (a database admin page, a cloud metadata service). Live mode sends only to
public addresses unless ``BILLFOLD_WEBHOOK_ALLOW_PRIVATE`` is set. Test mode also allows loopback
and private networks, where developers run their receivers, but never link-local addresses (cloud
metadata services live there).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def address_refusal(address: Address, *, livemode: bool) -> str | None:
    """Why ``address`` may not receive webhooks of this mode, or None when it may."""
    if settings.BILLFOLD_WEBHOOK_ALLOW_PRIVATE:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_global and not address.is_multicast:
        return None
    if not livemode and (address.is_loopback or address.is_private) and not address.is_link_local:
        return None
    if livemode:
        return (
            f"{address} is not a public address. Live-mode webhooks go to public addresses only "
            "(set BILLFOLD_WEBHOOK_ALLOW_PRIVATE=true to allow private networks)."
        )
    return f"{address} is a link-local, multicast or reserved address, which webhooks are never sent to."
