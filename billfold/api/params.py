"""Declarative parameter schemas: Stripe's type rules and error messages in one place.

A schema is a ``dict`` of name → field. ``validate(schema, params)`` returns only the keys the
request gave, converted to Python types; ``None`` means "unset" (the client sent ``""``).
Unknown keys, missing required keys and wrong types raise ``ParamError`` naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from billfold.api.errors import ParamError
from billfold.core.metadata import MAX_KEY_LENGTH as METADATA_MAX_KEY_LENGTH
from billfold.core.metadata import MAX_KEYS as METADATA_MAX_KEYS
from billfold.core.metadata import MAX_VALUE_LENGTH as METADATA_MAX_VALUE_LENGTH

MAX_STRING = 5000
INT_MAX = 2**63 - 1
# A list index as the form encoding writes it: decimal, no sign, no leading zero.
_INDEX = re.compile(r"0|[1-9][0-9]{0,8}")


def child_name(parent: str, key: str | int) -> str:
    return f"{parent}[{key}]" if parent else str(key)


def _type_name(value: Any) -> str:
    return "hash" if isinstance(value, dict) else "array" if isinstance(value, list) else "string"


class Field:
    def __init__(self, *, required: bool = False, unsettable: bool = False) -> None:
        self.required = required
        self.unsettable = unsettable

    def parse(self, value: Any, name: str) -> Any:
        if value == "":
            if self.unsettable:
                return None
            raise ParamError(
                f"You passed an empty string for '{name}'. We assume empty values are an attempt to unset a "
                f"parameter; however '{name}' cannot be unset. You should remove '{name}' from your request "
                "or supply a non-empty value.",
                param=name,
                code="parameter_invalid_empty",
            )
        return self.convert(value, name)

    def convert(self, value: Any, name: str) -> Any:
        raise NotImplementedError

    def _want_string(self, value: Any, name: str, what: str) -> str:
        if not isinstance(value, str):
            raise ParamError(f"Invalid {what}: expected a {what} for {name}, got a {_type_name(value)}.", param=name)
        return value


class Str(Field):
    def __init__(
        self,
        *,
        max_length: int = MAX_STRING,
        choices: Sequence[str] | None = None,
        required: bool = False,
        unsettable: bool = False,
    ) -> None:
        super().__init__(required=required, unsettable=unsettable)
        self.max_length = max_length
        self.choices = tuple(choices) if choices else None

    def convert(self, value: Any, name: str) -> str:
        text = self._want_string(value, name, "string")
        if self.choices is not None and text not in self.choices:
            options = ", ".join(f"`{c}`" for c in self.choices)
            raise ParamError(f"Invalid {name}: must be one of {options}", param=name)
        if len(text) > self.max_length:
            raise ParamError(
                f"Invalid string: {text[:40]}{'...' if len(text) > 40 else ''}; must be at most "
                f"{self.max_length} characters",
                param=name,
            )
        if not text.strip():
            raise ParamError(
                f"Invalid string for {name}: it contains only white space.",
                param=name,
                code="parameter_invalid_string_blank",
            )
        return text


def Enum(*choices: str, required: bool = False, unsettable: bool = False) -> Str:  # noqa: N802
    return Str(choices=choices, required=required, unsettable=unsettable)


class Int(Field):
    def __init__(
        self, *, min: int | None = None, max: int | None = None, required: bool = False, unsettable: bool = False
    ) -> None:
        super().__init__(required=required, unsettable=unsettable)
        self.min = min
        self.max = max

    def convert(self, value: Any, name: str) -> int:
        text = self._want_string(value, name, "integer")
        if not re.fullmatch(r"[+-]?[0-9]{1,19}", text.strip()) or abs(int(text)) > INT_MAX:
            raise ParamError(f"Invalid integer: {text[:40]}", param=name, code="parameter_invalid_integer")
        number = int(text)
        if self.min is not None and number < self.min:
            raise ParamError(f"This value must be greater than or equal to {self.min}.", param=name)
        if self.max is not None and number > self.max:
            raise ParamError(f"This value must be less than or equal to {self.max}.", param=name)
        return number


class DecimalStr(Field):
    """A decimal given as a string, e.g. ``unit_amount_decimal`` (at most 12 decimal places)."""

    def convert(self, value: Any, name: str) -> Decimal:
        text = self._want_string(value, name, "decimal")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ParamError(f"Invalid decimal: {text[:40]}", param=name) from None
        if not number.is_finite() or number < 0:
            raise ParamError(f"Invalid decimal: {text[:40]}; must be a non-negative number", param=name)
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -12:
            raise ParamError(f"Invalid decimal: {text[:40]}; at most 12 decimal places are allowed", param=name)
        return number


class Bool(Field):
    def convert(self, value: Any, name: str) -> bool:
        text = self._want_string(value, name, "boolean").strip().lower()
        if text == "true":
            return True
        if text == "false":
            return False
        raise ParamError(f"Invalid boolean: {str(value)[:40]}", param=name)


class Timestamp(Field):
    """Unix seconds; ``allow_now`` accepts the literal ``now`` (returned as the string)."""

    def __init__(self, *, allow_now: bool = False, required: bool = False, unsettable: bool = False) -> None:
        super().__init__(required=required, unsettable=unsettable)
        self.allow_now = allow_now
        self._seconds = Int(min=0, max=253402300799)

    def convert(self, value: Any, name: str) -> int | str:
        if self.allow_now and value == "now":
            return "now"
        return self._seconds.convert(value, name)


class OneOf(Field):
    """The first of several fields that accepts the value (``up_to``: an integer or ``inf``)."""

    def __init__(self, *fields: Field, required: bool = False, unsettable: bool = False) -> None:
        super().__init__(required=required, unsettable=unsettable)
        self.fields = fields

    def convert(self, value: Any, name: str) -> Any:
        first_error: ParamError | None = None
        for field in self.fields:
            try:
                return field.convert(value, name)
            except ParamError as error:
                first_error = first_error or error
        assert first_error is not None
        raise first_error


class Hash(Field):
    def __init__(self, fields: Mapping[str, Field], *, required: bool = False, unsettable: bool = False) -> None:
        super().__init__(required=required, unsettable=unsettable)
        self.fields = fields

    def convert(self, value: Any, name: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ParamError(f"Invalid object: {name} must be a hash (e.g. {name}[key]=value).", param=name)
        return validate(self.fields, value, prefix=name)


class ListOf(Field):
    def __init__(self, item: Field, *, max_items: int = 100, required: bool = False, unsettable: bool = False) -> None:
        super().__init__(required=required, unsettable=unsettable)
        self.item = item
        self.max_items = max_items

    def convert(self, value: Any, name: str) -> list[Any]:
        items: list[tuple[str | int, Any]]
        if isinstance(value, dict):
            # ``name[0]=a&name[1]=b`` decodes to a hash keyed by index; gaps and order do not matter.
            if not all(_INDEX.fullmatch(key) for key in value):
                raise ParamError(f"Invalid array: {name} must be an array (e.g. {name}[0]=...).", param=name)
            items = sorted(value.items(), key=lambda pair: int(pair[0]))
        elif isinstance(value, list):
            items = list(enumerate(value))
        else:
            raise ParamError(f"Invalid array: {name} must be an array (e.g. {name}[]=...).", param=name)
        if len(items) > self.max_items:
            raise ParamError(f"Invalid array: {name} can have at most {self.max_items} items.", param=name)
        return [self.item.parse(item, child_name(name, index)) for index, item in items]


class Metadata(Field):
    """``metadata[key]=value``; ``metadata[key]=`` deletes a key, ``metadata=`` deletes all.

    Parses to ``None`` (clear all) or a dict whose ``None`` values are deletions.
    """

    def __init__(self) -> None:
        super().__init__(unsettable=True)

    def convert(self, value: Any, name: str) -> dict[str, str | None]:
        if not isinstance(value, dict):
            raise ParamError("Invalid object: metadata must be a hash (e.g. metadata[key]=value).", param=name)
        result: dict[str, str | None] = {}
        for key, item in value.items():
            field = child_name(name, key)
            if not isinstance(item, str):
                raise ParamError(f"Invalid value for {field}: metadata values must be strings.", param=field)
            if len(key) > METADATA_MAX_KEY_LENGTH:
                raise ParamError(
                    f"Metadata keys can be at most {METADATA_MAX_KEY_LENGTH} characters long; "
                    f"'{key[:60]}' has {len(key)}.",
                    param=field,
                )
            if len(item) > METADATA_MAX_VALUE_LENGTH:
                raise ParamError(
                    f"Metadata values can be at most {METADATA_MAX_VALUE_LENGTH} characters long; "
                    f"the value of '{key}' has {len(item)}.",
                    param=field,
                )
            result[key] = item or None
        if len(result) > METADATA_MAX_KEYS:
            raise ParamError(f"Metadata can have at most {METADATA_MAX_KEYS} keys; you gave {len(result)}.", param=name)
        return result


class RangeFilter(Field):
    """A list filter on a timestamp: ``created=123`` or ``created[gte]=...&created[lt]=...``."""

    _OPS = ("gt", "gte", "lt", "lte")

    def convert(self, value: Any, name: str) -> dict[str, int]:
        stamp = Int(min=0)
        if isinstance(value, str):
            return {"eq": stamp.convert(value, name)}
        if not isinstance(value, dict):
            raise ParamError(f"Invalid {name}: give a timestamp or a hash with gt, gte, lt, lte.", param=name)
        result: dict[str, int] = {}
        for op, item in value.items():
            field = child_name(name, op)
            if op not in self._OPS:
                raise ParamError(f"Received unknown parameter: {field}", param=field, code="parameter_unknown")
            result[op] = stamp.parse(item, field)
        return result


EXPAND = ListOf(Str(max_length=500), max_items=50)


def validate(schema: Mapping[str, Field], params: Mapping[str, Any], *, prefix: str = "") -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in params.items():
        name = child_name(prefix, key)
        field = schema.get(key)
        if field is None:
            raise ParamError(f"Received unknown parameter: {name}", param=name, code="parameter_unknown")
        result[key] = field.parse(value, name)
    for key, field in schema.items():
        if field.required and key not in params:
            name = child_name(prefix, key)
            raise ParamError(f"Missing required param: {name}.", param=name, code="parameter_missing")
    return result


def exclusive(values: Mapping[str, Any], *names: str) -> None:
    given = [n for n in names if n in values]
    if len(given) > 1:
        raise ParamError(
            f"You may only specify one of these parameters: {', '.join(given)}.",
            param=given[-1],
            code="parameters_exclusive",
        )
