"""The tax ID table: formats, normalisation, countries, check digits and refusals."""

from __future__ import annotations

import typing

import pytest
from stripe.params._customer_create_tax_id_params import CustomerCreateTaxIdParams

from billfold.core.errors import InvalidParam
from billfold.customers.tax_id_formats import (
    EU_VAT_COUNTRIES,
    FORMATS,
    NOT_YET_SUPPORTED,
    ParsedTaxId,
    compact,
    parse_tax_id,
)


def parse(tax_type: str, value: str, *, check_digits: bool = False) -> ParsedTaxId:
    return parse_tax_id(tax_type=tax_type, value=value, check_digits=check_digits)


def refusal(tax_type: str, value: str, *, check_digits: bool = False) -> InvalidParam:
    with pytest.raises(InvalidParam) as raised:
        parse(tax_type, value, check_digits=check_digits)
    return raised.value


def test_every_type_the_sdk_knows_is_validated_or_refused_by_name() -> None:
    sdk_union = CustomerCreateTaxIdParams.__annotations__["type"]
    sdk_types = set(typing.get_args(typing.get_args(sdk_union)[0]))
    assert sdk_types == set(FORMATS) | NOT_YET_SUPPORTED
    assert not set(FORMATS) & NOT_YET_SUPPORTED


@pytest.mark.parametrize("tax_type", sorted(FORMATS))
def test_stripes_documented_example_is_accepted_as_is(tax_type: str) -> None:
    tax_format = FORMATS[tax_type]
    parsed = parse(tax_type, tax_format.example)
    # ar_cuit's documented example groups its digits 2-7-2; Argentina writes a CUIT 2-8-1.
    expected = "12-34567890-1" if tax_type == "ar_cuit" else tax_format.example
    # eu_vat takes its country from the value's prefix.
    country = "DE" if tax_type == "eu_vat" else tax_format.country
    assert parsed == ParsedTaxId(type=tax_type, value=expected, country=country)


@pytest.mark.parametrize("prefix", sorted(EU_VAT_COUNTRIES))
def test_every_eu_vat_prefix_accepts_its_example(prefix: str) -> None:
    country = EU_VAT_COUNTRIES[prefix]
    assert parse("eu_vat", country.example) == ParsedTaxId(
        type="eu_vat", value=country.example, country=country.country
    )


@pytest.mark.parametrize(
    ("tax_type", "typed", "stored", "country"),
    [
        ("eu_vat", "de 123.456-789", "DE123456789", "DE"),
        ("eu_vat", "EL 123456789", "EL123456789", "GR"),
        ("eu_vat", "XI123456789", "XI123456789", "GB"),
        ("eu_vat", "xigd123", "XIGD123", "GB"),
        ("eu_vat", "FR AB 123456789", "FRAB123456789", "FR"),
        ("eu_vat", "NL123456789b12", "NL123456789B12", "NL"),
        ("eu_vat", "IE1234567A", "IE1234567A", "IE"),
        ("eu_oss_vat", "eu 123 456 789", "EU123456789", None),
        ("gb_vat", "GB 123 4567 89", "GB123456789", "GB"),
        ("us_ein", "123456789", "12-3456789", "US"),
        ("us_ein", "12 3456789", "12-3456789", "US"),
        ("au_abn", "51 824 753 556", "51824753556", "AU"),
        ("br_cnpj", "11222333000181", "11.222.333/0001-81", "BR"),
        ("br_cpf", "11144477735", "111.444.777-35", "BR"),
        ("ch_vat", "che123456788mwst", "CHE-123.456.788 MWST", "CH"),
        ("ch_vat", "CHE-123.456.788 TVA", "CHE-123.456.788 TVA", "CH"),
        ("ch_uid", "CHE123456788", "CHE-123.456.788", "CH"),
        ("cl_tin", "123456785", "12.345.678-5", "CL"),
        ("cl_tin", "7.654.321-K", "7.654.321-K", "CL"),
        ("my_itn", "c1234567890", "C 1234567890", "MY"),
        ("my_itn", "IG 12345678901", "IG 12345678901", "MY"),
        ("ca_pst_bc", "pst 1234 5678", "PST-1234-5678", "CA"),
        ("kr_brn", "1234567890", "123-45-67890", "KR"),
        ("in_gst", "12abcde3456fgzh", "12ABCDE3456FGZH", "IN"),
        ("no_vat", "923 609 016 MVA", "923609016MVA", "NO"),
        # A length the layout does not cover is kept compact rather than mis-grouped.
        ("co_nit", "12345678-9", "123456789", "CO"),
        ("id_npwp", "1234567890123456", "123.456.789.0-123.456", "ID"),
        ("id_npwp", "123456789012345", "123456789012345", "ID"),
        ("za_vat", "4123456789", "4123456789", "ZA"),
    ],
)
def test_values_are_normalised_and_get_their_country(
    tax_type: str, typed: str, stored: str, country: str | None
) -> None:
    assert parse(tax_type, typed) == ParsedTaxId(type=tax_type, value=stored, country=country)


