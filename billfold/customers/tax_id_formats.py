"""Stripe's customer tax ID types: what each value looks like, which country it belongs to.

Each type carries Stripe's documented example (docs "Account and customer tax IDs", table
"Supported tax ID types"), a pattern for the value once compacted (upper case, without spaces,
dots, dashes or slashes, so ``DE 123 456 789`` and ``de123456789`` are one number), and, where
the documented form has separators, the layout it is stored in (``12-3456789`` for a US EIN
whatever way it was typed).

Check digits: some numbers carry public, simple check digits (ABN mod 89, CPF/CNPJ mod 11,
Swiss UID, Chilean RUT, Japanese corporate numbers...). Stripe's own documented examples do not
satisfy them (``12345678912`` is not a valid ABN) and test suites written against Stripe use
those examples, so check digits are enforced only for live-mode data; test mode checks the
format alone, as Stripe's test mode accepts its documented examples.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass

from billfold.core.errors import InvalidParam

# Separators people type inside tax numbers; none of them is significant in any format.
_SEPARATORS = re.compile(r"[\s./-]")


def compact(value: str) -> str:
    """The value without separators, upper-cased: the form every pattern is written for."""
    return _SEPARATORS.sub("", value).upper()


def _digits_weighted(digits: str, weights: list[int]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True))


def _abn_ok(number: str) -> bool:
    # Subtract 1 from the first digit, weight, and the sum must be divisible by 89.
    digits = str(int(number[0]) - 1) + number[1:] if number[0] != "0" else ""
    if not digits:
        return False
    return _digits_weighted(digits, [10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19]) % 89 == 0


def _cpf_ok(number: str) -> bool:
    if len(set(number)) == 1:
        # 111.111.111-11 and the like pass the arithmetic but are never issued.
        return False
    for size in (9, 10):
        total = _digits_weighted(number[:size], list(range(size + 1, 1, -1)))
        if (total * 10) % 11 % 10 != int(number[size]):
            return False
    return True


def _cnpj_ok(number: str) -> bool:
    # Since 2026 the first twelve characters may be letters; each counts as its code point - 48.
    values = [ord(c) - 48 for c in number]
    if len(set(number)) == 1:
        return False
    for size in (12, 13):
        weights = [(i % 8) + 2 for i in range(size)][::-1]
        rest = sum(v * w for v, w in zip(values[:size], weights, strict=True)) % 11
        if (0 if rest < 2 else 11 - rest) != values[size]:
            return False
    return True


# Two-digit prefixes the IRS assigns to EINs (campus and online prefixes); others are never issued.
_EIN_PREFIX_RANGES = [(1, 6), (10, 16), (20, 27), (30, 48), (50, 68), (71, 77), (80, 88), (90, 95), (98, 99)]
_EIN_PREFIXES = frozenset(f"{n:02d}" for low, high in _EIN_PREFIX_RANGES for n in range(low, high + 1))


def _ein_ok(number: str) -> bool:
    return number[:2] in _EIN_PREFIXES


def _mod11_weighted_ok(number: str, weights: list[int]) -> bool:
    """Check digit = 11 - (weighted sum mod 11), 11 meaning 0 and 10 meaning "never issued"."""
    body, check = number[: len(weights)], int(number[len(weights)])
    rest = 11 - _digits_weighted(body, weights) % 11
    return rest != 10 and rest % 11 == check


def _no_org_ok(number: str) -> bool:
    return _mod11_weighted_ok(number[:9], [3, 2, 7, 6, 5, 4, 3, 2])


def _swiss_uid_ok(number: str) -> bool:
    return _mod11_weighted_ok(number[3:12], [5, 4, 3, 2, 7, 6, 5, 4])


def _rut_ok(number: str) -> bool:
    body, check = number[:-1], number[-1]
    total = sum(int(d) * (2 + i % 6) for i, d in enumerate(reversed(body)))
    rest = 11 - total % 11
    return check == {11: "0", 10: "K"}.get(rest, str(rest))


def _jp_corporate_ok(number: str) -> bool:
    digits = number[-13:]
    # The leading digit checks the other twelve, weighted 1 and 2 alternately from the right.
    total = sum(int(d) * (2 if i % 2 else 1) for i, d in enumerate(reversed(digits[1:])))
    return int(digits[0]) == 9 - total % 9


def _pl_nip_ok(number: str) -> bool:
    rest = _digits_weighted(number[:9], [6, 5, 7, 2, 3, 4, 5, 6, 7]) % 11
    return rest != 10 and rest == int(number[9])


def _hr_oib_ok(number: str) -> bool:
    # ISO 7064, MOD 11,10.
    carry = 10
    for digit in number[:10]:
        carry = (carry + int(digit)) % 10 or 10
        carry = (carry * 2) % 11
    return (11 - carry) % 10 == int(number[10])


def _swiss_layout(number: str) -> str:
    digits, suffix = number[3:12], number[12:]
    formatted = f"CHE-{digits[:3]}.{digits[3:6]}.{digits[6:]}"
    return f"{formatted} {suffix}" if suffix else formatted


def _rut_layout(number: str) -> str:
    body, check = number[:-1], number[-1]
    return f"{int(body):,}".replace(",", ".") + f"-{check}"


def _letters_then_digits(number: str) -> str:
    letters = re.match(r"[A-Z]+", number)
    split = letters.end() if letters else 0
    return f"{number[:split]} {number[split:]}"


Layout = str | Callable[[str], str]


@dataclass(frozen=True)
class TaxIdFormat:
    type: str
    # ISO country of the number; None when it depends on the value (eu_vat) or spans countries.
    country: str | None
    description: str
    example: str
    pattern: re.Pattern[str]
    # A template with one ``#`` per compact character (used when the lengths agree), or a function.
    layout: Layout | None = None
    check: Callable[[str], bool] | None = None

    def display(self, number: str) -> str:
        if self.layout is None:
            return number
        if callable(self.layout):
            return self.layout(number)
        if self.layout.count("#") != len(number):
            return number
        characters = iter(number)
        return "".join(next(characters) if slot == "#" else slot for slot in self.layout)


def _f(
    type: str,
    country: str | None,
    description: str,
    example: str,
    pattern: str,
    *,
    layout: Layout | None = None,
    check: Callable[[str], bool] | None = None,
) -> TaxIdFormat:
    return TaxIdFormat(type, country, description, example, re.compile(pattern), layout, check)


_EU_VAT = "European VAT number"

FORMATS: dict[str, TaxIdFormat] = {
    f.type: f
    for f in [
        _f("ad_nrt", "AD", "Andorran NRT number", "A-123456-Z", r"[A-Z]\d{6}[A-Z]", layout="#-######-#"),
        _f("ae_trn", "AE", "United Arab Emirates TRN", "123456789012345", r"\d{15}"),
        _f("al_tin", "AL", "Albania Tax Identification Number", "J12345678N", r"[A-Z]\d{8}[A-Z]"),
        _f("am_tin", "AM", "Armenia Tax Identification Number", "02538904", r"\d{8}"),
        _f("ao_tin", "AO", "Angola Tax Identification Number", "5123456789", r"\d{10}"),
        _f("ar_cuit", "AR", "Argentinian tax ID number", "12-3456789-01", r"\d{11}", layout="##-########-#"),
        _f("au_abn", "AU", "Australian Business Number (AU ABN)", "12345678912", r"\d{11}", check=_abn_ok),
        _f("au_arn", "AU", "Australian Taxation Office Reference Number", "123456789123", r"\d{12}"),
        _f("aw_tin", "AW", "Aruba Tax Identification Number", "12345678", r"\d{8}"),
        _f("az_tin", "AZ", "Azerbaijan Tax Identification Number", "0123456789", r"\d{10}"),
        _f("ba_tin", "BA", "Bosnia and Herzegovina Tax Identification Number", "123456789012", r"\d{12,13}"),
        _f("bb_tin", "BB", "Barbados Tax Identification Number", "1123456789012", r"\d{13}"),
        _f(
            "bd_bin",
            "BD",
            "Bangladesh Business Identification Number",
            "123456789-0123",
            r"\d{13}",
            layout="#########-####",
        ),
        _f("bf_ifu", "BF", "Burkina Faso Tax Identification Number", "12345678A", r"\d{8}[A-Z]"),
        _f("bg_uic", "BG", "Bulgaria Unified Identification Code", "123456789", r"\d{9}|\d{13}"),
        _f("bh_vat", "BH", "Bahraini VAT Number", "123456789012345", r"\d{15}"),
        _f("bj_ifu", "BJ", "Benin Tax Identification Number", "1234567890123", r"\d{13}"),
        _f("bo_tin", "BO", "Bolivian tax ID", "123456789", r"\d{7,12}"),
        _f(
            "br_cnpj",
            "BR",
            "Brazilian CNPJ number",
            "01.234.456/5432-10",
            r"[A-Z0-9]{12}\d{2}",
            layout="##.###.###/####-##",
            check=_cnpj_ok,
        ),
        _f(
            "br_cpf",
            "BR",
            "Brazilian CPF number",
            "123.456.789-87",
            r"\d{11}",
            layout="###.###.###-##",
            check=_cpf_ok,
        ),
        _f("bs_tin", "BS", "Bahamas Tax Identification Number", "123.456.789", r"\d{9}", layout="###.###.###"),
        _f("by_tin", "BY", "Belarus TIN Number", "123456789", r"[A-Z0-9]{2}\d{7}"),
        _f("ca_bn", "CA", "Canadian BN", "123456789", r"\d{9}"),
        _f("ca_gst_hst", "CA", "Canadian GST/HST number", "123456789RT0002", r"\d{9}RT\d{4}"),
        _f(
            "ca_pst_bc",
            "CA",
            "Canadian PST number (British Columbia)",
            "PST-1234-5678",
            r"PST\d{8}",
            layout="###-####-####",
        ),
        _f("ca_pst_mb", "CA", "Canadian PST number (Manitoba)", "123456-7", r"\d{7}", layout="######-#"),
        _f("ca_pst_sk", "CA", "Canadian PST number (Saskatchewan)", "1234567", r"\d{7}"),
        _f("ca_qst", "CA", "Canadian QST number (Québec)", "1234567890TQ1234", r"\d{10}TQ\d{4}"),
        _f("cd_nif", "CD", "Congo (DR) Tax Identification Number", "A0123456M", r"[A-Z]\d{7}[A-Z]"),
        _f(
            "ch_uid",
            "CH",
            "Switzerland UID number",
            "CHE-123.456.789 HR",
            r"CHE\d{9}(HR)?",
            layout=_swiss_layout,
            check=_swiss_uid_ok,
        ),
        _f(
            "ch_vat",
            "CH",
            "Switzerland VAT number",
            "CHE-123.456.789 MWST",
            r"CHE\d{9}(MWST|TVA|IVA|TPV)",
            layout=_swiss_layout,
            check=_swiss_uid_ok,
        ),
        _f("cl_tin", "CL", "Chilean TIN", "12.345.678-K", r"\d{7,8}[0-9K]", layout=_rut_layout, check=_rut_ok),
        _f("cm_niu", "CM", "Cameroon Tax Identification Number", "M123456789000L", r"[A-Z]\d{12}[A-Z]"),
        _f("cn_tin", "CN", "Chinese tax ID", "123456789012345678", r"[0-9A-Z]{18}|\d{15}"),
        _f("co_nit", "CO", "Colombian NIT number", "123.456.789-0", r"\d{8,10}", layout="###.###.###-#"),
        _f("cr_tin", "CR", "Costa Rican tax ID", "1-234-567890", r"\d{9,12}", layout="#-###-######"),
        _f("cv_nif", "CV", "Cape Verde Tax Identification Number", "213456789", r"\d{9}"),
        _f("de_stn", "DE", "German Tax Number (Steuernummer)", "1234567890", r"\d{10,13}"),
        _f("do_rcn", "DO", "Dominican RCN number", "123-4567890-1", r"\d{9}|\d{11}", layout="###-#######-#"),
        _f("ec_ruc", "EC", "Ecuadorian RUC number", "1234567890001", r"\d{13}"),
        _f("eg_tin", "EG", "Egyptian Tax Identification Number", "123456789", r"\d{9}"),
        _f("es_cif", "ES", "Spanish NIF number", "A12345678", r"[A-Z0-9]\d{7}[A-Z0-9]"),
        _f("et_tin", "ET", "Ethiopia Tax Identification Number", "1234567890", r"\d{10}"),
        _f(
            "eu_oss_vat",
            None,
            "European One Stop Shop VAT number for non-Union scheme",
            "EU123456789",
            r"EU\d{9}",
        ),
        # The pattern is per country prefix, see EU_VAT_COUNTRIES.
        _f("eu_vat", None, _EU_VAT, "DE123456789", r"[A-Z]{2}[0-9A-Z+*]{2,13}"),
        _f("fo_vat", "FO", "Faroe Islands VAT number", "FO123456", r"(FO)?\d{6}"),
        _f("gb_vat", "GB", "United Kingdom VAT number", "GB123456789", r"GB(\d{9}|\d{12}|GD\d{3}|HA\d{3})"),
        _f("ge_vat", "GE", "Georgian VAT", "123456789", r"\d{9}"),
        _f("gi_tin", "GI", "Gibraltar Tax Identification number", "12345", r"\d{5,6}"),
        _f("gn_nif", "GN", "Guinea Tax Identification Number", "123456789", r"\d{9}"),
        _f("hk_br", "HK", "Hong Kong BR number", "12345678", r"\d{8}"),
        _f("hr_oib", "HR", "Croatian Personal Identification Number", "12345678901", r"\d{11}", check=_hr_oib_ok),
        _f("hu_tin", "HU", "Hungary tax number (adószám)", "12345678-1-23", r"\d{11}", layout="########-#-##"),
        _f(
            "id_npwp",
            "ID",
            "Indonesian NPWP number",
            "012.345.678.9-012.345",
            r"\d{15,16}",
            layout="###.###.###.#-###.###",
        ),
        _f("il_vat", "IL", "Israel VAT", "000012345", r"\d{9}"),
        _f("in_gst", "IN", "Indian GST number", "12ABCDE3456FGZH", r"\d{2}[A-Z]{5}\d{4}[A-Z][0-9A-Z]Z[0-9A-Z]"),
        _f("is_vat", "IS", "Icelandic VAT", "123456", r"\d{5,6}"),
        _f(
            "it_cf",
            "IT",
            "Italian Codice Fiscale number",
            "ABCDEF12A12A123A",
            # Letters may stand in for digits (omocodia) in a person's code; companies have 11 digits.
            r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]|\d{11}",
        ),
        _f(
            "jp_cn",
            "JP",
            "Japanese Corporate Number (Hōjin Bangō)",
            "1234567891234",
            r"\d{13}",
            check=_jp_corporate_ok,
        ),
        _f(
            "jp_rn",
            "JP",
            "Japanese Registered Foreign Businesses' Registration Number (Tōroku Kokugai Jigyōsha no Tōroku Bangō)",
            "12345",
            r"\d{5}",
        ),
        _f(
            "jp_trn",
            "JP",
            "Japanese Tax Registration Number (Tōroku Bangō)",
            "T1234567891234",
            r"T\d{13}",
            check=_jp_corporate_ok,
        ),
        _f(
            "ke_pin",
            "KE",
            "Kenya Revenue Authority Personal Identification Number",
            "P000111111A",
            r"[A-Z]\d{9}[A-Z]",
        ),
        _f("kg_tin", "KG", "Kyrgyzstan Tax Identification Number", "12345678901234", r"\d{14}"),
        _f(
            "kh_tin",
            "KH",
            "Cambodia Tax Identification Number",
            "1001-123456789",
            r"[A-Z0-9]\d{12}",
            layout="####-#########",
        ),
        _f("kr_brn", "KR", "Korean BRN", "123-45-67890", r"\d{10}", layout="###-##-#####"),
        _f("kz_bin", "KZ", "Kazakhstani Business Identification Number", "123456789012", r"\d{12}"),
        _f("la_tin", "LA", "Laos Tax Identification Number", "123456789-000", r"\d{12}", layout="#########-###"),
        _f("li_uid", "LI", "Liechtensteinian UID number", "CHE123456789", r"CHE\d{9}"),
        _f("li_vat", "LI", "Liechtensteinian VAT number", "12345", r"\d{5}"),
        _f("lk_vat", "LK", "Sri Lanka VAT number", "123456789-1234", r"\d{13}", layout="#########-####"),
        _f("ma_vat", "MA", "Morocco VAT Number", "12345678", r"\d{8}"),
        _f("md_vat", "MD", "Moldova VAT Number", "1234567", r"\d{7}"),
        _f("me_pib", "ME", "Montenegro PIB Number", "12345678", r"\d{8}"),
        _f("mk_vat", "MK", "North Macedonia VAT Number", "MK1234567890123", r"MK\d{13}"),
        _f("mr_nif", "MR", "Mauritania Tax Identification Number", "12345678", r"\d{8}"),
        _f("mx_rfc", "MX", "Mexican RFC number", "ABC010203AB9", r"[A-ZÑ&]{3,4}\d{6}[A-Z0-9]{3}"),
        _f("my_frp", "MY", "Malaysian FRP number", "12345678", r"\d{8}"),
        _f("my_itn", "MY", "Malaysian ITN", "C 1234567890", r"[A-Z]{1,2}\d{10,11}", layout=_letters_then_digits),
        _f(
            "my_sst",
            "MY",
            "Malaysian SST number",
            "A12-3456-78912345",
            r"[A-Z]\d{14}",
            layout="###-####-########",
        ),
        _f("ng_tin", "NG", "Nigerian Tax Identification Number", "12345678-0001", r"\d{12}", layout="########-####"),
        _f("no_vat", "NO", "Norwegian VAT number", "123456789MVA", r"\d{9}MVA", check=_no_org_ok),
        _f("no_voec", "NO", "Norwegian VAT on e-commerce number", "1234567", r"\d{7}"),
        _f("np_pan", "NP", "Nepal PAN Number", "123456789", r"\d{9}"),
        _f("nz_gst", "NZ", "New Zealand GST number", "123456789", r"\d{8,9}"),
        _f("om_vat", "OM", "Omani VAT Number", "OM1234567890", r"OM\d{10}"),
        _f("pe_ruc", "PE", "Peruvian RUC number", "12345678901", r"\d{11}"),
        _f("ph_tin", "PH", "Philippines Tax Identification Number", "123456789012", r"\d{9}(\d{3}|\d{5})?"),
        _f("pl_nip", "PL", "Polish NIP number", "1234567890", r"\d{10}", check=_pl_nip_ok),
        _f("py_ruc", "PY", "Paraguayan RUC number", "12345678A", r"\d{6,8}[0-9A-Z]"),
        _f("ro_tin", "RO", "Romanian tax ID number", "1234567890123", r"\d{13}"),
        _f("rs_pib", "RS", "Serbian PIB number", "123456789", r"\d{9}"),
        _f("ru_inn", "RU", "Russian INN", "1234567891", r"\d{10}|\d{12}"),
        _f("ru_kpp", "RU", "Russian KPP", "123456789", r"\d{4}[0-9A-Z]{2}\d{3}"),
        _f("sa_vat", "SA", "Saudi Arabia VAT", "123456789012345", r"\d{15}"),
        _f(
            "sg_gst",
            "SG",
            "Singaporean GST",
            "M12345678X",
            r"[A-Z]\d{8}[0-9A-Z]|\d{8,10}[A-Z]|[RST]\d{2}[A-Z]{2}\d{4}[A-Z]",
        ),
        _f("sg_uen", "SG", "Singaporean UEN", "123456789F", r"\d{8,9}[A-Z]|[RST]\d{2}[A-Z]{2}\d{4}[A-Z]"),
        _f("si_tin", "SI", "Slovenia tax number (davčna številka)", "12345678", r"\d{8}"),
        _f("sn_ninea", "SN", "Senegal NINEA Number", "12345672A2", r"\d{7}[0-9A-Z]{3}|\d{9}"),
        _f("sr_fin", "SR", "Suriname FIN Number", "1234567890", r"\d{10}"),
        _f(
            "sv_nit",
            "SV",
            "El Salvadorian NIT number",
            "1234-567890-123-4",
            r"\d{14}",
            layout="####-######-###-#",
        ),
        _f("th_vat", "TH", "Thai VAT", "1234567891234", r"\d{13}"),
        _f("tj_tin", "TJ", "Tajikistan Tax Identification Number", "123456789", r"\d{9}"),
        _f("tr_tin", "TR", "Turkish Tax Identification Number", "0123456789", r"\d{10}"),
        _f("tw_vat", "TW", "Taiwanese VAT", "12345678", r"\d{8}"),
        _f("tz_vat", "TZ", "Tanzania VAT Number", "12345678A", r"\d{8}[A-Z]"),
        _f("ua_vat", "UA", "Ukrainian VAT", "123456789", r"\d{9,12}"),
        _f("ug_tin", "UG", "Uganda Tax Identification Number", "1014751879", r"\d{10}"),
        _f("us_ein", "US", "United States EIN", "12-3456789", r"\d{9}", layout="##-#######", check=_ein_ok),
        _f("uy_ruc", "UY", "Uruguayan RUC number", "123456789012", r"\d{12}"),
        _f("uz_tin", "UZ", "Uzbekistan TIN Number", "123456789", r"\d{9}"),
        _f("uz_vat", "UZ", "Uzbekistan VAT Number", "123456789012", r"\d{12}"),
        _f("ve_rif", "VE", "Venezuelan RIF number", "A-12345678-9", r"[A-Z]\d{9}", layout="#-########-#"),
        _f("vn_tin", "VN", "Vietnamese tax ID number", "1234567890", r"\d{10}(\d{3})?"),
        _f("za_vat", "ZA", "South African VAT number", "4123456789", r"4\d{9}"),
        _f("zm_tin", "ZM", "Zambia Tax Identification Number", "1004751879", r"\d{10}"),
        _f("zw_tin", "ZW", "Zimbabwe Tax Identification Number", "1234567890", r"\d{10}"),
    ]
}


@dataclass(frozen=True)
class EuVatCountry:
    country: str
    name: str
    example: str
    pattern: re.Pattern[str]


def _eu(prefix: str, country: str, name: str, example: str, rest: str) -> tuple[str, EuVatCountry]:
    return prefix, EuVatCountry(country, name, example, re.compile(prefix + rest))


# eu_vat by the value's prefix. Greece writes EL (not its ISO code GR); XI is Northern Ireland,
# which stays in the EU VAT area for goods, so its numbers are eu_vat with country GB.
EU_VAT_COUNTRIES: dict[str, EuVatCountry] = dict(
    [
        _eu("AT", "AT", "Austrian", "ATU12345678", r"U\d{8}"),
        _eu("BE", "BE", "Belgian", "BE0123456789", r"[01]\d{9}"),
        _eu("BG", "BG", "Bulgarian", "BG0123456789", r"\d{9,10}"),
        _eu("CY", "CY", "Cypriot", "CY12345678Z", r"\d{8}[A-Z]"),
        _eu("CZ", "CZ", "Czech", "CZ1234567890", r"\d{8,10}"),
        _eu("DE", "DE", "German", "DE123456789", r"\d{9}"),
        _eu("DK", "DK", "Danish", "DK12345678", r"\d{8}"),
        _eu("EE", "EE", "Estonian", "EE123456789", r"\d{9}"),
        _eu("EL", "GR", "Greek", "EL123456789", r"\d{9}"),
        _eu("ES", "ES", "Spanish", "ESA1234567Z", r"[A-Z0-9]\d{7}[A-Z0-9]"),
        _eu("FI", "FI", "Finnish", "FI12345678", r"\d{8}"),
        _eu("FR", "FR", "French", "FRAB123456789", r"[0-9A-HJ-NP-Z]{2}\d{9}"),
        _eu("HR", "HR", "Croatian", "HR12345678912", r"\d{11}"),
        _eu("HU", "HU", "Hungarian", "HU12345678", r"\d{8}"),
        _eu("IE", "IE", "Irish", "IE1234567AB", r"(\d{7}[A-Z]{1,2}|\d[A-Z+*]\d{5}[A-Z])"),
        _eu("IT", "IT", "Italian", "IT12345678912", r"\d{11}"),
        _eu("LT", "LT", "Lithuanian", "LT123456789123", r"(\d{9}|\d{12})"),
        _eu("LU", "LU", "Luxembourgish", "LU12345678", r"\d{8}"),
        _eu("LV", "LV", "Latvian", "LV12345678912", r"\d{11}"),
        _eu("MT", "MT", "Maltese", "MT12345678", r"\d{8}"),
        _eu("NL", "NL", "Dutch", "NL123456789B12", r"\d{9}B\d{2}"),
        _eu("PL", "PL", "Polish", "PL1234567890", r"\d{10}"),
        _eu("PT", "PT", "Portuguese", "PT123456789", r"\d{9}"),
        _eu("RO", "RO", "Romanian", "RO1234567891", r"\d{2,10}"),
        _eu("SE", "SE", "Swedish", "SE123456789123", r"\d{12}"),
        _eu("SI", "SI", "Slovenian", "SI12345678", r"\d{8}"),
        _eu("SK", "SK", "Slovak", "SK1234567891", r"\d{10}"),
        _eu("XI", "GB", "Northern Irish", "XI123456789", r"(\d{9}|\d{12}|GD\d{3}|HA\d{3})"),
    ]
)

# Types the current Stripe API accepts that Billfold cannot check yet: Stripe has not documented
# what their values look like. Refused by name rather than as unknown.
NOT_YET_SUPPORTED = frozenset(
    {
        "au_acn",
        "au_wpn",
        "bw_vat",
        "ci_vat",
        "cz_dic",
        "fr_siren",
        "fr_siret",
        "fr_spi",
        "gh_tin",
        "ic_nif",
        "is_kt",
        "md_cf",
        "mu_vat",
        "mz_nuit",
        "nz_bn",
        "pt_nif",
        "sm_coe",
        "tt_bir",
        "tt_vat",
    }
)


@dataclass(frozen=True)
class ParsedTaxId:
    type: str
    value: str
    country: str | None


def _param(prefix: str, name: str) -> str:
    return f"{prefix}[{name}]" if prefix else name


def _suggestions(tax_type: str) -> list[str]:
    """A handful of supported types the caller may have meant: same country first."""
    prefix = tax_type.split("_", 1)[0]
    same_country = {t for t in FORMATS if t.startswith(f"{prefix}_")}
    if prefix.upper() in {c.country for c in EU_VAT_COUNTRIES.values()}:
        same_country.add("eu_vat")
    if same_country:
        return sorted(same_country)
    return difflib.get_close_matches(tax_type, FORMATS, n=3, cutoff=0.75)


def _unknown_type(tax_type: str, param: str) -> InvalidParam:
    shown = tax_type[:40]
    hints = _suggestions(tax_type)
    if tax_type in NOT_YET_SUPPORTED:
        message = f"Billfold does not support the tax ID type '{shown}' yet."
    else:
        message = f"Unknown tax ID type '{shown}'."
    if hints:
        message += f" Did you mean {', '.join(hints)}?"
    else:
        message += " Common types are eu_vat, gb_vat, us_ein, au_abn and ca_bn."
    return InvalidParam(message, param=param)


def _invalid(tax_type: str, raw: str, expectation: str, param: str) -> InvalidParam:
    description = FORMATS[tax_type].description
    return InvalidParam(
        f"Invalid value for {tax_type} ({description}): '{raw[:40]}'. {expectation}",
        param=param,
        code="tax_id_invalid",
    )


def _parse_eu_vat(raw: str, number: str, param: str) -> ParsedTaxId:
    prefix = number[:2]
    if prefix == "GB":
        raise _invalid(
            "eu_vat",
            raw,
            "UK VAT numbers use the type gb_vat; eu_vat takes Northern Ireland numbers with the prefix XI "
            "(e.g. XI123456789).",
            param,
        )
    country = EU_VAT_COUNTRIES.get(prefix)
    if country is None:
        raise _invalid(
            "eu_vat",
            raw,
            "A European VAT number starts with the country prefix (EL for Greece, XI for Northern Ireland), "
            "e.g. DE123456789.",
            param,
        )
    if not country.pattern.fullmatch(number):
        article = "An" if country.name[0] in "AEIOU" else "A"
        raise _invalid("eu_vat", raw, f"{article} {country.name} VAT number looks like {country.example}.", param)
    return ParsedTaxId(type="eu_vat", value=number, country=country.country)


def parse_tax_id(*, tax_type: str, value: str, check_digits: bool, param_prefix: str = "") -> ParsedTaxId:
    """Validate ``value`` as a ``tax_type`` number and return it normalised, with its country.

    ``check_digits`` also verifies check digits and issuing rules where the type has them (see
    the module docstring for why test mode leaves them out). Refusals name ``type`` or ``value``
    (inside ``param_prefix``, e.g. ``tax_id_data[0]``).
    """
    tax_format = FORMATS.get(tax_type)
    if tax_format is None:
        raise _unknown_type(tax_type, _param(param_prefix, "type"))
    value_param = _param(param_prefix, "value")
    number = compact(value)
    if tax_type == "eu_vat":
        return _parse_eu_vat(value, number, value_param)
    if not tax_format.pattern.fullmatch(number):
        raise _invalid(
            tax_type,
            value,
            f"Expected a value in the format {tax_format.example}.",
            value_param,
        )
    if check_digits and tax_format.check is not None and not tax_format.check(number):
        raise _invalid(
            tax_type,
            value,
            "It has the expected format but its check digits do not match; look for a mistyped digit.",
            value_param,
        )
    return ParsedTaxId(type=tax_type, value=tax_format.display(number), country=tax_format.country)
