from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

import pytest

from registry.identifiers import (
    ICP_PROVINCES,
    RESIDENT_ID_PROVINCES,
    USCC_ALPHABET,
    USCC_ORGANISATION_TYPES,
    IdentifierError,
    InvalidIdentifier,
    ResidentId,
    Uscc,
    is_masked_resident_id,
    mask_resident_id,
    parse_bank_licence,
    parse_icp_filing,
    parse_legacy_registration_number,
    parse_payment_licence,
    parse_private_fund_manager_code,
    parse_resident_id,
    parse_uscc,
    resident_id_check_char,
    uscc_check_char,
)

TODAY = dt.date(2025, 6, 30)

# Independent oracles typed in from the standards' weight tables, so a slip in
# the module's derived weights cannot be masked by sharing the same code.
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ORG_CODE_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def oracle_uscc_check(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def oracle_org_code_check(body8: str) -> str:
    total = sum(int(c, 36) * w for c, w in zip(body8, ORG_CODE_WEIGHTS, strict=True))
    value = 11 - total % 11
    return "X" if value == 10 else "0" if value == 11 else str(value)


def oracle_id_check(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def failures(exc: pytest.ExceptionInfo[InvalidIdentifier]) -> list[tuple[str, int | None]]:
    return [(error.rule, error.position) for error in exc.value.errors]


# --- USCC -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("911000001000013428", "911000001000013428"),  # Bank of China
        ("9144030010001686XA", "9144030010001686XA"),  # China Merchants Bank
        ("91440300085948158H", "91440300085948158H"),
        ("91350100M000100Y43", "91350100M000100Y43"),  # the standard's own example
        ("31110000E00017891P", "31110000E00017891P"),  # justice: law firm
        ("12100000400000624D", "12100000400000624D"),  # staffing: public institution
        ("53100000500021676K", "53100000500021676K"),  # civil affairs: foundation
        ("  9144030010001686xa\t", "9144030010001686XA"),
    ],
)
def test_uscc_valid(value: str, code: str) -> None:
    parsed = parse_uscc(value)
    assert parsed.code == code
    assert parsed.pilot_check_failure is False


def test_uscc_fields() -> None:
    assert parse_uscc("9144030010001686XA") == Uscc(
        code="9144030010001686XA",
        registration_authority="9",
        organisation_type="1",
        division="440300",
        organisation_code="10001686X",
        pilot_check_failure=False,
    )


def test_uscc_wrong_check_names_expected_character() -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        parse_uscc("91350100M000100Y4Z")
    (error,) = exc.value.errors
    assert (error.rule, error.position) == ("uscc.check", 18)
    assert "'3'" in error.message
    assert "'Z'" in error.message
    assert "18" in error.message
    assert "uscc.check" in error.message


@pytest.mark.parametrize(
    "value",
    [
        "91350211M0000XUF46",
        "91350203M0001FUE2P",
        "91350100M0001TGQXM",
        "91350200M000000510",
        "91350128M00000019A",
        # Pilot-rule check character outside the national alphabet.
        "91350200M00010508O",
    ],
)
def test_uscc_fujian_pilot_codes_are_accepted_with_flag(value: str) -> None:
    parsed = parse_uscc(value)
    assert parsed.pilot_check_failure is True
    assert parsed.code == value