def test_compact_removes_separators_and_upper_cases() -> None:
    assert compact(" de 12.34-56/789\t") == "DE123456789"


@pytest.mark.parametrize(
    ("tax_type", "value", "example"),
    [
        ("au_abn", "1234", "12345678912"),
        ("au_abn", "123456789123", "12345678912"),
        ("us_ein", "12-345678", "12-3456789"),
        ("us_ein", "AB-3456789", "12-3456789"),
        ("za_vat", "5123456789", "4123456789"),
        ("gb_vat", "123456789", "GB123456789"),
        ("ca_gst_hst", "123456789RP0001", "123456789RT0002"),
        ("in_gst", "12ABCDE3456FGYH", "12ABCDE3456FGZH"),
        ("nz_gst", "1234567", "123456789"),
        ("sg_uen", "12345678", "123456789F"),
        ("jp_trn", "1234567891234", "T1234567891234"),
        ("ch_vat", "CHE-123.456.789", "CHE-123.456.789 MWST"),
        ("no_vat", "123456789", "123456789MVA"),
        ("mx_rfc", "AB010203AB9", "ABC010203AB9"),
        ("eu_oss_vat", "DE123456789", "EU123456789"),
        ("br_cpf", "123.456.789", "123.456.789-87"),
        ("au_abn", "12345,678912", "12345678912"),
    ],
)
def test_a_malformed_value_is_refused_quoting_the_documented_example(tax_type: str, value: str, example: str) -> None:
    error = refusal(tax_type, value)
    assert error.code == "tax_id_invalid"
    assert error.param == "value"
    description = FORMATS[tax_type].description
    assert error.message == (
        f"Invalid value for {tax_type} ({description}): '{value}'. Expected a value in the format {example}."
    )


@pytest.mark.parametrize(
    ("value", "expectation"),
    [
        ("DE12345678", "A German VAT number looks like DE123456789."),
        (
            "GR123456789",
            "A European VAT number starts with the country prefix (EL for Greece, XI for Northern "
            "Ireland), e.g. DE123456789.",
        ),
        (
            "123456789",
            "A European VAT number starts with the country prefix (EL for Greece, XI for Northern "
            "Ireland), e.g. DE123456789.",
        ),
        (
            "GB123456789",
            "UK VAT numbers use the type gb_vat; eu_vat takes Northern Ireland numbers with the prefix "
            "XI (e.g. XI123456789).",
        ),
        ("ATU1234567", "An Austrian VAT number looks like ATU12345678."),
        ("NL123456789012", "A Dutch VAT number looks like NL123456789B12."),
        ("FRIO123456789", "A French VAT number looks like FRAB123456789."),
    ],
)
def test_eu_vat_refusals_explain_the_country_format(value: str, expectation: str) -> None:
    error = refusal("eu_vat", value)
    assert (error.code, error.param) == ("tax_id_invalid", "value")
    assert error.message == f"Invalid value for eu_vat (European VAT number): '{value}'. {expectation}"


