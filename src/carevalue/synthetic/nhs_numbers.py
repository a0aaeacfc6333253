"""NHS numbers from the range reserved for testing (999 000 0000 to 999 999 9999).

An NHS number is nine digits and a Modulus 11 check digit: weights 10..2 on the first nine
digits, check = 11 - (sum mod 11); 11 becomes 0 and 10 means the nine digits cannot be used.
The reserved range therefore holds 909,091 usable numbers; patients beyond that many get none.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

TEST_RANGE_PREFIX = 999_000_000  # the first nine digits run from 999000000 to 999999999
WEIGHTS = np.arange(10, 1, -1)


def check_digit(first_nine: np.ndarray) -> np.ndarray:
    """Modulus 11 check digit of each nine-digit number; 10 where none is possible."""
    digits = (first_nine[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    remainder = (digits * WEIGHTS).sum(axis=1) % 11
    check = 11 - remainder
    return np.where(check == 11, 0, check)


def is_valid(nhs_number: str) -> bool:
    """Whether a 10-character string is a valid NHS number (Modulus 11)."""
    if len(nhs_number) != 10 or not nhs_number.isdigit():
        return False
    check = check_digit(np.array([int(nhs_number[:9])]))[0]
    return check != 10 and check == int(nhs_number[9])


@lru_cache(maxsize=4)
def _shuffled_test_numbers(seed: int) -> np.ndarray:
    first_nine = TEST_RANGE_PREFIX + np.arange(1_000_000, dtype=np.int64)
    check = check_digit(first_nine)
    usable = first_nine[check != 10] * 10 + check[check != 10]
    # Shuffle so that neighbouring patients do not get neighbouring numbers.
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2,)))
    return usable[rng.permutation(len(usable))]


def capacity() -> int:
    return len(_shuffled_test_numbers(0))


def nhs_numbers(patient_index: np.ndarray, seed: int) -> np.ndarray:
    """The NHS number of each patient (by 0-based index), unique in a trust; -1 past capacity."""
    numbers = _shuffled_test_numbers(seed)
    out = np.full(len(patient_index), -1, dtype=np.int64)
    inside = patient_index < len(numbers)
    out[inside] = numbers[patient_index[inside]]
    return out
