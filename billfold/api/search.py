"""Stripe's search query language: ``email:'jenny@example.com' AND metadata['plan']:'pro'``.

Three stages, each usable alone:

- ``tokenize`` and ``parse`` turn the query text into a ``Query`` of ``Clause``\\ s. They know
  nothing of resources or the database, and every malformed query raises ``SearchQueryError``
  (a 400 naming ``query``) that says what is wrong and at which character.
- ``compile_query`` checks the clauses against a resource's ``SearchSpec`` (which fields exist,
  of which type) and builds a Django ``Q``.
- ``search_page`` runs it: newest first, ``limit`` rows per page, and an opaque ``next_page``
  cursor that the client passes back as ``page``.

The language, as Stripe documents it: a clause is a field, an operator and a value. ``:`` is an
exact match (case-insensitive on string fields, case-sensitive on token fields); ``~`` a
substring match of at least 3 characters on string fields; ``>``, ``<``, ``>=``, ``<=`` and ``=``
compare numbers. A leading ``-`` negates a clause. Strings are quoted with ``'`` or ``"``, a
backslash escapes the next character; numbers may be bare. ``metadata['key']`` addresses one
metadata key; ``null`` matches a missing value. Clauses are joined by spaces or ``AND``, or all
by ``OR``: the two cannot be mixed, and a query holds at most 10 clauses.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import hashlib
import json
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from django.db import NotSupportedError, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Func, Q
from django.db.models.lookups import Exact, IsNull
from django.db.models.sql.compiler import SQLCompiler

from billfold.api.errors import ParamError
from billfold.core import clock

if TYPE_CHECKING:
    from billfold.core.models import StripeObject

MAX_CLAUSES = 10
MIN_SUBSTRING = 3
# The last Unix second whose following second is still a datetime (both bound a whole-second match).
MAX_TIMESTAMP = 253402300798

Operator = Literal[":", "~", ">", "<", ">=", "<=", "="]
Connector = Literal["AND", "OR"]
COMPARISONS: frozenset[str] = frozenset({">", "<", ">=", "<=", "="})


class SearchQueryError(ParamError):
    """The ``query`` parameter is not a valid search query."""

    def __init__(self, message: str) -> None:
        super().__init__(message, param="query")


def _at(position: int) -> str:
    # People count characters from 1.
    return f"character {position + 1}"


# --- Tokens -----------------------------------------------------------------------------------

TokenKind = Literal["word", "number", "string", "operator", "minus", "lbracket", "rbracket"]


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str  # as written in the query
    position: int  # offset of the first character, from 0
    space_before: bool  # whether white space separates it from the previous token
    value: str = ""  # strings: the text between the quotes, escapes resolved


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_OPERATOR = re.compile(r">=|<=|[:~<>=]")


def _read_string(text: str, start: int) -> tuple[str, int]:
    """The value of the quoted string at ``start`` and the offset just past its closing quote."""
    quote = text[start]
    chars: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\":
            if index + 1 == len(text):
                break
            chars.append(text[index + 1])
            index += 2
        elif char == quote:
            return "".join(chars), index + 1
        else:
            chars.append(char)
            index += 1
    snippet = text[start : start + 20] + ("..." if len(text) - start > 20 else "")
    raise SearchQueryError(
        f"Unbalanced quotes in the query: the string that starts at {_at(start)} ({snippet}) has no closing "
        f"{quote}. Close it, and escape quotes inside a value with a backslash, e.g. name:'O\\'Brien'."
    )


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    space = False
    while index < len(text):
        char = text[index]
        if char.isspace():
            space = True
            index += 1
            continue
        if char in "'\"":
            value, end = _read_string(text, index)
            tokens.append(Token("string", text[index:end], index, space, value))
            index, space = end, False
            continue
        kind: TokenKind
        if match := _WORD.match(text, index):
            kind = "word"
        elif match := _NUMBER.match(text, index):
            kind = "number"
        elif match := _OPERATOR.match(text, index):
            kind = "operator"
        elif char in "-[]":
            kind = {"-": "minus", "[": "lbracket", "]": "rbracket"}[char]  # type: ignore[assignment]
            tokens.append(Token(kind, char, index, space))
            index, space = index + 1, False
            continue
        elif char in "()":
            raise SearchQueryError(
                f"Parentheses are not supported in search queries (found {char} at {_at(index)}). Join clauses "
                "with spaces or AND, or all of them with OR."
            )
        else:
            raise SearchQueryError(
                f"Unexpected character {char!r} at {_at(index)}. A clause is a field, an operator and a "
                "quoted value, e.g. email:'jenny@example.com'."
            )
        tokens.append(Token(kind, match.group(), index, space))
        index, space = match.end(), False
    return tokens


# --- Syntax tree ------------------------------------------------------------------------------

Value = str | int | None  # a quoted string, a bare whole number, or null


@dataclass(frozen=True)
class Clause:
    field: str
    operator: Operator
    value: Value
    key: str | None = None  # metadata['key']
    negated: bool = False
    position: int = dataclasses.field(default=0, compare=False)  # where the clause starts, for messages

    def describe(self) -> str:
        name = self.field if self.key is None else f"{self.field}[{json.dumps(self.key)}]"
        return f"{'-' if self.negated else ''}{name}{self.operator}"


@dataclass(frozen=True)
class Query:
    clauses: tuple[Clause, ...]
    connector: Connector = "AND"


# --- Parser -----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    def peek(self, ahead: int = 0) -> Token | None:
        index = self.index + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def describe_next(self) -> str:
        token = self.peek()
        return f"{token.text!r} at {_at(token.position)}" if token else "the end of the query"

    def connector_at(self, ahead: int = 0) -> Connector | None:
        """``AND``/``OR`` (any case) standing alone between spaces, at ``ahead`` tokens from here."""
        token, following = self.peek(ahead), self.peek(ahead + 1)
        if token is None or token.kind != "word" or token.text.upper() not in {"AND", "OR"}:
            return None
        if following is not None and not following.space_before:
            return None  # e.g. ``or:'x'``: a field that happens to be spelt like a keyword
        return "AND" if token.text.upper() == "AND" else "OR"

    def adjacent(self, kind: TokenKind, after: Token, expected: str) -> Token:
        token = self.peek()
        if token is None or token.kind != kind or token.space_before:
            found = self.describe_next()
            if token is not None and token.space_before:
                found = f"a space at {_at(after.position + len(after.text))}"
            raise SearchQueryError(
                f"Expected {expected} right after {after.text!r} at {_at(after.position)}, found {found}."
            )
        return self.take()

    def query(self) -> Query:
        if not self.tokens:
            raise SearchQueryError(
                "The search query is empty. Give at least one clause, e.g. email:'jenny@example.com'."
            )
        clauses = [self.clause()]
        connector: Connector | None = None
        while (token := self.peek()) is not None:
            keyword = self.connector_at()
            if keyword is not None:
                self.take()
                if self.peek() is None:
                    raise SearchQueryError(
                        f"The query ends with {token.text} (at {_at(token.position)}); add a clause after it."
                    )
            elif not token.space_before:
                raise SearchQueryError(
                    f"Expected a space, AND or OR before {token.text!r} at {_at(token.position)}: clauses are "
                    "separated by white space."
                )
            joined: Connector = keyword or "AND"
            if connector is not None and joined != connector:
                found = keyword or "a space (which means AND)"
                raise SearchQueryError(
                    f"A query cannot mix AND and OR: {found} at {_at(token.position)} follows an earlier "
                    f"{'OR' if connector == 'OR' else 'AND or space'}. Join all clauses with AND (or spaces), or all "
                    "with OR."
                )
            connector = joined
            clauses.append(self.clause())
            if len(clauses) > MAX_CLAUSES:
                raise SearchQueryError(
                    f"A search query can have at most {MAX_CLAUSES} clauses; the 11th starts at "
                    f"{_at(clauses[-1].position)}."
                )
        return Query(tuple(clauses), connector or "AND")

    def clause(self) -> Clause:
        first = self.peek()
        assert first is not None
        keyword = self.connector_at()
        if keyword is not None:
            raise SearchQueryError(f"Expected a clause at {_at(first.position)}, found the keyword {first.text}.")
        negated = first.kind == "minus"
        if negated:
            self.take()
            name = self.adjacent("word", first, "a field name")
        elif first.kind == "word":
            name = self.take()
        else:
            raise SearchQueryError(
                f"Expected a field name at {_at(first.position)}, found {first.text!r}. A clause is a field, an "
                "operator and a value, e.g. email:'jenny@example.com'."
            )
        key = None
        last = name
        if (bracket := self.peek()) is not None and bracket.kind == "lbracket" and not bracket.space_before:
            self.take()
            quoted = self.adjacent("string", bracket, "a quoted key (as in metadata['plan'])")
            key = quoted.value
            last = self.adjacent("rbracket", quoted, "]")
        symbol = self.adjacent("operator", last, "an operator (:, ~, >, <, >=, <= or =)")
        value = self.value(symbol)
        op: Operator = symbol.text  # type: ignore[assignment]
        clause = Clause(name.text, op, value, key=key, negated=negated, position=first.position)
        self.check_operator(clause)
        return clause

    def value(self, symbol: Token) -> Value:
        token = self.peek()
        if token is None or token.space_before or token.kind not in {"string", "number", "word"}:
            found = self.describe_next()
            if token is not None and token.space_before:
                found = f"a space at {_at(symbol.position + len(symbol.text))}"
            raise SearchQueryError(
                f"Expected a value right after {symbol.text!r} at {_at(symbol.position)}, found {found}. Quote "
                "string values, e.g. name:'Jenny Rosen'."
            )
        self.take()
        if token.kind == "string":
            return token.value
        if token.kind == "number":
            if "." in token.text:
                raise SearchQueryError(
                    f"Only whole numbers can be searched for; {token.text} at {_at(token.position)} has a fraction."
                )
            return int(token.text)
        if token.text == "null":
            return None
        raise SearchQueryError(
            f"The value {token.text!r} at {_at(token.position)} must be quoted: write '{token.text}' (numbers and "
            "null are the only values written without quotes)."
        )

    @staticmethod
    def check_operator(clause: Clause) -> None:
        where = f"{clause.describe()} at {_at(clause.position)}"
        if clause.value is None and clause.operator != ":":
            raise SearchQueryError(f"null can only be matched with ':' ({where}), e.g. email:null.")
        if clause.operator == "~":
            if not isinstance(clause.value, str):
                raise SearchQueryError(f"A substring match (~) needs a quoted string ({where}).")
            if len(clause.value) < MIN_SUBSTRING:
                raise SearchQueryError(
                    f"A substring match (~) needs at least {MIN_SUBSTRING} characters; {where} has {len(clause.value)}."
                )


def parse(text: str) -> Query:
    """The syntax tree of ``text``; raises ``SearchQueryError`` for anything malformed."""
    return _Parser(text).query()


# --- Resources and compilation ----------------------------------------------------------------

FieldType = Literal["string", "token", "numeric", "amount", "metadata"]


@dataclass(frozen=True)
class SearchField:
    """How one searchable field maps onto the model.

    ``string`` fields match ``:`` case-insensitively and support ``~``; ``token`` fields match
    ``:`` exactly; ``numeric`` fields are Unix timestamps compared with ``:`` and the comparison
    operators; ``amount`` fields are whole numbers of minor units (an invoice's ``total``) compared
    the same way. A token field with ``choices`` accepts only those values, each meaning a condition
    (booleans, and values computed from several columns such as a price's ``type``).
    """

    type: FieldType
    column: str | None = None  # lookup path on the model; None when only ``choices`` apply
    choices: Mapping[str, Q] | None = None


@dataclass(frozen=True)
class SearchSpec:
    resource: str  # plural, as in the URL: "customers"
    fields: Mapping[str, SearchField]

    def field_for(self, clause: Clause) -> SearchField:
        spec = self.fields.get(clause.field)
        if spec is None:
            raise SearchQueryError(
                f"Field {clause.field!r} (at {_at(clause.position)}) is not a search field for {self.resource}. "
                f"Searchable fields: {', '.join(sorted(self.fields))}."
            )
        if spec.type == "metadata" and clause.key is None:
            raise SearchQueryError(
                f"{clause.field} (at {_at(clause.position)}) needs a key: write {clause.field}['key']:'value'."
            )
        if spec.type != "metadata" and clause.key is not None:
            raise SearchQueryError(
                f"{clause.field} (at {_at(clause.position)}) has no keys: write {clause.field}:'value'."
            )
        return spec


def boolean(column: str) -> SearchField:
    return SearchField("token", column, {"true": Q(**{column: True}), "false": Q(**{column: False})})


def metadata_field() -> SearchField:
    return SearchField("metadata", "metadata")


class MetadataValue(Func):
    """The string stored under one metadata key, or NULL when the key is absent.

    Django's own key lookups read a key made of digits as an array index, so ``metadata['123']``
    would never match; these read any key as an object label, on both databases.
    """

    output_field = models.CharField()

    def __init__(self, column: str, key: str) -> None:
        super().__init__(F(column))
        self.key = key

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        # ``column`` is Django's own quoted column reference; the key travels as a parameter.
        column, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "sqlite":
            return f"(SELECT value FROM json_each({column}) WHERE key = %s)", (*params, self.key)  # noqa: S608
        if connection.vendor == "postgresql":
            return f"({column} ->> (%s)::text)", (*params, self.key)
        raise NotSupportedError(f"Metadata search is not implemented for {connection.vendor}.")


def _timestamp(clause: Clause) -> int:
    value = clause.value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,12}", value.strip()):
        value = int(value)
    if not isinstance(value, int):
        raise SearchQueryError(
            f"{clause.field} is a Unix timestamp; {clause.describe()} at {_at(clause.position)} needs a whole "
            f"number, e.g. {clause.field}>1609459200."
        )
    if not 0 <= value <= MAX_TIMESTAMP:
        raise SearchQueryError(
            f"The timestamp {value} at {_at(clause.position)} is out of range: use Unix seconds from 0 to "
            f"{MAX_TIMESTAMP}."
        )
    return value


def _numeric(clause: Clause, column: str) -> Q:
    if clause.value is None:
        return Q(**{f"{column}__isnull": True})
    stamp = _timestamp(clause)
    # Stored times have sub-second precision while the query speaks whole seconds: compare
    # against the second each row's ``created`` falls in.
    start, next_second = clock.from_unix(stamp), clock.from_unix(stamp + 1)
    if clause.operator in {":", "="}:
        return Q(**{f"{column}__gte": start, f"{column}__lt": next_second})
    bounds = {">": ("gte", next_second), ">=": ("gte", start), "<": ("lt", start), "<=": ("lt", next_second)}
    lookup, moment = bounds[clause.operator]
    return Q(**{f"{column}__{lookup}": moment})


def _amount(clause: Clause, column: str) -> Q:
    if clause.value is None:
        return Q(**{f"{column}__isnull": True})
    value = clause.value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,18}", value.strip()):
        value = int(value)
    if not isinstance(value, int):
        raise SearchQueryError(
            f"{clause.field} is an amount in minor units; {clause.describe()} at {_at(clause.position)} needs a "
            f"whole number, e.g. {clause.field}>1000 for more than 10.00."
        )
    lookups = {":": "exact", "=": "exact", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
    return Q(**{f"{column}__{lookups[clause.operator]}": value})


def _compile_clause(clause: Clause, spec: SearchSpec) -> Q:
    field_spec = spec.field_for(clause)
    where = f"{clause.describe()} at {_at(clause.position)}"
    if clause.operator in COMPARISONS and field_spec.type not in ("numeric", "amount"):
        numeric = [name for name, f in spec.fields.items() if f.type in ("numeric", "amount")]
        raise SearchQueryError(
            f"{clause.field} is not a numeric field, so it cannot be compared with {clause.operator} ({where}); "
            f"numeric fields for {spec.resource}: {', '.join(numeric)}."
        )
    if clause.operator == "~" and field_spec.type != "string":
        raise SearchQueryError(
            f"{clause.field} only supports exact matches with ':', not substring matches with '~' ({where})."
        )
    if field_spec.type == "metadata":
        assert clause.key is not None and field_spec.column is not None
        if not clause.key:
            raise SearchQueryError(f"The metadata key at {_at(clause.position)} is empty.")
        found = MetadataValue(field_spec.column, clause.key)
        if clause.value is None:
            return Q(IsNull(found, not clause.negated))
        match = Q(Exact(found, str(clause.value)))
        # NOT (value = 'x') is unknown, not true, when the key is absent: count absent as "not 'x'".
        return ~match | Q(IsNull(found, True)) if clause.negated else match
    condition = _compile_positive(clause, field_spec, where)
    return ~condition if clause.negated else condition


def _compile_positive(clause: Clause, field_spec: SearchField, where: str) -> Q:
    column = field_spec.column
    if field_spec.type == "numeric":
        assert column is not None
        return _numeric(clause, column)
    if field_spec.type == "amount":
        assert column is not None
        return _amount(clause, column)
    if clause.value is None:
        if column is None:
            raise SearchQueryError(f"{clause.field} always has a value, so it cannot be null ({where}).")
        return Q(**{f"{column}__isnull": True})
    text = str(clause.value)
    if field_spec.choices is not None:
        if text not in field_spec.choices:
            options = " or ".join(f"'{choice}'" for choice in field_spec.choices)
            raise SearchQueryError(f"{clause.field} is {options}; {where} gives {text!r}.")
        return field_spec.choices[text]
    assert column is not None
    if clause.operator == "~":
        return Q(**{f"{column}__icontains": text})
    if field_spec.type == "string":
        return Q(**{f"{column}__iexact": text})
    return Q(**{column: text})


def compile_query(query: Query, spec: SearchSpec) -> Q:
    """The condition ``query`` puts on rows of ``spec``'s resource."""
    conditions = [_compile_clause(clause, spec) for clause in query.clauses]
    join = operator.or_ if query.connector == "OR" else operator.and_
    return functools.reduce(join, conditions)


# --- The searchable resources, with the fields Stripe documents for each -----------------------

CREATED = SearchField("numeric", "created")

CUSTOMERS = SearchSpec(
    "customers",
    {
        "created": CREATED,
        "email": SearchField("string", "email"),
        "metadata": metadata_field(),
        "name": SearchField("string", "name"),
        "phone": SearchField("string", "phone"),
    },
)
PRODUCTS = SearchSpec(
    "products",
    {
        "active": boolean("active"),
        "created": CREATED,
        "description": SearchField("string", "description"),
        "metadata": metadata_field(),
        "name": SearchField("string", "name"),
        "shippable": boolean("shippable"),
        "url": SearchField("string", "url"),
    },
)
PRICES = SearchSpec(
    "prices",
    {
        "active": boolean("active"),
        "created": CREATED,
        "currency": SearchField("token", "currency"),
        "lookup_key": SearchField("string", "lookup_key"),
        "metadata": metadata_field(),
        "product": SearchField("string", "product__public_id"),
        "type": SearchField(
            "token",
            choices={
                "one_time": Q(recurring_interval__isnull=True),
                "recurring": Q(recurring_interval__isnull=False),
            },
        ),
    },
)


# --- Running a search -------------------------------------------------------------------------

M = TypeVar("M", bound="StripeObject")


def _fingerprint(url: str, query: str) -> str:
    # Binds a page token to the search that produced it, so it cannot page through another one.
    return hashlib.sha256(f"{url}\n{query}".encode()).hexdigest()[:16]


def _page_token(cursor_id: str, url: str, query: str) -> str:
    raw = json.dumps([cursor_id, _fingerprint(url, query)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_page_token(token: str, url: str, query: str) -> str:
    invalid = ParamError(
        "Invalid page: pass the next_page value from the previous response of this same search.", param="page"
    )
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError):
        raise invalid from None
    if not (isinstance(decoded, list) and len(decoded) == 2 and all(isinstance(part, str) for part in decoded)):
        raise invalid
    cursor_id, fingerprint = decoded
    if fingerprint != _fingerprint(url, query):
        raise ParamError(
            "This page token belongs to a different search query. Pass the query that produced it, or start "
            "again without page.",
            param="page",
        )
    return str(cursor_id)


def search_page(
    queryset: models.QuerySet[M],
    *,
    livemode: bool,
    spec: SearchSpec,
    query: str,
    params: Mapping[str, Any],
    url: str,
    render: Callable[[list[M]], Sequence[dict[str, Any]]],
    total_count: bool = False,
) -> dict[str, Any]:
    """One page of the rows of ``queryset`` (already scoped to ``livemode``) that match ``query``.

    Newest first. The page token names the last row shown; the next page starts below it even
    if that row has since stopped matching or been deleted.
    """
    matching = queryset.filter(compile_query(parse(query), spec))
    limit: int = params.get("limit") or 10
    page = matching
    if (token := params.get("page")) is not None:
        cursor_id = _read_page_token(token, url, query)
        cursor = (
            queryset.model._default_manager.filter(public_id=cursor_id, livemode=livemode)
            .values_list("pk", flat=True)
            .first()
        )
        if cursor is None:
            raise ParamError(
                "Invalid page: pass the next_page value from the previous response of this same search.", param="page"
            )
        page = matching.filter(pk__lt=cursor)
    rows = list(page.order_by("-pk")[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    result: dict[str, Any] = {
        "object": "search_result",
        "data": list(render(rows)),
        "has_more": has_more,
        "next_page": _page_token(rows[-1].public_id, url, query) if has_more else None,
        "url": url,
    }
    if total_count:
        result["total_count"] = matching.count()
    return result