@pytest.mark.parametrize(
    ("value", "expected_failures", "expected_check"),
    [
        # Fujian, but the 18th character matches neither algorithm.
        ("91350211M0000XUF45", [("uscc.check", 18)], "R"),
        # Pilot-rule check matches, but outside Fujian.
        ("91110000M000100Y4D", [("uscc.check", 18)], "0"),
        ("91110000M00010508O", [("uscc.check", 18)], "R"),
        # Pilot-rule check matches in Fujian, but another rule fails too.
        ("91350100M000100Y15", [("uscc.org_code_check", 17), ("uscc.check", 18)], "R"),
        ("94350100M000100Y49", [("uscc.organisation_type", 2), ("uscc.check", 18)], "R"),
    ],
)
def test_uscc_pilot_tolerance_boundaries(
    value: str, expected_failures: list[tuple[str, int | None]], expected_check: str
) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        parse_uscc(value)
    assert failures(exc) == expected_failures
    assert f"should be '{expected_check}'" in exc.value.errors[-1].message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("91350100M000100Y4", [("uscc.length", None)]),
        ("", [("uscc.length", None)]),
        ("91350100M000100Y431", [("uscc.length", None)]),
        ("91350100I000100Y43", [("uscc.charset", 9)]),
        # Both the length and the bad character are reported.
        ("91350100I000100Y4", [("uscc.length", None), ("uscc.charset", 9)]),
        ("91350100M00O100Y43", [("uscc.charset", 12)]),
        # Position 18 outside the alphabet is a charset error once the body is dirty.
        ("91350100I000100Y4Z", [("uscc.charset", 9), ("uscc.charset", 18)]),
        ("9135010 M000100Y43", [("uscc.whitespace", 8)]),
        ("91350100\uff2d000100Y43", [("uscc.fullwidth", 9)]),
        ("B1350100M000100Y43", [("uscc.registration_authority", 1), ("uscc.check", 18)]),
        ("94350100M000100Y43", [("uscc.organisation_type", 2), ("uscc.check", 18)]),
        ("Y2350100M000100Y43", [("uscc.organisation_type", 2), ("uscc.check", 18)]),
        ("9135A100M000100Y43", [("uscc.division", 5), ("uscc.check", 18)]),
        ("91350100M000100Y53", [("uscc.org_code_check", 17), ("uscc.check", 18)]),
        ("91350100M000100Y4Z", [("uscc.check", 18)]),
        ("911000001000013429", [("uscc.check", 18)]),
    ],
)
def test_uscc_rules(value: str, expected: list[tuple[str, int | None]]) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        parse_uscc(value)
    assert failures(exc) == expected


def test_uscc_fullwidth_message_suggests_halfwidth() -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        parse_uscc("91350100\uff2d000100Y43")
    message = exc.value.errors[0].message
    assert "character 9" in message
    assert "half-width 'M'" in message
    assert "uscc.fullwidth" in message


def test_uscc_lowercase_fullwidth_suggests_uppercase() -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        parse_uscc("91350100\uff4d000100Y43")
    assert "half-width 'M'" in exc.value.errors[0].message


def test_uscc_messages_name_position_and_character() -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        parse_uscc("91350100I000100Y4")
    length, charset = exc.value.errors
    assert "17 characters" in length.message
    assert "exactly 18" in length.message
    assert "character 9 is 'I'" in charset.message
    assert str(exc.value) == f"{length.message} {charset.message}"


def test_uscc_whitespace_is_named_by_code_point() -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        parse_uscc("9135010\u3000M000100Y43")
    (error,) = exc.value.errors
    assert error.rule == "uscc.whitespace"
    assert "U+3000" in error.message


def test_invalid_identifier_is_value_error() -> None:
    with pytest.raises(ValueError, match=r"uscc\.length"):
        parse_uscc("123")


@pytest.mark.parametrize(
    ("first17", "check"),
    [
        ("91100000100001342", "8"),
        ("9144030010001686X", "A"),
        ("91350100M000100Y4", "3"),
        (" 91350100m000100y4 ", "3"),
    ],
)
def test_uscc_check_char(first17: str, check: str) -> None:
    assert uscc_check_char(first17) == check


@pytest.mark.parametrize(
    ("first17", "expected"),
    [
        ("9110000010000134", [("uscc.length", None)]),
        ("91100000I00001342", [("uscc.charset", 9)]),
    ],
)
def test_uscc_check_char_rejects_bad_body(
    first17: str, expected: list[tuple[str, int | None]]
) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        uscc_check_char(first17)
    assert failures(exc) == expected


def random_uscc_body(rng: random.Random) -> str:
    authority = rng.choice(sorted(USCC_ORGANISATION_TYPES))
    org_type = rng.choice(sorted(USCC_ORGANISATION_TYPES[authority]))
    # Fujian divisions are left out: there a wrong check may match the pilot
    # algorithm and be accepted, which the pilot tests cover separately.
    division = rng.choice([d for d in "0123456789" if d != "3"]) + "".join(
        rng.choices("0123456789", k=5)
    )
    org_body = "".join(rng.choices(USCC_ALPHABET, k=8))
    return authority + org_type + division + org_body + oracle_org_code_check(org_body)


