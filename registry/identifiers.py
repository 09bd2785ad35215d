"""Validation of the Chinese identifiers the registry stores.

Every ``parse_*`` function strips surrounding whitespace, upper-cases ASCII
letters, and either returns the normalised value (or a small dataclass) or
raises :class:`InvalidIdentifier` carrying *every* rule the value fails, each
as an :class:`IdentifierError` with a stable ``rule`` code, a 1-based
``position`` (``None`` for whole-value rules such as length) and an English
message naming the character, its position and the rule.

Rules shared by all formats (``<prefix>`` is ``uscc``, ``id``,
``registration``, ``payment_licence``, ``bank_licence``, ``icp`` or
``fund_manager``):

* ``<prefix>.whitespace`` - whitespace inside the value.
* ``<prefix>.fullwidth`` - a full-width form such as ``'Ａ'`` or ``'１'``; the
  message names the half-width character to type instead.  Nothing is
  converted silently, but the structural rules below are evaluated as if the
  half-width character had been typed, so one slip does not cascade.
* At most one error is reported per position (the first rule to fail wins),
  and check characters are verified only on a value of the right length
  whose characters all passed the character-level rules.

Unified social credit code (GB 32100-2015), :func:`parse_uscc`
----------------------------------------------------------------
18 characters from ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I, O, S, V, Z).

* char 1, registration authority, and char 2, organisation type, must form a
  pair from the standard's table as amended (:data:`USCC_ORGANISATION_TYPES`;
  extend it there if a newer edition adds pairs):
  ``1`` institutional staffing (1 organ, 2 public institution,
  3 mass organisation, 9 other), ``2`` foreign affairs (1 resident foreign news
  agency, 9 other), ``3`` justice (1 law firm, 2 notary office, 3 grass-roots
  legal service, 4 forensic appraisal body, 5 arbitration commission,
  9 other), ``4`` culture (1 foreign cultural centre, 9 other), ``5`` civil
  affairs (1 social organisation, 2 private non-enterprise unit,
  3 foundation, 9 other), ``6`` tourism (1 foreign tourism office,
  2 Hong Kong/Macao/Taiwan tourism office, 9 other), ``7`` religious affairs
  (1 place of worship, 2 religious school, 9 other), ``8`` trade unions
  (1 grass-roots union, 9 other), ``9`` market regulation (1 enterprise,
  2 individual business, 3 farmers' cooperative), ``A`` Central Military
  Commission staffing (1 military public institution, 9 other),
  ``N`` agriculture (1 group-, 2 village-, 3 township-level collective
  economic organisation, 9 other), ``Y`` other authorities (1).
  Rules ``uscc.registration_authority`` (position 1) and
  ``uscc.organisation_type`` (position 2).
* chars 3-8 must be digits (``uscc.division``).  Only the form is checked:
  division codes change over time and national bodies use ``100000``.
* chars 9-17 are the GB 11714 organisation code; char 17 is its check
  character (weights 3, 7, 9, 10, 5, 8, 4, 2; ``X`` for 10, ``0`` for 11)
  (``uscc.org_code_check``, position 17).
* char 18 is the GB 32100 check character (weights ``3**(i-1) mod 31``)
  (``uscc.check``, position 18).  A character outside the alphabet in
  position 18 is reported as ``uscc.check`` with the expected character when
  characters 1-17 are clean, because the actionable fix is the same.

Pilot codes.  Codes issued in Fujian's pilot, before GB 32100-2015 took
effect, are legal but fail the national check.  The published examples
(91350211M0000XUF46, 91350203M0001FUE2P, 91350100M0001TGQXM,
91350200M000000510, 91350128M00000019A) all pass the GB 11714 check and all
fit one other rule, inferred here from those examples because the pilot's
own specification is not to hand: the 36-character alphabet (``0-9`` then
``A`` = 10 ... ``Z`` = 35, as in GB 11714), weights ``2**(i-1) mod 37`` and
check value ``(37 - sum mod 37) mod 37``.  The rule was found from the first
three codes; the other two fit it too, which chance would do about once in
1,400 tries.  So a code whose only failure is ``uscc.check`` is accepted with
``Uscc.pilot_check_failure`` set when, and only when, its division starts
with ``35`` (Fujian) and its 18th character equals the pilot-rule check
character.  A mistyped check character is then accepted only if it happens
to equal the pilot check (about 1 typo in 37, and only in Fujian), so
callers should treat the flag as "confirm against the issuing register".
91350100M000100Y4Z is rejected: its pilot check would be ``F``.  Simpler
rules fail on the examples: keying on the ``M`` prefix would accept that
typo, and keying on Xiamen divisions (3502xx) would reject the Fuzhou pilot
code 91350100M0001TGQXM.

Resident identity number (GB 11643-1999), :func:`parse_resident_id`
--------------------------------------------------------------------
17 digits plus a digit or ``X`` (``id.length``, ``id.charset``); a
province-level code in chars 1-2 (``id.province``, position 1); a real birth
date in chars 7-14 between 1900-01-01 and today (``id.birth_date`` at
position 7 for the year or the range, 11 for the month, 13 for the day); the
ISO 7064 MOD 11-2 check character, weights ``2**(18-i) mod 11`` (``id.check``,
position 18).  A 15-digit
first-generation number is rejected with a length message that says so.

Legacy registration number (注册号), :func:`parse_legacy_registration_number`
-----------------------------------------------------------------------------
15 digits, the last an ISO 7064 MOD 11,10 check digit (``registration.*``).

Licences and filings
--------------------
* :func:`parse_payment_licence` - ``Z`` + 13 digits (``payment_licence.*``).
* :func:`parse_bank_licence` - the 15-character institution code printed on a
  financial licence: a letter (institution type), 4 digits (legal entity), a
  letter (tier), 9 digits (location and sequence).  Only this shape is
  checked, not which letters are assigned (``bank_licence.*``).
* :func:`parse_icp_filing` - a provincial abbreviation, ``ICP``, then either
  a filing ``备`` + 8 or 10 digits + ``号`` + optional ``-n`` (n >= 1, no
  leading zero), or a value-added telecom licence ``证`` + 6 digits + ``号``
  with nothing after it (``icp.*``).
* :func:`parse_private_fund_manager_code` - ``P`` + 7 digits
  (``fund_manager.*``).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Final, Literal, NoReturn

__all__ = [
    "ICP_PROVINCES",
    "RESIDENT_ID_PROVINCES",
    "USCC_ALPHABET",
    "USCC_ORGANISATION_TYPES",
    "IdentifierError",
    "InvalidIdentifier",
    "ResidentId",
    "Uscc",
    "is_masked_resident_id",
    "mask_resident_id",
    "parse_bank_licence",
    "parse_icp_filing",
    "parse_legacy_registration_number",
    "parse_payment_licence",
    "parse_private_fund_manager_code",
    "parse_resident_id",
    "parse_uscc",
    "resident_id_check_char",
    "uscc_check_char",
]

USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_ORGANISATION_TYPES: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "1": frozenset("1239"),
        "2": frozenset("19"),
        "3": frozenset("123459"),
        "4": frozenset("19"),
        "5": frozenset("1239"),
        "6": frozenset("129"),
        "7": frozenset("129"),
        "8": frozenset("19"),
        "9": frozenset("123"),
        "A": frozenset("19"),
        "N": frozenset("1239"),
        "Y": frozenset("1"),
    }
)
RESIDENT_ID_PROVINCES: Final = frozenset(
    str(code)
    for code in (
        *(11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46),
        *(50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91),
    )
)
ICP_PROVINCES: Final = frozenset("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼")

_DIGITS: Final = frozenset("0123456789")
_LETTERS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_USCC_VALUES: Final = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))
# GB 11714 and the Fujian pilot rule value letters A=10 ... Z=35.
_ALNUM36: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALNUM36_VALUES: Final = {ch: i for i, ch in enumerate(_ALNUM36)}
_ORG_CODE_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
_PILOT_WEIGHTS: Final = tuple(pow(2, i, 37) for i in range(17))
_PILOT_PROVINCE: Final = "35"
# Position i (1-based, left to right) weighs 2**(18 - i): the check sits at 2**0.
_ID_WEIGHTS: Final = tuple(pow(2, 18 - i, 11) for i in range(1, 18))
_EARLIEST_BIRTH: Final = dt.date(1900, 1, 1)
_NOT_DISCLOSED: Final = "非公示项"
_ASCII_UPPER: Final = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# U+FF01..U+FF5E mirror U+0021..U+007E at this fixed offset.
_FULLWIDTH_OFFSET: Final = 0xFEE0
_CHARACTER_RULES: Final = frozenset({"whitespace", "fullwidth", "charset"})


@dataclass(frozen=True)
class IdentifierError:
    """One failed rule."""

    rule: str
    position: int | None
    message: str


class InvalidIdentifier(ValueError):
    """Raised by the ``parse_*`` functions; ``errors`` lists every failed rule."""

    def __init__(self, errors: Sequence[IdentifierError]) -> None:
        self.errors: tuple[IdentifierError, ...] = tuple(errors)
        super().__init__(" ".join(error.message for error in self.errors))


@dataclass(frozen=True)
class Uscc:
    """A parsed unified social credit code."""

    code: str
    registration_authority: str
    organisation_type: str
    division: str
    organisation_code: str
    pilot_check_failure: bool


@dataclass(frozen=True)
class ResidentId:
    """A parsed 18-character resident identity number."""

    number: str
    division: str
    birth_date: dt.date
    sex: Literal["M", "F"]


def _halfwidth(ch: str) -> str | None:
    if 0xFF01 <= ord(ch) <= 0xFF5E:
        return chr(ord(ch) - _FULLWIDTH_OFFSET)
    return None


def _show(ch: str) -> str:
    # Invisible and space-like characters are unreadable when quoted.
    if ch.isprintable() and not ch.isspace():
        return f"'{ch}'"
    return f"U+{ord(ch):04X} ({unicodedata.name(ch, 'unnamed character')})"


class _Errors:
    def __init__(self, prefix: str, label: str) -> None:
        self.prefix = prefix
        self.label = label
        self._items: list[IdentifierError] = []
        self._positions: set[int] = set()
        self.character_level = False

    def add(self, rule: str, position: int | None, detail: str) -> None:
        # One error per position: later rules at a flagged position are cascades.
        if position is not None:
            if position in self._positions:
                return
            self._positions.add(position)
        if rule in _CHARACTER_RULES:
            self.character_level = True
        code = f"{self.prefix}.{rule}"
        message = f"{self.label} {detail} (rule {code})."
        self._items.append(IdentifierError(code, position, message))

    def char(self, rule: str, position: int, ch: str, detail: str) -> None:
        self.add(rule, position, f"character {position} is {_show(ch)}{detail}")

    def __bool__(self) -> bool:
        return bool(self._items)

    def fail(self) -> NoReturn:
        ordered = sorted(self._items, key=lambda e: (e.position is not None, e.position or 0))
        raise InvalidIdentifier(ordered)

    def raise_if_any(self) -> None:
        if self._items:
            self.fail()


def _begin(value: str, prefix: str, label: str) -> tuple[str, str, _Errors]:
    """Return (normalised text, half-width view, errors found so far)."""
    text = value.strip().translate(_ASCII_UPPER)
    errors = _Errors(prefix, label)
    view: list[str] = []
    for position, ch in enumerate(text, 1):
        half = _halfwidth(ch)
        if ch.isspace():
            errors.char("whitespace", position, ch, "; remove spaces inside the value")
        elif half is not None:
            half = half.translate(_ASCII_UPPER)
            errors.char(
                "fullwidth", position, ch, f", a full-width form; type the half-width '{half}'"
            )
        view.append(half if half is not None else ch)
    return text, "".join(view), errors


def _check_length(errors: _Errors, text: str, expected: int, hint: str = "") -> bool:
    if len(text) == expected:
        return True
    errors.add("length", None, f"has {len(text)} characters; it must have exactly {expected}{hint}")
    return False


# --- Unified social credit code -------------------------------------------------


def _uscc_check(first17: str) -> str:
    total = sum(_USCC_VALUES[ch] * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[-total % 31]


def _pilot_check(first17: str) -> str | None:
    total = sum(_ALNUM36.index(ch) * w for ch, w in zip(first17, _PILOT_WEIGHTS, strict=True))
    value = -total % 37
    # Value 36 has no character in the alphabet, so no code can carry it.
    return _ALNUM36[value] if value < 36 else None


def _org_code_check(body8: str) -> str:
    total = sum(_ALNUM36_VALUES[ch] * w for ch, w in zip(body8, _ORG_CODE_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


_USCC_LABEL: Final = "Unified social credit code"
_USCC_CHARSET_HINT: Final = (
    ", which never appears in these codes: use digits and capital letters other than"
    " I, O, S, V and Z"
)


def _uscc_characters(errors: _Errors, view: str, skip: int | None = None) -> None:
    for position, ch in enumerate(view, 1):
        if position != skip and ch not in _USCC_VALUES:
            errors.char("charset", position, ch, _USCC_CHARSET_HINT)


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100 check character for the first 17 characters of a code."""
    text, view, errors = _begin(first17, "uscc", _USCC_LABEL + " body")
    _check_length(errors, text, 17)
    _uscc_characters(errors, view)
    errors.raise_if_any()
    return _uscc_check(text)


