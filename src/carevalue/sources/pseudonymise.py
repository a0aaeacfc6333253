"""Keyed hashing of NHS numbers, so the warehouse can link a person without knowing who.

HMAC-SHA256 with the trust's secret key: the same NHS number always gives the same
pseudonym under one key (records link across extracts), and without the key nobody can
rebuild the pseudonym from a list of NHS numbers (a plain hash would fall to that in
seconds, since there are only 10^10 NHS numbers).
"""

from __future__ import annotations

import hashlib
import hmac
import re

import pyarrow as pa

_not_digits = re.compile(r"[\s-]")


def normalise_nhs_number(value: str) -> str:
    """'943 476 5919' and '943-476-5919' are the same number as '9434765919'."""
    return _not_digits.sub("", value)


def nhs_number_is_valid(value: str) -> bool:
    """Modulus 11 check digit, as the NHS Data Dictionary defines it."""
    digits = normalise_nhs_number(value)
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def keyed_hash(value: str, key: bytes) -> str:
    return hmac.new(key, normalise_nhs_number(value).encode(), hashlib.sha256).hexdigest()


def pseudonymise_array(values: pa.Array, key: bytes) -> tuple[pa.Array, int]:
    """Hash every non-blank value; return the hashes and how many fail the check digit."""
    hashed: list[str | None] = []
    invalid = 0
    for value in values.to_pylist():
        if value is None:
            hashed.append(None)
            continue
        if not nhs_number_is_valid(value):
            invalid += 1
        hashed.append(keyed_hash(value, key))
    return pa.array(hashed, type=pa.string()), invalid
