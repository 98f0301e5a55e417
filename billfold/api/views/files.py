"""/v1/files: image uploads (multipart/form-data), served back at each file's ``url``."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from billfold.api.errors import ParamError
from billfold.api.lists import CREATED_FILTER, LIST_PARAMS, apply_range, paginate
from billfold.api.params import Enum, Field, validate
from billfold.api.representations.file import render_file
from billfold.api.routing import ApiCall, FilePart, route
from billfold.files import selectors, services

_CREATE: dict[str, Field] = {"purpose": Enum(*services.IMAGE_PURPOSES, required=True)}
_LIST: dict[str, Field] = {**LIST_PARAMS, "created": CREATED_FILTER, "purpose": Enum(*services.IMAGE_PURPOSES)}


def file_create(call: ApiCall) -> dict[str, Any]:
    params = dict(call.params)
    part = params.pop("file", None)
    values = validate(_CREATE, params)
    if part is None:
        raise ParamError(
            "Missing required param: file. Send the image as a multipart/form-data part named file.",
            param="file",
            code="parameter_missing",
        )
    if not isinstance(part, FilePart):
        raise ParamError(
            "Invalid file: send the image itself as a multipart/form-data file part named file "
            "(e.g. curl -F file=@logo.png -F purpose=product_image).",
            param="file",
        )
    # One byte past the limit is enough to refuse; larger uploads are never read whole.
    content = part.upload.read(settings.BILLFOLD_MAX_IMAGE_BYTES + 1)
    stored = services.file_create(
        livemode=call.livemode, purpose=values["purpose"], filename=part.upload.name or "image", content=content
    )
    return render_file(stored)


def file_retrieve(call: ApiCall, file_id: str) -> dict[str, Any]:
    validate({}, call.params)
    return render_file(selectors.file_get(public_id=file_id, livemode=call.livemode))


def file_list(call: ApiCall) -> dict[str, Any]:
    params = validate(_LIST, call.params)
    files = selectors.file_list(livemode=call.livemode, purpose=params.get("purpose"))
    if "created" in params:
        files = apply_range(files, "created", params["created"])
    return paginate(files, params, url="/v1/files", kind="file", render=lambda rows: [render_file(f) for f in rows])


urlpatterns = [
    route("files", uploads=True, GET=file_list, POST=file_create),
    route("files/<str:file_id>", GET=file_retrieve),
]