# Real or arithmetically valid numbers, and the same numbers with one digit changed.
CHECKED = [
    ("au_abn", "51824753556", "51824753557"),
    ("br_cpf", "111.444.777-35", "111.444.777-36"),
    ("br_cnpj", "11.222.333/0001-81", "11.222.333/0001-82"),
    ("br_cnpj", "12.ABC.345/01DE-35", "12.ABC.345/01DE-36"),
    ("us_ein", "12-3456789", "07-3456789"),
    ("no_vat", "923609016MVA", "923609017MVA"),
    ("ch_vat", "CHE-116.281.710 MWST", "CHE-116.281.711 MWST"),
    ("ch_uid", "CHE-116.281.710", "CHE-116.281.711"),
    ("cl_tin", "76.086.428-5", "76.086.428-K"),
    ("jp_cn", "7000012050002", "6000012050002"),
    ("jp_trn", "T7000012050002", "T7000012050003"),
    ("pl_nip", "5260250274", "5260250275"),
    ("hr_oib", "33392005961", "33392005962"),
]


@pytest.mark.parametrize(("tax_type", "valid", "mistyped"), CHECKED)
def test_check_digits_are_verified_when_asked(tax_type: str, valid: str, mistyped: str) -> None:
    assert parse(tax_type, valid, check_digits=True).type == tax_type
    error = refusal(tax_type, mistyped, check_digits=True)
    assert error.code == "tax_id_invalid"
    assert error.message.endswith(
        "It has the expected format but its check digits do not match; look for a mistyped digit."
    )
    # The format alone accepts the mistyped number: test mode does not look at check digits.
    assert parse(tax_type, mistyped).type == tax_type


def test_stripes_placeholder_examples_fail_check_digits() -> None:
    placeholders = [t for t, f in FORMATS.items() if f.check is not None and not f.check(compact(f.example))]
    assert placeholders == [
        "au_abn",
        "br_cnpj",
        "br_cpf",
        "ch_uid",
        "ch_vat",
        "cl_tin",
        "hr_oib",
        "jp_cn",
        "jp_trn",
        "no_vat",
        "pl_nip",
    ]


@pytest.mark.parametrize("value", ["000.000.000-00", "111.111.111-11"])
def test_repeated_digit_cpfs_are_never_issued(value: str) -> None:
    assert refusal("br_cpf", value, check_digits=True).code == "tax_id_invalid"


@pytest.mark.parametrize(
    ("tax_type", "message"),
    [
        ("xx_vat", "Unknown tax ID type 'xx_vat'. Common types are eu_vat, gb_vat, us_ein, au_abn and ca_bn."),
        ("de_vat", "Unknown tax ID type 'de_vat'. Did you mean de_stn, eu_vat?"),
        ("gr_vat", "Unknown tax ID type 'gr_vat'. Did you mean eu_vat?"),
        ("au_abm", "Unknown tax ID type 'au_abm'. Did you mean au_abn, au_arn?"),
        ("eu_vta", "Unknown tax ID type 'eu_vta'. Did you mean eu_oss_vat, eu_vat?"),
        ("fr_siret", "Billfold does not support the tax ID type 'fr_siret' yet. Did you mean eu_vat?"),
        ("nz_bn", "Billfold does not support the tax ID type 'nz_bn' yet. Did you mean nz_gst?"),
        ("unknown", "Unknown tax ID type 'unknown'. Common types are eu_vat, gb_vat, us_ein, au_abn and ca_bn."),
    ],
)
def test_an_unsupported_type_is_refused_on_type_with_a_short_hint(tax_type: str, message: str) -> None:
    error = refusal(tax_type, "123")
    assert (error.param, error.code, error.message) == ("type", "parameter_invalid", message)


def test_refusal_params_carry_the_list_prefix() -> None:
    with pytest.raises(InvalidParam) as bad_value:
        parse_tax_id(tax_type="eu_vat", value="DE1", check_digits=False, param_prefix="tax_id_data[2]")
    assert bad_value.value.param == "tax_id_data[2][value]"
    with pytest.raises(InvalidParam) as bad_type:
        parse_tax_id(tax_type="xx_vat", value="1", check_digits=False, param_prefix="tax_id_data[0]")
    assert bad_type.value.param == "tax_id_data[0][type]"


def test_long_values_are_cut_in_messages() -> None:
    error = refusal("us_ein", "9" * 300)
    assert f"'{'9' * 40}'" in error.message
    assert "9" * 41 not in error.message