def organisation_code_check_char(body8: str) -> str:
    """Return the GB 11714 check character for the first 8 characters of an organisation code."""
    return _org_code_check(body8.upper())


def make_uscc(division: str, organisation_body: str, authority: str = "9", kind: str = "1") -> str:
    """Assemble a valid code from its parts, computing both check characters.

    For generated data and tests; `division` is 6 digits, `organisation_body` 8 characters.
    """
    organisation = organisation_body + organisation_code_check_char(organisation_body)
    first17 = f"{authority}{kind}{division}{organisation}"
    return first17 + uscc_check_char(first17)


_USCC_SHAPE: Final = re.compile(r"[1-9ANY][0-9A-HJ-NPQRTUWXY][0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}")


@lru_cache(maxsize=1 << 16)
def parse_uscc(value: str) -> Uscc:
    """Validate a unified social credit code; see the module docstring for the rules.

    A well-formed code is confirmed on a fast path (feeds name the same codes again and
    again, hence the cache); anything else takes the path that explains every failure.
    """
    if (
        _USCC_SHAPE.fullmatch(value)
        and value[1] in USCC_ORGANISATION_TYPES.get(value[0], ())
        and value[16] == _org_code_check(value[8:16])
        and value[17] == _uscc_check(value[:17])
    ):
        return Uscc(value, value[0], value[1], value[2:8], value[8:17], False)
    return _parse_uscc_explained(value)