def test_uscc_check_property() -> None:
    rng = random.Random(20151001)
    wrong_candidates = USCC_ALPHABET + "IOSVZ"
    for _ in range(2000):
        body = random_uscc_body(rng)
        check = uscc_check_char(body)
        assert check == oracle_uscc_check(body)
        assert parse_uscc(body + check).pilot_check_failure is False
        for wrong in wrong_candidates:
            if wrong == check:
                continue
            with pytest.raises(InvalidIdentifier) as exc:
                parse_uscc(body + wrong)
            assert failures(exc) == [("uscc.check", 18)]
            assert f"should be '{check}'" in exc.value.errors[0].message


# --- Resident identity numbers -------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "11010519491231002X",
            ResidentId("11010519491231002X", "110105", dt.date(1949, 12, 31), "F"),
        ),
        (
            " 11010519491231002x ",
            ResidentId("11010519491231002X", "110105", dt.date(1949, 12, 31), "F"),
        ),
        (
            "110105194912310011",
            ResidentId("110105194912310011", "110105", dt.date(1949, 12, 31), "M"),
        ),
        (
            "440304198501011235",
            ResidentId("440304198501011235", "440304", dt.date(1985, 1, 1), "M"),
        ),
    ],
)
def test_resident_id_valid(value: str, expected: ResidentId) -> None:
    assert parse_resident_id(value, today=TODAY) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("11010519491231002", [("id.length", None)]),
        ("110105491231002", [("id.length", None)]),
        ("1101A519491231002X", [("id.charset", 5)]),
        ("11010519491231002Y", [("id.charset", 18)]),
        ("1101051949 231002X", [("id.whitespace", 11)]),
        ("11010519491231\uff10\uff102X", [("id.fullwidth", 15), ("id.fullwidth", 16)]),
        ("99010519491231002X", [("id.province", 1), ("id.check", 18)]),
        ("11010519491331002X", [("id.birth_date", 11), ("id.check", 18)]),
        ("11010519490231002X", [("id.birth_date", 13), ("id.check", 18)]),
        ("11010518991231002X", [("id.birth_date", 7), ("id.check", 18)]),
        ("11010500001231002X", [("id.birth_date", 7), ("id.check", 18)]),
        ("11010520991231002X", [("id.birth_date", 7), ("id.check", 18)]),
        ("110105194912310021", [("id.check", 18)]),
    ],
)
def test_resident_id_rules(value: str, expected: list[tuple[str, int | None]]) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        parse_resident_id(value, today=TODAY)
    assert failures(exc) == expected


def test_resident_id_first_generation_hint() -> None:
    with pytest.raises(InvalidIdentifier, match="first-generation"):
        parse_resident_id("110105491231002")


def test_resident_id_check_message_names_expected() -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        parse_resident_id("110105194912310021", today=TODAY)
    message = exc.value.errors[0].message
    assert "character 18 is '1'" in message
    assert "should be 'X'" in message


def test_resident_id_birth_date_not_after_today() -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        parse_resident_id("11010519491231002X", today=dt.date(1949, 12, 30))
    assert failures(exc) == [("id.birth_date", 7)]


@pytest.mark.parametrize(
    ("first17", "check"),
    [("11010519491231002", "X"), ("11010519491231001", "1"), ("44030419850101123", "5")],
)
def test_resident_id_check_char(first17: str, check: str) -> None:
    assert resident_id_check_char(first17) == check


def test_resident_id_check_char_rejects_x_in_body() -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        resident_id_check_char("1101051949123100X")
    assert failures(exc) == [("id.charset", 17)]


def random_id_body(rng: random.Random) -> str:
    province = rng.choice(sorted(RESIDENT_ID_PROVINCES))
    born = dt.date(1900, 1, 1) + dt.timedelta(days=rng.randrange(45_000))
    sequence = "".join(rng.choices("0123456789", k=3))
    return province + "".join(rng.choices("0123456789", k=4)) + f"{born:%Y%m%d}" + sequence


