"""Parameter shapes several resources share (addresses, shipping, list paging)."""

from __future__ import annotations

from billfold.api.params import Hash, Str

ADDRESS_FIELDS = {
    "city": Str(unsettable=True),
    "country": Str(unsettable=True),
    "line1": Str(unsettable=True),
    "line2": Str(unsettable=True),
    "postal_code": Str(unsettable=True),
    "state": Str(unsettable=True),
}


def address(*, required: bool = False, unsettable: bool = True) -> Hash:
    return Hash(ADDRESS_FIELDS, required=required, unsettable=unsettable)


def shipping() -> Hash:
    return Hash(
        {
            "address": address(required=True, unsettable=False),
            "name": Str(required=True),
            "phone": Str(unsettable=True),
        },
        unsettable=True,
    )