def _parse_uscc_explained(value: str) -> Uscc:
    text, view, errors = _begin(value, "uscc", _USCC_LABEL)
    full = _check_length(errors, text, 18)
    # Position 18 is judged by the check rule so the message can name the fix.
    _uscc_characters(errors, view, skip=18 if full else None)

    authority = view[:1]
    if authority in _USCC_VALUES and authority not in USCC_ORGANISATION_TYPES:
        valid = ", ".join(USCC_ORGANISATION_TYPES)
        errors.char(
            "registration_authority",
            1,
            authority,
            f", which is not a registration-authority code (valid: {valid})",
        )
    org_type = view[1:2]
    types = USCC_ORGANISATION_TYPES.get(authority)
    if types is not None and org_type in _USCC_VALUES and org_type not in types:
        errors.char(
            "organisation_type",
            2,
            org_type,
            f", which is not an organisation type under registration authority '{authority}'"
            f" (valid: {', '.join(sorted(types))})",
        )
    for position in range(3, min(len(view), 8) + 1):
        ch = view[position - 1]
        if ch in _USCC_VALUES and ch not in _DIGITS:
            errors.char(
                "division",
                position,
                ch,
                ", but characters 3-8 are the administrative division code and must be digits",
            )

    pilot = False
    if full and not errors.character_level:
        expected_org = _org_code_check(text[8:16])
        if text[16] != expected_org:
            errors.char(
                "org_code_check",
                17,
                text[16],
                ", but the GB 11714 check character of the organisation code in"
                f" characters 9-16 should be '{expected_org}'",
            )
        expected = _uscc_check(text[:17])
        if text[17] != expected:
            pilot = (
                not errors and text[2:4] == _PILOT_PROVINCE and _pilot_check(text[:17]) == text[17]
            )
            if not pilot:
                errors.char(
                    "check",
                    18,
                    text[17],
                    f", but the check character computed from characters 1-17 should be"
                    f" '{expected}'; look for a mistyped character",
                )
    elif full and view[17] not in _USCC_VALUES:
        errors.char("charset", 18, view[17], _USCC_CHARSET_HINT)
    errors.raise_if_any()
    return Uscc(
        code=text,
        registration_authority=text[0],
        organisation_type=text[1],
        division=text[2:8],
        organisation_code=text[8:17],
        pilot_check_failure=pilot,
    )