def test_resident_id_check_property() -> None:
    rng = random.Random(19991001)
    for _ in range(2000):
        body = random_id_body(rng)
        check = resident_id_check_char(body)
        assert check == oracle_id_check(body)
        parsed = parse_resident_id(body + check, today=TODAY)
        assert parsed.sex == ("M" if int(body[16]) % 2 else "F")
        for wrong in "0123456789X":
            if wrong == check:
                continue
            with pytest.raises(InvalidIdentifier) as exc:
                parse_resident_id(body + wrong, today=TODAY)
            assert failures(exc) == [("id.check", 18)]


# --- Masking -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("110105********002X", True),
        ("1101**********002X", True),
        ("110105********002x", True),
        ("******************", True),
        (" 非公示项 ", True),
        ("11010519491231002X", False),
        ("110105*******002X", False),
        ("11010A********002X", False),
        ("110105********00X2", False),
        ("非公示", False),
        ("", False),
    ],
)
def test_is_masked_resident_id(value: str, masked: bool) -> None:
    assert is_masked_resident_id(value) is masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("11010519491231002X", "110105********002X"),
        (" 11010519491231002x", "110105********002X"),
        # Masking does not require a valid check: it must never leak a number.
        ("110105194912310021", "110105********0021"),
        ("1101**********002X", "1101**********002X"),
        ("非公示项", "非公示项"),
    ],
)
def test_mask_resident_id(value: str, masked: str) -> None:
    assert mask_resident_id(value) == masked


def test_mask_resident_id_rejects_wrong_shape() -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        mask_resident_id("1101051949123100")
    assert failures(exc) == [("id.length", None)]


# --- Legacy registration numbers ------------------------------------------------------


@pytest.mark.parametrize("value", ["440301108548379", "440301103097413", "110105000000012"])
def test_legacy_registration_number_valid(value: str) -> None:
    assert parse_legacy_registration_number(f" {value} ") == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("440301108548378", [("registration.check", 15)]),
        ("440301108548397", [("registration.check", 15)]),
        ("44030110854837", [("registration.length", None)]),
        ("44030110854837A", [("registration.charset", 15)]),
        ("4403011085483 9", [("registration.whitespace", 14)]),
        ("44030110854837\uff19", [("registration.fullwidth", 15)]),
    ],
)
def test_legacy_registration_number_rules(
    value: str, expected: list[tuple[str, int | None]]
) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        parse_legacy_registration_number(value)
    assert failures(exc) == expected


def test_legacy_registration_number_message_names_expected() -> None:
    with pytest.raises(InvalidIdentifier, match="should be '9'"):
        parse_legacy_registration_number("440301108548378")


def test_legacy_registration_every_wrong_digit_is_rejected() -> None:
    for wrong in "012345678":
        with pytest.raises(InvalidIdentifier):
            parse_legacy_registration_number("44030110854837" + wrong)


# --- Licences and filings ------------------------------------------------------------


@pytest.mark.parametrize(
    ("parse", "value", "normalised"),
    [
        (parse_payment_licence, "Z2000133000019", "Z2000133000019"),
        (parse_payment_licence, " z2000133000019 ", "Z2000133000019"),
        (parse_bank_licence, "B0001H111000001", "B0001H111000001"),
        (parse_bank_licence, "b0001h111000001", "B0001H111000001"),
        (parse_private_fund_manager_code, "P1000001", "P1000001"),
        (parse_private_fund_manager_code, "p1061256", "P1061256"),
        (parse_icp_filing, "京ICP备12345678号-1", "京ICP备12345678号-1"),
        (parse_icp_filing, "京ICP备12345678号", "京ICP备12345678号"),
        (parse_icp_filing, "粤ICP备1234567890号-12", "粤ICP备1234567890号-12"),
        (parse_icp_filing, "沪icp备12345678号", "沪ICP备12345678号"),
        (parse_icp_filing, "京ICP证030173号", "京ICP证030173号"),
    ],
)
def test_licence_valid(parse: Callable[[str], str], value: str, normalised: str) -> None:
    assert parse(value) == normalised


@pytest.mark.parametrize("province", sorted(ICP_PROVINCES))
def test_icp_every_province(province: str) -> None:
    assert parse_icp_filing(f"{province}ICP备12345678号") == f"{province}ICP备12345678号"


def test_icp_provinces_are_the_31_mainland_ones() -> None:
    assert len(ICP_PROVINCES) == 31