# --- Resident identity number ---------------------------------------------------

_ID_LABEL: Final = "Resident ID number"


def _id_check(first17: str) -> str:
    total = sum(int(ch) * w for ch, w in zip(first17, _ID_WEIGHTS, strict=True))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def _id_digits(errors: _Errors, view: str, last_may_be_x: bool) -> None:
    for position, ch in enumerate(view, 1):
        if last_may_be_x and position == len(view):
            if ch not in _DIGITS and ch != "X":
                errors.char("charset", position, ch, "; the last character must be a digit or X")
        elif ch not in _DIGITS:
            errors.char("charset", position, ch, "; characters 1-17 must be digits")


def resident_id_check_char(first17: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character for the first 17 digits."""
    text, view, errors = _begin(first17, "id", _ID_LABEL + " body")
    _check_length(errors, text, 17)
    _id_digits(errors, view, last_may_be_x=False)
    errors.raise_if_any()
    return _id_check(text)


def _birth_date(errors: _Errors, digits: str, today: dt.date) -> None:
    year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:])
    shown = f"birth date {digits} in characters 7-14"
    if not 1 <= month <= 12:
        errors.add("birth_date", 11, f"characters 11-12 are '{digits[4:6]}', not a month ({shown})")
        return
    try:
        born = dt.date(year, month, day)
    except ValueError:
        # Year 0 cannot be represented; it is also out of range, so report that.
        if year < _EARLIEST_BIRTH.year:
            errors.add(
                "birth_date",
                7,
                f"characters 7-10 give the year {digits[:4]}, before 1900 ({shown})",
            )
        else:
            errors.add(
                "birth_date",
                13,
                f"characters 13-14 are '{digits[6:]}', not a day of {year}-{month:02d} ({shown})",
            )
        return
    if not _EARLIEST_BIRTH <= born <= today:
        errors.add(
            "birth_date",
            7,
            f"characters 7-14 give {born.isoformat()}, outside 1900-01-01 to"
            f" {today.isoformat()} ({shown})",
        )


_ID_SHAPE: Final = re.compile(r"[0-9]{17}[0-9X]")


def parse_resident_id(value: str, *, today: dt.date | None = None) -> ResidentId:
    """Validate an 18-character resident identity number.

    ``today`` bounds the birth date; it exists so callers and tests can pin it.
    """
    if today is None:
        fast = _resident_id_fast(value)
        if fast is not None:
            return fast
    return _parse_resident_id_explained(value, today)


@lru_cache(maxsize=1 << 16)
def _resident_id_fast(value: str) -> ResidentId | None:
    """The well-formed case, confirmed cheaply; None sends the value down the long path."""
    if not _ID_SHAPE.fullmatch(value) or value[:2] not in RESIDENT_ID_PROVINCES:
        return None
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None
    if not _EARLIEST_BIRTH <= born <= dt.date.today() or value[17] != _id_check(value[:17]):
        return None
    return ResidentId(value, value[:6], born, "M" if int(value[16]) % 2 else "F")


def _parse_resident_id_explained(value: str, today: dt.date | None) -> ResidentId:
    text, view, errors = _begin(value, "id", _ID_LABEL)
    hint = ""
    if len(view) == 15 and set(view) <= _DIGITS:
        hint = " (15-digit first-generation numbers must be converted to the 18-digit form)"
    full = _check_length(errors, text, 18, hint)
    _id_digits(errors, view, last_may_be_x=full)

    if len(view) >= 2 and set(view[:2]) <= _DIGITS and view[:2] not in RESIDENT_ID_PROVINCES:
        errors.add("province", 1, f"characters 1-2 are '{view[:2]}', not a province-level code")
    if full and set(view[6:14]) <= _DIGITS:
        _birth_date(errors, view[6:14], today or dt.date.today())
    if full and not errors.character_level:
        expected = _id_check(text[:17])
        if text[17] != expected:
            errors.char("check", 18, text[17], f", but the check character should be '{expected}'")
    errors.raise_if_any()
    return ResidentId(
        number=text,
        division=text[:6],
        birth_date=dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14])),
        sex="M" if int(text[16]) % 2 else "F",
    )


def is_masked_resident_id(value: str) -> bool:
    """Whether ``value`` is a published, deliberately masked resident ID.

    Accepts the literal ``非公示项`` ("not disclosed") and any 18-character
    value with at least one ``*`` whose other characters are digits (plus
    ``X`` last), so every masking width and offset in use is recognised.
    """
    text = value.strip()
    if text == _NOT_DISCLOSED:
        return True
    if len(text) != 18 or "*" not in text:
        return False
    return set(text[:17]) <= _DIGITS | {"*"} and text[17] in _DIGITS | {"*", "X", "x"}


def mask_resident_id(number: str) -> str:
    """Keep the first 6 and last 4 characters of an 18-character ID, ``*`` between.

    Only the shape is required, not a valid check: masking must never be the
    step that lets a malformed but real number through unmasked.  An already
    masked value is returned normalised.
    """
    if _ID_SHAPE.fullmatch(number):  # the usual case: a stored, well-formed number
        return number[:6] + "********" + number[-4:]
    if is_masked_resident_id(number):
        return number.strip().translate(_ASCII_UPPER)
    text, view, errors = _begin(number, "id", _ID_LABEL)
    full = _check_length(errors, text, 18)
    _id_digits(errors, view, last_may_be_x=full)
    errors.raise_if_any()
    return text[:6] + "*" * 8 + text[-4:]


# --- Registration numbers, licences and filings ------------------------------------


@dataclass(frozen=True)
class _Slot:
    allowed: frozenset[str]
    rule: str
    expected: str


_DIGIT: Final = _Slot(_DIGITS, "charset", "a digit")
_LETTER: Final = _Slot(_LETTERS, "charset", "a letter A-Z")


def _fixed(value: str, prefix: str, label: str, slots: Sequence[_Slot]) -> tuple[str, _Errors]:
    text, view, errors = _begin(value, prefix, label)
    _check_length(errors, text, len(slots))
    # Surplus characters are left to the length error.
    for position, (ch, slot) in enumerate(zip(view, slots, strict=False), 1):
        if ch not in slot.allowed:
            errors.char(slot.rule, position, ch, f"; it must be {slot.expected}")
    return text, errors


def _mod11_10_check(first14: str) -> str:
    product = 10
    for ch in first14:
        product = ((product % 11 + int(ch)) % 10 or 10) * 2
    return str((11 - product % 11) % 10)


def parse_legacy_registration_number(value: str) -> str:
    """Validate a 15-digit legacy business registration number (注册号)."""
    text, errors = _fixed(value, "registration", "Registration number", [_DIGIT] * 15)
    if len(text) == 15 and not errors.character_level:
        expected = _mod11_10_check(text[:14])
        if text[14] != expected:
            errors.char("check", 15, text[14], f", but the check digit should be '{expected}'")
    errors.raise_if_any()
    return text


def parse_payment_licence(value: str) -> str:
    """Validate a PBoC payment business licence number: ``Z`` + 13 digits."""
    slots = [_Slot(frozenset("Z"), "prefix", "the letter Z"), *[_DIGIT] * 13]
    text, errors = _fixed(value, "payment_licence", "Payment licence number", slots)
    errors.raise_if_any()
    return text


def parse_bank_licence(value: str) -> str:
    """Validate a financial licence institution code: letter, 4 digits, letter, 9 digits."""
    slots = [_LETTER, *[_DIGIT] * 4, _LETTER, *[_DIGIT] * 9]
    text, errors = _fixed(value, "bank_licence", "Financial licence code", slots)
    errors.raise_if_any()
    return text


def parse_private_fund_manager_code(value: str) -> str:
    """Validate an AMAC private fund manager registration code: ``P`` + 7 digits."""
    slots = [_Slot(frozenset("P"), "prefix", "the letter P"), *[_DIGIT] * 7]
    text, errors = _fixed(value, "fund_manager", "Private fund manager code", slots)
    errors.raise_if_any()
    return text


def _icp_number(errors: _Errors, view: str, licence: bool) -> int | None:
    """Check the digits after the marker; return the position of the next character."""
    position = 6
    while position <= len(view) and view[position - 1] in _DIGITS:
        position += 1
    count = position - 6
    allowed = (6,) if licence else (8, 10)
    if count not in allowed:
        kind = "licence numbers (ICP证) have 6" if licence else "filings (ICP备) have 8 or 10"
        errors.add("number", 6, f"has {count} digits from character 6; {kind}")
        if count == 0:
            return None
    return position


def _icp_tail(errors: _Errors, view: str, start: int, licence: bool) -> None:
    """Check what follows '号': nothing, or for filings '-n' with n >= 1."""
    if start > len(view):
        return
    if licence:
        errors.char("suffix", start, view[start - 1], "; nothing may follow '号' in a licence")
        return
    if view[start - 1] != "-":
        errors.char(
            "suffix", start, view[start - 1], "; only '-' and a site number may follow '号'"
        )
        return
    sequence = view[start:]
    if not sequence:
        errors.add("suffix", start, f"character {start} '-' must be followed by a site number")
        return
    for offset, ch in enumerate(sequence, start + 1):
        if ch not in _DIGITS:
            errors.char("suffix", offset, ch, "; the site number after '-' must be digits")
            return
    if sequence[0] == "0":
        errors.char(
            "suffix", start + 1, "0", "; the site number must be 1 or more, without leading zeros"
        )


def parse_icp_filing(value: str) -> str:
    """Validate an ICP filing (京ICP备12345678号-1) or ICP licence (京ICP证030173号)."""
    text, view, errors = _begin(value, "icp", "ICP filing number")
    if not view:
        errors.add("length", None, "is empty")
        errors.fail()
    if view[0] not in ICP_PROVINCES:
        errors.char("province", 1, view[0], ", not a provincial abbreviation such as '京'")
    for position, expected in ((2, "I"), (3, "C"), (4, "P")):
        if position > len(view):
            errors.add("marker", position, f"ends before character {position}; expected 'ICP'")
            errors.fail()
        if view[position - 1] != expected:
            errors.char("marker", position, view[position - 1], f"; expected '{expected}' of 'ICP'")
    if len(view) < 5:
        errors.add("marker", 5, "ends before character 5; expected '备' or '证'")
        errors.fail()
    licence = view[4] == "证"
    if view[4] not in "备证":
        errors.char("marker", 5, view[4], "; expected '备' (filing) or '证' (licence)")
    terminator = _icp_number(errors, view, licence)
    if terminator is not None:
        if terminator > len(view):
            errors.add(
                "terminator", terminator, f"ends before character {terminator}; expected '号'"
            )
        elif view[terminator - 1] != "号":
            errors.char("terminator", terminator, view[terminator - 1], "; expected '号'")
        else:
            _icp_tail(errors, view, terminator + 1, licence)
    errors.raise_if_any()
    return text