@pytest.mark.parametrize(
    ("parse", "value", "expected"),
    [
        (parse_payment_licence, "Z200013300001", [("payment_licence.length", None)]),
        (parse_payment_licence, "X2000133000019", [("payment_licence.prefix", 1)]),
        (parse_payment_licence, "Z20001330000199", [("payment_licence.length", None)]),
        (parse_payment_licence, "Z20001330000A9", [("payment_licence.charset", 13)]),
        (
            parse_payment_licence,
            "2000133000019",
            [("payment_licence.length", None), ("payment_licence.prefix", 1)],
        ),
        (parse_bank_licence, "B0001H11100000", [("bank_licence.length", None)]),
        (parse_bank_licence, "10001H111000001", [("bank_licence.charset", 1)]),
        (parse_bank_licence, "B0001H11100000A", [("bank_licence.charset", 15)]),
        (parse_bank_licence, "B00011111000001", [("bank_licence.charset", 6)]),
        (parse_bank_licence, "BA001H111000001", [("bank_licence.charset", 2)]),
        (parse_private_fund_manager_code, "P100000", [("fund_manager.length", None)]),
        (parse_private_fund_manager_code, "F1000001", [("fund_manager.prefix", 1)]),
        (parse_private_fund_manager_code, "P10000O1", [("fund_manager.charset", 7)]),
        (parse_private_fund_manager_code, "P1000 01", [("fund_manager.whitespace", 6)]),
        (parse_icp_filing, "", [("icp.length", None)]),
        (parse_icp_filing, "港ICP备12345678号", [("icp.province", 1)]),
        (parse_icp_filing, "京IPC备12345678号", [("icp.marker", 3), ("icp.marker", 4)]),
        (parse_icp_filing, "京IC", [("icp.marker", 4)]),
        (parse_icp_filing, "京ICP", [("icp.marker", 5)]),
        (parse_icp_filing, "京ICP案12345678号", [("icp.marker", 5)]),
        (parse_icp_filing, "京ICP备1234567号", [("icp.number", 6)]),
        (parse_icp_filing, "京ICP备123456789号", [("icp.number", 6)]),
        (parse_icp_filing, "京ICP备号", [("icp.number", 6)]),
        (parse_icp_filing, "京ICP证12345678号", [("icp.number", 6)]),
        (parse_icp_filing, "京ICP备12345678", [("icp.terminator", 14)]),
        (parse_icp_filing, "京ICP备12345678-1", [("icp.terminator", 14)]),
        (parse_icp_filing, "京ICP备12345678号-0", [("icp.suffix", 16)]),
        (parse_icp_filing, "京ICP备12345678号-01", [("icp.suffix", 16)]),
        (parse_icp_filing, "京ICP备12345678号-", [("icp.suffix", 15)]),
        (parse_icp_filing, "京ICP备12345678号-a", [("icp.suffix", 16)]),
        (parse_icp_filing, "京ICP备12345678号1", [("icp.suffix", 15)]),
        (parse_icp_filing, "京ICP证030173号-1", [("icp.suffix", 13)]),
        (parse_icp_filing, "京ICP备12345678号\uff0d1", [("icp.fullwidth", 15)]),
        (parse_icp_filing, "京\uff29CP备12345678号", [("icp.fullwidth", 2)]),
        (parse_icp_filing, "京ICP备 12345678号", [("icp.whitespace", 6)]),
        (
            parse_icp_filing,
            "港ICP备1234567号-0",
            [("icp.province", 1), ("icp.number", 6), ("icp.suffix", 15)],
        ),
    ],
)
def test_licence_rules(
    parse: Callable[[str], str], value: str, expected: list[tuple[str, int | None]]
) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        parse(value)
    assert failures(exc) == expected


def test_icp_fullwidth_hyphen_message() -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        parse_icp_filing("京ICP备12345678号\uff0d1")
    assert "half-width '-'" in exc.value.errors[0].message


# --- Coverage of rule codes ------------------------------------------------------------


def test_every_error_is_well_formed() -> None:
    error = IdentifierError("uscc.check", 18, "message")
    assert error == IdentifierError("uscc.check", 18, "message")
    with pytest.raises(InvalidIdentifier) as exc:
        parse_uscc("91350100M000100Y4Z")
    for item in exc.value.errors:
        assert item.rule in item.message
        assert item.position is None or f"character {item.position}" in item.message
