"""carevalue.outcomes.scores: worked examples from the cited papers (arithmetic shown),
boundary cases (floors, caps, band edges), every input check, and Hypothesis properties
that hold by construction of the published value sets and formulas."""

from __future__ import annotations

import csv
import hashlib
import itertools
import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from carevalue.outcomes import scores
from carevalue.outcomes.scores import (
    apri,
    charlson,
    charlson_groups,
    child_pugh,
    cockcroft_gault,
    eq5d3l_index,
    eq5d5l_index,
    eq5d5l_to_3l,
    euroscore2,
    fib4,
    meld,
    meld_na,
    mrs_from_smrsq,
    nihss_band,
    nihss_total,
    ukeld,
    uw_mrs,
)

# The tables sit beside the scores package, in carevalue/outcomes/reference/.
REFERENCE = Path(scores.__file__).parents[1] / "reference"


# ---------------------------------------------------------------------------------------
# Reference tables
# ---------------------------------------------------------------------------------------


def test_the_examples_in_docs_scores_md():
    assert eq5d5l_index("21232") == 0.73
    assert charlson(["I50.9", "E11.2", "C78.7", "C18.7"]) == 9
    assert meld_na(bilirubin_mg_dl=3.0, inr=2.0, creatinine_mg_dl=2.0, sodium=125) == 31


def test_every_packaged_table_is_cited_in_the_reference_readme():
    readme = (REFERENCE / "README.md").read_text()
    tables = sorted(path.name for path in REFERENCE.glob("*.csv"))
    assert len(tables) == 7
    for name in tables:
        assert name in readme, name


def recorded_checksums() -> dict[str, str]:
    """reference/SHA256SUMS: each table's SHA-256 as copied from the published reference set."""
    lines = (REFERENCE / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}


def test_every_packaged_table_has_a_recorded_checksum():
    assert sorted(recorded_checksums()) == sorted(path.name for path in REFERENCE.glob("*.csv"))


@pytest.mark.parametrize(
    "name",
    [
        "eq5d5l_england_devlin2018.csv",
        "eq5d3l_uk_dolan1997.csv",
        "eq5d5l_to_3l_uk_dsu.csv",
        "charlson_icd10_quan2005.csv",
        "charlson_icd10_shmi_v1_35.csv",
        "charlson_weights.csv",
        "charlson_weights_shmi_v1_35.csv",
    ],
)
def test_packaged_tables_are_unchanged_copies_of_the_published_reference(name):
    packaged = REFERENCE / name
    assert packaged.is_file(), f"{packaged} is missing from the package"
    digest = hashlib.sha256(packaged.read_bytes()).hexdigest()
    assert digest == recorded_checksums()[name], f"{packaged} differs from its recorded SHA-256"


def test_the_5l_to_3l_mapping_covers_every_state_age_group_and_sex_once():
    with (REFERENCE / "eq5d5l_to_3l_uk_dsu.csv").open(newline="") as handle:
        keys = [(row["state_5l"], row["age_group"], row["sex"]) for row in csv.DictReader(handle)]
    states = {"".join(levels) for levels in itertools.product("12345", repeat=5)}
    expected = set(
        itertools.product(states, ["18-34", "35-44", "45-54", "55-64", "65+"], ["male", "female"])
    )
    assert len(keys) == len(set(keys)) == 31_250
    assert set(keys) == expected


def test_published_charlson_weights():
    # Charlson 1987 Table 3 and Quan 2011 Table 3, typed here from the papers so that an
    # edited CSV cannot change a weight unnoticed.
    charlson_1987 = {
        "mi": 1, "chf": 1, "pvd": 1, "cevd": 1, "dementia": 1, "cpd": 1, "rheumd": 1, "pud": 1,
        "mld": 1, "diab": 1, "diabwc": 2, "hp": 2, "rend": 2, "canc": 2, "msld": 3,
        "metacanc": 6, "aids": 6,
    }  # fmt: skip
    quan_2011 = {
        "mi": 0, "chf": 2, "pvd": 0, "cevd": 0, "dementia": 2, "cpd": 1, "rheumd": 1, "pud": 0,
        "mld": 2, "diab": 0, "diabwc": 1, "hp": 2, "rend": 1, "canc": 2, "msld": 4,
        "metacanc": 6, "aids": 4,
    }  # fmt: skip
    assert scores.charlson_index.charlson_weights("charlson1987") == charlson_1987
    assert scores.charlson_index.charlson_weights("quan2011") == quan_2011


@pytest.mark.parametrize("weights", ["charlson1987", "quan2011", "shmi"])
def test_every_charlson_group_has_a_weight(weights):
    prefixes = scores.charlson_index.charlson_prefixes(scores.charlson_index.GROUPS_FILE[weights])
    groups = {group for groups in prefixes.values() for group in groups}
    assert groups == set(scores.charlson_index.charlson_weights(weights))
    for severe, mild in scores.CHARLSON_HIERARCHY:
        assert {severe, mild} <= groups


# ---------------------------------------------------------------------------------------
# EQ-5D
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("11111", 1.0),  # full health
        # 1 - (MO5 .274 + SC5 .203 + UA5 .184 + PD5 .335 + AD5 .289) = 1 - 1.285
        ("55555", -0.285),
        ("21111", 0.942),  # 1 - MO2 .058
        ("11112", 0.922),  # 1 - AD2 .078
        # 1 - (SC2 .050 + UA3 .063 + PD4 .276 + AD5 .289) = 1 - .678
        ("12345", 0.322),
        # 1 - (MO3 .076 + SC3 .080 + UA3 .063 + PD3 .084 + AD3 .104) = 1 - .407
        ("33333", 0.593),
    ],
)
def test_eq5d5l_england_examples(state, expected):
    assert eq5d5l_index(state) == expected
    assert eq5d5l_index(int(state)) == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("11111", 1.0),
        # 1 - .081 - MO3 .314 - SC3 .214 - UA3 .094 - PD3 .386 - AD3 .236 - N3 .269
        ("33333", -0.594),
        # 1 - .081 - UA2 .036 - PD2 .123 - AD3 .236 - N3 .269
        ("11223", 0.255),
        ("21111", 0.850),  # 1 - .081 - MO2 .069
        ("11112", 0.848),  # 1 - .081 - AD2 .071
        # 1 - .081 - .069 - .104 - .036 - .123 - .071
        ("22222", 0.516),
        # 1 - .081 - MO3 .314 - SC2 .104 - UA2 .036 - N3 .269
        ("32211", 0.196),
    ],
)
def test_eq5d3l_uk_dolan_examples(state, expected):
    assert eq5d3l_index(state) == expected


def test_eq5d_state_tolerates_surrounding_spaces():
    assert eq5d5l_index(" 55555 ") == -0.285
    assert eq5d5l_index("11111", value_set="England") == 1.0


@pytest.mark.parametrize(
    "state", ["1234", "123456", "12306", "12346", 0, 1234.0, 12345.5, True, "1 2 3 4 5", ""]
)
def test_eq5d5l_rejects_malformed_states(state):
    with pytest.raises(ValueError, match="state must be five digits"):
        eq5d5l_index(state)


@pytest.mark.parametrize("state", [None, float("nan")])
def test_eq5d_missing_state(state):
    with pytest.raises(ValueError, match="state is missing"):
        eq5d5l_index(state)


def test_eq5d_state_from_a_float_column():
    assert eq5d5l_index(55555.0) == -0.285


@pytest.mark.parametrize("state", ["11114", "44444", 12341])
def test_eq5d3l_rejects_levels_above_3(state):
    with pytest.raises(ValueError, match=r"state must be five digits.*1-3"):
        eq5d3l_index(state)


def test_eq5d_value_set_must_be_known():
    with pytest.raises(ValueError, match="value_set must be one of england"):
        eq5d5l_index("11111", value_set="germany")
    with pytest.raises(ValueError, match="value_set must be one of uk"):
        eq5d3l_index("11111", value_set="us")


@pytest.mark.parametrize(
    ("state", "age", "sex", "expected"),
    [
        # values from the packaged NICE DSU table, one per age group, at each group's edges
        ("11111", 18, "male", 0.986651549218558),
        ("11111", 34.9, "male", 0.986651549218558),  # not yet 35
        ("11111", 35, "male", 0.987058101698318),
        ("11111", 45, "male", 0.987111786460357),
        ("11111", 64, "male", 0.987115319615273),
        ("11111", 65, "male", 0.988528544847313),
        ("11111", 101, "female", 0.987912717788012),
        (55555, 40, "Female", -0.524271224506306),
        ("55555", 65, " male ", -0.531575872043242),
    ],
)
def test_eq5d5l_to_3l_looks_up_age_group_and_sex(state, age, sex, expected):
    assert eq5d5l_to_3l(state, age, sex) == expected


@pytest.mark.parametrize(
    ("age", "sex", "message"),
    [
        (17, "male", "age must be >= 18"),
        (17.99, "female", "age must be >= 18"),
        (None, "male", "age is missing"),
        (float("nan"), "male", "age is missing"),
        (121, "male", "age must be >= 18 and <= 120 years"),
        (40, "m", "sex must be one of male, female"),
        (40, None, "sex must be one of male, female"),
    ],
)
def test_eq5d5l_to_3l_rejects_bad_age_and_sex(age, sex, message):
    with pytest.raises(ValueError, match=message):
        eq5d5l_to_3l("11111", age, sex)


STATES_5L = st.tuples(*[st.integers(1, 5)] * 5)
STATES_3L = st.tuples(*[st.integers(1, 3)] * 5)


def _state(levels) -> str:
    return "".join(map(str, levels))


@given(STATES_5L, st.integers(0, 4))
def test_eq5d5l_england_never_improves_when_a_dimension_worsens(levels, dimension):
    # Each dimension's decrements grow with the level in Devlin 2018, so this holds for
    # every state; it would catch a transposed coefficient.
    if levels[dimension] == 5:
        return
    worse = list(levels)
    worse[dimension] += 1
    assert eq5d5l_index(_state(worse)) <= eq5d5l_index(_state(levels))
    assert -0.285 <= eq5d5l_index(_state(levels)) <= 1.0


@given(STATES_3L, st.integers(0, 4))
def test_eq5d3l_uk_never_improves_when_a_dimension_worsens(levels, dimension):
    if levels[dimension] == 3:
        return
    worse = list(levels)
    worse[dimension] += 1
    assert eq5d3l_index(_state(worse)) <= eq5d3l_index(_state(levels))
    assert -0.594 <= eq5d3l_index(_state(levels)) <= 1.0


# ---------------------------------------------------------------------------------------
# Charlson
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "weights", "hierarchy", "expected"),
    [
        # diabetes without complications only: diab (1987: 1, Quan 2011: 0, SHMI: 3)
        (["E11.9"], "charlson1987", True, 1),
        (["E11.9"], "quan2011", True, 0),
        (["E11.9"], "shmi", True, 3),
        # diabetes with complications only: diabwc (2, 1, SHMI -1)
        (["E11.2"], "charlson1987", True, 2),
        (["E11.2"], "quan2011", True, 1),
        (["E11.2"], "shmi", True, -1),
        # both coded: the hierarchy keeps diabwc alone; without it both count
        (["E11.9", "E11.2"], "charlson1987", True, 2),
        (["E11.9", "E11.2"], "charlson1987", False, 3),  # 1 + 2
        (["E11.9", "E11.2"], "quan2011", True, 1),
        (["E11.9", "E11.2"], "quan2011", False, 1),  # 0 + 1
        (["E11.9", "E11.2"], "shmi", True, -1),
        (["E11.9", "E11.2"], "shmi", False, 2),  # 3 + -1
        # colon cancer with liver metastases: metacanc over canc
        (["C18.7", "C78.7"], "charlson1987", True, 6),
        (["C18.7", "C78.7"], "charlson1987", False, 8),  # 2 + 6
        (["C18.7", "C78.7"], "quan2011", True, 6),
        (["C18.7", "C78.7"], "quan2011", False, 8),  # 2 + 6
        (["C18.7", "C78.7"], "shmi", True, 14),
        (["C18.7", "C78.7"], "shmi", False, 22),  # 8 + 14
        (["C18.7"], "quan2011", True, 2),
        # alcoholic cirrhosis (mild, K70.3) with hepatic failure (severe, K72.1)
        (["K70.3", "K72.1"], "charlson1987", True, 3),
        (["K70.3", "K72.1"], "charlson1987", False, 4),  # 1 + 3
        (["K70.3", "K72.1"], "quan2011", True, 4),
        (["K70.3", "K72.1"], "quan2011", False, 6),  # 2 + 4
        (["K70.3", "K72.1"], "shmi", True, 18),
        (["K70.3", "K72.1"], "shmi", False, 26),  # 8 + 18
        (["K70.3"], "quan2011", True, 2),
        # a richer patient (Quan 2011): CHF 2 + CPD 1 + renal 1 + dementia 2 + MI 0 = 6
        (["I50.0", "J44.9", "N18.5", "F01.9", "I21.4", "J18.9"], "quan2011", True, 6),
        # ... and by Charlson 1987: 1 + 1 + 2 + 1 + 1 = 6
        (["I50.0", "J44.9", "N18.5", "F01.9", "I21.4", "J18.9"], "charlson1987", True, 6),
        ([], "quan2011", True, 0),
        (["J18.9", "S72.0"], "quan2011", True, 0),  # pneumonia, hip fracture: no group
    ],
)
def test_charlson_worked_examples(codes, weights, hierarchy, expected):
    assert charlson(codes, weights=weights, hierarchy=hierarchy) == expected


@pytest.mark.parametrize("code", ["I50.9", "I509", "i50.9", " I50.9 ", "I50 .9", "I509X", "I50.9-"])
def test_charlson_codes_with_or_without_dots_any_case(code):
    assert charlson_groups([code]) == {"chf"}
    assert charlson([code]) == 2


def test_each_group_counts_once():
    assert charlson(["I50.0", "I50.9", "I11.0", "I50.0"]) == 2
    assert charlson(["I50.0", "I50.9"], weights="charlson1987") == 1


def test_prefix_matching_respects_four_character_prefixes():
    assert charlson_groups(["I25.2"]) == {"mi"}  # old MI
    assert charlson_groups(["I25.5"]) == {"chf"}  # ischaemic cardiomyopathy
    assert charlson_groups(["I25.1"]) == frozenset()  # atherosclerotic heart disease
    assert charlson_groups(["K70.4"]) == {"msld"}
    assert charlson_groups(["K70.9"]) == {"mld"}


def test_shmi_uses_its_own_groups_and_names():
    assert charlson_groups(["I21.0"], weights="shmi") == {"ami"}
    assert charlson_groups(["I21.0"], weights="quan2011") == {"mi"}
    assert charlson_groups(["J44.9"], weights="shmi") == {"copd"}
    # C44 (non-melanoma skin cancer) is in SHMI's cancer group, not in Quan's
    assert charlson_groups(["C44.3"], weights="shmi") == {"canc"}
    assert charlson_groups(["C44.3"]) == frozenset()


def test_charlson_groups_reports_before_the_hierarchy():
    assert charlson_groups(["E11.9", "E11.2", "C18.7", "C78.7"]) == {
        "diab", "diabwc", "canc", "metacanc",
    }  # fmt: skip


def test_empty_diagnosis_slots_are_skipped():
    assert charlson([None, "", "  ", float("nan"), np.nan, "I50.9"]) == 2


def test_charlson_accepts_any_iterable():
    assert charlson(code for code in ["I50.9", "E11.2"]) == 3
    assert charlson(("I50.9",)) == 2
    assert charlson({"I50.9"}) == 2


@pytest.mark.parametrize(
    ("codes", "kwargs", "message"),
    [
        ("I50.9", {}, "icd10_codes must be a list"),
        (None, {}, "icd10_codes must be a list"),
        ([509], {}, "icd10_codes must hold ICD-10 code strings"),
        (["hello"], {}, "icd10_codes holds 'hello', which is not an ICD-10 code"),
        (["150.9"], {}, "icd10_codes holds '150.9'"),
        (["I50.9"], {"weights": "elix"}, "weights must be one of charlson1987, quan2011, shmi"),
        (["I50.9"], {"hierarchy": "yes"}, "hierarchy must be True or False"),
    ],
)
def test_charlson_input_errors(codes, kwargs, message):
    with pytest.raises(ValueError, match=message):
        charlson(codes, **kwargs)


def _all_prefixes(groups_file: str) -> list[str]:
    return sorted(scores.charlson_index.charlson_prefixes(groups_file))


QUAN_CODES = st.lists(
    st.sampled_from(_all_prefixes("charlson_icd10_quan2005.csv") + ["J189", "S720", "Z000"]),
    max_size=12,
)
SHMI_CODES = st.lists(
    st.sampled_from(_all_prefixes("charlson_icd10_shmi_v1_35.csv") + ["J189", "S720"]),
    max_size=12,
)


@given(QUAN_CODES, st.sampled_from(["charlson1987", "quan2011"]))
def test_charlson_is_non_negative_and_hierarchy_never_increases_it(codes, weights):
    with_hierarchy = charlson(codes, weights=weights)
    assert 0 <= with_hierarchy <= charlson(codes, weights=weights, hierarchy=False)


@given(SHMI_CODES)
def test_shmi_hierarchy_never_increases_the_index(codes):
    # Not non-negative: SHMI weights diabetes with complications -1.
    assert charlson(codes, weights="shmi") <= charlson(codes, weights="shmi", hierarchy=False)


@given(QUAN_CODES, QUAN_CODES)
def test_charlson_groups_of_a_union_is_the_union_of_groups(first, second):
    assert charlson_groups(first + second) == charlson_groups(first) | charlson_groups(second)
    assert charlson(first + second) == charlson(second + first)


# ---------------------------------------------------------------------------------------
# Stroke
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mrs", "utility"), [(0, 1.0), (1, 0.91), (2, 0.76), (3, 0.65), (4, 0.33), (5, 0.0), (6, 0.0)]
)
def test_uw_mrs_all_seven(mrs, utility):
    assert uw_mrs(mrs) == utility
    assert uw_mrs(float(mrs)) == utility  # 3.0 from a pandas column is still mRS 3
    assert uw_mrs(np.int64(mrs)) == utility


@pytest.mark.parametrize("mrs", [-1, 7, 2.5, "2", None, float("nan"), True])
def test_uw_mrs_rejects_non_scores(mrs):
    with pytest.raises(ValueError, match="mrs must be an integer from 0 to 6"):
        uw_mrs(mrs)


NIHSS_ZERO = dict.fromkeys(scores.NIHSS_ITEMS, 0)
NIHSS_MAX = dict(scores.NIHSS_ITEMS)


def test_nihss_total_range():
    assert nihss_total(NIHSS_ZERO) == 0
    assert nihss_total(NIHSS_MAX) == 42


def test_nihss_total_example():
    # drowsy (1a 1), one question wrong (1b 1), partial gaze palsy (2 1), hemianopia (3 2),
    # minor facial palsy (4 1), left arm drift (5a 1) and no effort against gravity in the left
    # leg (6a 3), mild sensory loss (8 1), mild aphasia (9 1): 1+1+1+2+1+1+3+1+1 = 12
    deficits = {"1a": 1, "1b": 1, "2": 1, "3": 2, "4": 1, "5a": 1, "6a": 3, "8": 1, "9": 1}
    items = NIHSS_ZERO | deficits
    assert nihss_total(items) == 12


def test_nihss_untestable_counts_zero_on_the_items_that_allow_it():
    items = NIHSS_MAX | {"5a": "UN", "6b": "un", "7": " UN", "10": "UN"}
    assert nihss_total(items) == 42 - 4 - 4 - 2 - 2


def test_nihss_keys_may_be_numbers_or_upper_case():
    items = {(int(k) if k.isdigit() else k.upper()): 0 for k in scores.NIHSS_ITEMS}
    assert nihss_total(items | {2: 2}) == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"5a": 5}, "NIHSS item 5a must be an integer from 0 to 4"),
        ({"1a": -1}, "NIHSS item 1a must be an integer from 0 to 3"),
        ({"9": 1.5}, "NIHSS item 9 must be an integer from 0 to 3"),
        ({"11": None}, "NIHSS item 11 must be an integer from 0 to 2"),
        ({"1a": "UN"}, "NIHSS item 1a cannot be UN"),
        ({"9": "UN"}, "NIHSS item 9 cannot be UN"),
        ({"12": 0}, "unknown NIHSS item"),
    ],
)
def test_nihss_item_errors(change, message):
    with pytest.raises(ValueError, match=message):
        nihss_total(NIHSS_ZERO | change)


@pytest.mark.parametrize("item", list(scores.NIHSS_ITEMS))
def test_nihss_missing_item_is_named(item):
    items = {key: value for key, value in NIHSS_ZERO.items() if key != item}
    with pytest.raises(ValueError, match=f"NIHSS item {item} is missing"):
        nihss_total(items)


def test_nihss_items_must_be_a_mapping():
    with pytest.raises(ValueError, match="items must be a dict"):
        nihss_total([0] * 15)


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "none"),
        (1, "minor"),
        (4, "minor"),
        (5, "moderate"),
        (15, "moderate"),
        (16, "moderate_to_severe"),
        (20, "moderate_to_severe"),
        (21, "severe"),
        (42, "severe"),
    ],
)
def test_nihss_band_edges(total, band):
    assert nihss_band(total) == band


@pytest.mark.parametrize("total", [-1, 43, 4.5, None])
def test_nihss_band_rejects_impossible_totals(total):
    with pytest.raises(ValueError, match="total must be an integer from 0 to 42"):
        nihss_band(total)


@given(st.fixed_dictionaries({item: st.integers(0, top) for item, top in NIHSS_MAX.items()}))
def test_nihss_total_is_the_item_sum_and_always_has_a_band(items):
    total = nihss_total(items)
    assert total == sum(items.values())
    assert nihss_band(total) in {"none", "minor", "moderate", "moderate_to_severe", "severe"}


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"dead": True}, 6),
        ({"dead": False, "lives_alone_without_help": True, "does_all_usual_activities": True,
          "any_symptoms": False}, 0),
        ({"lives_alone_without_help": True, "does_all_usual_activities": True,
          "any_symptoms": True}, 1),
        ({"lives_alone_without_help": True, "does_all_usual_activities": False}, 2),
        ({"lives_alone_without_help": False, "walks_without_help": True}, 3),
        ({"lives_alone_without_help": False, "walks_without_help": False,
          "bedridden_constant_care": False}, 4),
        ({"lives_alone_without_help": False, "walks_without_help": False,
          "bedridden_constant_care": True}, 5),
        # yes/no strings, as a survey export writes them
        ({"lives_alone_without_help": "No", "walks_without_help": "yes"}, 3),
        # answers off the path taken are not asked, so they do not change the score
        ({"lives_alone_without_help": True, "does_all_usual_activities": False,
          "walks_without_help": False, "bedridden_constant_care": True}, 2),
    ],
)  # fmt: skip
def test_mrs_from_smrsq_every_path(answers, expected):
    assert mrs_from_smrsq(answers) == expected


@pytest.mark.parametrize(
    ("answers", "missing"),
    [
        ({}, "lives_alone_without_help"),
        ({"dead": False}, "lives_alone_without_help"),
        ({"lives_alone_without_help": True}, "does_all_usual_activities"),
        ({"lives_alone_without_help": True, "does_all_usual_activities": True}, "any_symptoms"),
        ({"lives_alone_without_help": False}, "walks_without_help"),
        ({"lives_alone_without_help": False, "walks_without_help": False},
         "bedridden_constant_care"),
        ({"lives_alone_without_help": None}, "lives_alone_without_help"),
    ],
)  # fmt: skip
def test_mrs_from_smrsq_names_the_missing_answer(answers, missing):
    with pytest.raises(ValueError, match=f"answers is missing '{missing}'"):
        mrs_from_smrsq(answers)


def test_mrs_from_smrsq_rejects_unknown_questions_and_bad_answers():
    with pytest.raises(ValueError, match="unknown smRSq question"):
        mrs_from_smrsq({"can_walk": True})
    with pytest.raises(ValueError, match=r"answers\['walks_without_help'\] must be True or False"):
        mrs_from_smrsq({"lives_alone_without_help": False, "walks_without_help": "maybe"})
    with pytest.raises(ValueError, match="answers must be a dict"):
        mrs_from_smrsq([True, True])


@given(st.fixed_dictionaries({}, optional={q: st.booleans() for q in scores.SMRSQ_QUESTIONS}))
def test_mrs_from_smrsq_is_a_score_or_names_a_question(answers):
    try:
        score = mrs_from_smrsq(answers)
    except ValueError as error:
        assert "answers is missing" in str(error)
    else:
        assert 0 <= score <= 6


# ---------------------------------------------------------------------------------------
# EuroSCORE II
# ---------------------------------------------------------------------------------------


def _logistic(y: float) -> float:
    return math.exp(y) / (1 + math.exp(y))


def test_euroscore2_baseline():
    # 60-year-old man, elective isolated CABG, no risk factors: the age term counts 1 year
    expected = _logistic(-5.324537 + 0.0285181)
    assert euroscore2(60) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.004987, abs=1e-6)  # about 0.5 %


def test_euroscore2_age_term_counts_from_60():
    assert euroscore2(45) == euroscore2(60)  # max(1, age - 59) is 1 up to 60
    assert euroscore2(61) == pytest.approx(_logistic(-5.324537 + 0.0285181 * 2), rel=1e-12)
    assert euroscore2(80) == pytest.approx(_logistic(-5.324537 + 0.0285181 * 21), rel=1e-12)


def test_euroscore2_richer_case():
    # 70-year-old woman, creatinine clearance 60 ml/min (moderate), insulin-treated diabetes,
    # NYHA III, LV ejection fraction 40 % (moderate), urgent, two procedures (e.g. AVR + CABG):
    # y = -5.324537 + 0.0285181 x 11 (age 70 - 59)      = -5.324537 + 0.3136991
    #     + female 0.2196434 + moderate renal 0.303553 + insulin 0.3542749 + NYHA III 0.2958358
    #     + LV moderate 0.3150652 + urgent 0.3174673 + two procedures 0.5521478 (sum 2.3579874)
    #   = -2.6528505;  p = 1 / (1 + exp(2.6528505)) = 0.0658 (6.6 %)
    y = -5.324537 + 0.0285181 * 11 + 2.3579874
    assert y == pytest.approx(-2.6528505, abs=1e-9)
    p = euroscore2(
        70,
        female=True,
        creatinine_clearance=60,
        insulin_diabetes=True,
        nyha=3,
        lv="moderate",
        urgency="urgent",
        procedure_weight="two",
    )
    assert p == pytest.approx(_logistic(y), rel=1e-12)
    assert p == pytest.approx(0.0658, abs=5e-4)


def test_euroscore2_every_factor_adds_its_coefficient():
    base = -5.324537 + 0.0285181
    cases = [
        ({"female": True}, 0.2196434),
        ({"extracardiac_arteriopathy": True}, 0.5360268),
        ({"poor_mobility": True}, 0.2407181),
        ({"redo": True}, 1.118599),
        ({"chronic_lung_disease": True}, 0.1886564),
        ({"active_endocarditis": True}, 0.6194522),
        ({"critical_preop": True}, 1.086517),
        ({"insulin_diabetes": True}, 0.3542749),
        ({"nyha": 2}, 0.1070545),
        ({"nyha": 4}, 0.5597929),
        ({"ccs4_angina": True}, 0.2226147),
        ({"lv": "poor"}, 0.8084096),
        ({"lv": "very_poor"}, 0.9346919),
        ({"recent_mi": True}, 0.1528943),
        ({"pa_pressure": "moderate"}, 0.1788899),
        ({"pa_pressure": "severe"}, 0.3491475),
        ({"urgency": "emergency"}, 0.7039121),
        ({"urgency": "salvage"}, 1.362947),
        ({"procedure_weight": "single_non_cabg"}, 0.0062118),
        ({"procedure_weight": "three_plus"}, 0.9724533),
        ({"thoracic_aorta": True}, 0.6527205),
        ({"dialysis": True}, 0.6421508),
    ]
    for kwargs, beta in cases:
        assert euroscore2(60, **kwargs) == pytest.approx(_logistic(base + beta), rel=1e-12), kwargs


@pytest.mark.parametrize(
    ("clearance", "dialysis", "beta"),
    [
        (None, False, 0.0),
        (85.01, False, 0.0),
        (85, False, 0.303553),  # 51-85 moderate
        (50.5, False, 0.303553),
        (50, False, 0.8592256),  # <= 50 severe
        (10, False, 0.8592256),
        (10, True, 0.6421508),  # dialysis overrides the clearance
        (None, True, 0.6421508),
    ],
)
def test_euroscore2_renal_classes(clearance, dialysis, beta):
    expected = _logistic(-5.324537 + 0.0285181 + beta)
    assert euroscore2(60, creatinine_clearance=clearance, dialysis=dialysis) == pytest.approx(
        expected, rel=1e-12
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"age": 17}, "age must be >= 18 and <= 120 years"),
        ({"age": None}, "age is missing"),
        ({"age": float("nan")}, "age is missing"),
        ({"age": 60, "nyha": 5}, "nyha must be an integer from 1 to 4"),
        ({"age": 60, "nyha": 0}, "nyha must be an integer from 1 to 4"),
        ({"age": 60, "lv": "bad"}, "lv must be one of good, moderate, poor, very_poor"),
        ({"age": 60, "pa_pressure": "high"}, "pa_pressure must be one of normal, moderate, severe"),
        ({"age": 60, "urgency": "soon"}, "urgency must be one of elective, urgent, emergency"),
        ({"age": 60, "procedure_weight": "cabg"}, "procedure_weight must be one of isolated_cabg"),
        ({"age": 60, "creatinine_clearance": 0}, "creatinine_clearance must be > 0"),
        ({"age": 60, "creatinine_clearance": float("nan")}, "creatinine_clearance is missing"),
        ({"age": 60, "female": "F"}, "female must be True or False"),
        ({"age": 60, "redo": None}, "redo must be True or False"),
        ({"age": 60, "dialysis": 2}, "dialysis must be True or False"),
    ],
)
def test_euroscore2_input_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        euroscore2(**kwargs)


LV_CLASSES = ["good", "moderate", "poor", "very_poor"]


def test_euroscore2_accepts_numpy_booleans():
    assert euroscore2(60, female=np.bool_(True)) == euroscore2(60, female=True)


@given(st.integers(18, 119), st.booleans(), st.sampled_from(LV_CLASSES))
def test_euroscore2_is_a_probability_rising_with_age(age, female, lv):
    p = euroscore2(age, female=female, lv=lv)
    assert 0 < p < 1
    assert euroscore2(age + 1, female=female, lv=lv) >= p


def test_cockcroft_gault():
    # (140 - 60) x 72 kg / (72 x 1.0 mg/dL) = 80 ml/min; a woman's is 0.85 of that, 68
    assert cockcroft_gault(60, 72, 1.0, female=False) == pytest.approx(80.0)
    assert cockcroft_gault(60, 72, 1.0, female=True) == pytest.approx(68.0)
    # (140 - 85) x 60 / (72 x 1.5) = 3300 / 108 = 30.56
    assert cockcroft_gault(85, 60, 1.5, female=False) == pytest.approx(3300 / 108)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((10, 70, 1.0, False), "age must be >= 18"),
        ((60, 0, 1.0, False), "weight_kg must be > 0"),
        ((60, 70, 0, False), "creatinine_mg_dl must be > 0"),
        ((60, 70, 88.4, False), "creatinine_mg_dl must be > 0 and <= 30 mg/dL"),  # umol/L slip
        ((60, 70, None, False), "creatinine_mg_dl is missing"),
        ((60, 70, 1.0, None), "female must be True or False"),
    ],
)
def test_cockcroft_gault_input_errors(args, message):
    with pytest.raises(ValueError, match=message):
        cockcroft_gault(*args)


# ---------------------------------------------------------------------------------------
# Liver
# ---------------------------------------------------------------------------------------


def test_meld_all_normal_is_6():
    # every value floored at 1.0 leaves MELD(i) = 0.643 -> 6.43 -> 6
    assert meld(1.0, 1.0, 1.0) == 6


def test_meld_floors_values_below_one():
    assert meld(0.3, 0.9, 0.5) == meld(1.0, 1.0, 1.0) == 6
    assert meld(0.3, 1.5, 0.5) == meld(1.0, 1.5, 1.0)


def test_meld_worked_example():
    # bilirubin 2, INR 1.5, creatinine 1.5:
    # 0.957 ln 1.5 (0.388030) + 0.378 ln 2 (0.262010) + 1.120 ln 1.5 (0.454121) + 0.643
    # = 1.747161 -> 17.47 -> 17
    assert meld(2.0, 1.5, 1.5) == 17


def test_meld_creatinine_cap_and_dialysis():
    # creatinine 4.0: 0.957 ln 4 (1.326683) + 0.643 = 1.969683 -> 19.7 -> 20
    assert meld(1.0, 1.0, 4.0) == 20
    assert meld(1.0, 1.0, 6.5) == 20  # capped at 4.0
    assert meld(1.0, 1.0, 0.8, dialysis=True) == 20  # dialysis counts as 4.0
    assert meld(1.0, 1.0, 9.0, dialysis=True) == 20


def test_meld_cap_40():
    # bilirubin 40, INR 8, creatinine 4: 1.326683 + 0.378 ln 40 (1.394396)
    # + 1.120 ln 8 (2.328975) + 0.643 = 5.693 -> 56.9 -> capped at 40
    assert meld(40.0, 8.0, 4.0) == 40


def test_round_half_up_not_half_even():
    # Python's round() gives 14, 6 and 2 here; OPTN rounds half up.
    assert [round(14.5), round(6.5), round(2.5)] == [14, 6, 2]
    assert scores.checks.round_half_up(14.5) == 15
    assert scores.checks.round_half_up(6.5) == 7
    assert scores.checks.round_half_up(2.5) == 3
    assert scores.checks.round_half_up(Decimal("23.5")) == 24
    assert scores.checks.round_half_up(14.49) == 14


def test_meld_na_unchanged_at_11_or_below():
    # bilirubin 3.4: 0.378 ln 3.4 (0.462587) + 0.643 = 1.105587 -> 11: no sodium adjustment
    assert meld(3.4, 1.0, 1.0) == 11
    assert meld_na(3.4, 1.0, 1.0, sodium=120) == 11
    assert meld_na(1.0, 1.0, 1.0, sodium=125) == 6


def test_meld_na_applies_above_11_with_sodium_clamped():
    # bilirubin 4.4: 0.378 ln 4.4 (0.560047) + 0.643 = 1.203047 -> MELD 12
    assert meld(4.4, 1.0, 1.0) == 12
    # Na 130: 12 + 1.32 x 7 - 0.033 x 12 x 7 = 12 + 9.24 - 2.772 = 18.468 -> 18
    assert meld_na(4.4, 1.0, 1.0, sodium=130) == 18
    # Na 125: 12 + 1.32 x 12 - 0.033 x 12 x 12 = 12 + 15.84 - 4.752 = 23.088 -> 23
    assert meld_na(4.4, 1.0, 1.0, sodium=125) == 23
    assert meld_na(4.4, 1.0, 1.0, sodium=110) == 23  # clamped up to 125
    assert meld_na(4.4, 1.0, 1.0, sodium=137) == 12
    assert meld_na(4.4, 1.0, 1.0, sodium=145) == 12  # clamped down to 137


def test_meld_na_worked_example_and_cap():
    # bilirubin 3, INR 2, creatinine 2: 0.957 ln 2 + 0.378 ln 3 + 1.120 ln 2 + 0.643
    # = 0.663339 + 0.415276 + 0.776325 + 0.643 = 2.497940 -> 25;
    # Na 125: 25 + 1.32 x 12 - 0.033 x 25 x 12 = 25 + 15.84 - 9.9 = 30.94 -> 31
    assert meld(3.0, 2.0, 2.0) == 25
    assert meld_na(3.0, 2.0, 2.0, sodium=125) == 31
    # at MELD 40 the sodium term is 1.32 - 0.033 x 40 = 0: still 40
    assert meld_na(40.0, 8.0, 4.0, sodium=125) == 40
    assert meld_na(1.0, 1.0, 0.8, sodium=125, dialysis=True) == meld_na(1.0, 1.0, 4.0, 125)


@given(
    st.floats(0.1, 60),
    st.floats(0.5, 12),
    st.floats(0.2, 15),
    st.floats(100, 160),
    st.booleans(),
)
def test_meld_na_is_never_below_meld_and_both_stay_in_6_to_40(bili, inr, creat, sodium, dialysis):
    score = meld(bili, inr, creat, dialysis=dialysis)
    assert 6 <= score <= meld_na(bili, inr, creat, sodium, dialysis=dialysis) <= 40


@given(st.floats(0.1, 60), st.floats(0.5, 12), st.floats(0.2, 15), st.floats(1.0, 3.0))
def test_meld_never_falls_when_a_value_rises(bili, inr, creat, factor):
    score = meld(bili, inr, creat)
    assert meld(min(bili * factor, 100), inr, creat) >= score
    assert meld(bili, min(inr * factor, 30), creat) >= score
    assert meld(bili, inr, min(creat * factor, 30)) >= score


def test_ukeld_formula():
    # INR 1.5, creatinine 100 umol/L, bilirubin 50 umol/L, Na 135:
    # 5.395 ln 1.5 (2.187) + 1.485 ln 100 (6.839) + 3.13 ln 50 (12.245) - 81.565 ln 135
    # (400.099) + 435 = 56.17
    expected = (
        5.395 * math.log(1.5)
        + 1.485 * math.log(100)
        + 3.13 * math.log(50)
        - 81.565 * math.log(135)
        + 435
    )
    assert ukeld(1.5, 100, 50, 135) == pytest.approx(expected, rel=1e-12)
    assert ukeld(1.5, 100, 50, 135) == pytest.approx(56.17, abs=0.01)
    # not rounded: the listing threshold is >= 49 on the unrounded value
    assert ukeld(1.5, 100, 50, 135) != round(ukeld(1.5, 100, 50, 135))


def test_ukeld_rises_as_sodium_falls():
    assert ukeld(1.5, 100, 50, 125) > ukeld(1.5, 100, 50, 135)


@pytest.mark.parametrize(("bilirubin", "points"), [(33.9, 1), (34, 2), (42, 2), (50, 2), (50.1, 3)])
def test_child_pugh_bilirubin_bands_include_their_end_points(bilirubin, points):
    # the other four items at 1 point each: total = 4 + bilirubin points
    assert child_pugh(bilirubin, 40, 1.0, "none", "none")[0] == 4 + points


@pytest.mark.parametrize(("albumin", "points"), [(35.1, 1), (35, 2), (30, 2), (28, 2), (27.9, 3)])
def test_child_pugh_albumin_bands_include_their_end_points(albumin, points):
    assert child_pugh(20, albumin, 1.0, "none", "none")[0] == 4 + points


@pytest.mark.parametrize(("inr", "points"), [(1.69, 1), (1.7, 2), (2.0, 2), (2.3, 2), (2.31, 3)])
def test_child_pugh_inr_bands_include_their_end_points(inr, points):
    assert child_pugh(20, 40, inr, "none", "none")[0] == 4 + points


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((20, 40, 1.0, "none", "none"), (5, "A")),
        ((34, 40, 1.0, "none", "none"), (6, "A")),
        ((34, 35, 1.0, "none", "none"), (7, "B")),
        ((34, 35, 1.7, "mild", "none"), (9, "B")),
        ((34, 35, 1.7, "mild", "grade_1_2"), (10, "C")),
        ((51, 27, 2.4, "moderate_severe", "grade_3_4"), (15, "C")),
        ((20, 40, 1.0, "Moderate_Severe", " none "), (7, "B")),
    ],
)
def test_child_pugh_classes(args, expected):
    assert child_pugh(*args) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((20, 40, 1.0, "severe", "none"), "ascites must be one of none, mild, moderate_severe"),
        ((20, 40, 1.0, "none", "grade_2"), "encephalopathy must be one of none, grade_1_2"),
        ((None, 40, 1.0, "none", "none"), "bilirubin_umol_l is missing"),
        ((20, float("nan"), 1.0, "none", "none"), "albumin_g_l is missing"),
        ((20, 0, 1.0, "none", "none"), "albumin_g_l must be > 0 and <= 80 g/L"),
        ((20, 40, -1, "none", "none"), "inr must be > 0"),
    ],
)
def test_child_pugh_input_errors(args, message):
    with pytest.raises(ValueError, match=message):
        child_pugh(*args)


def test_fib4_and_apri():
    # FIB-4: 50 years x AST 40 / (platelets 200 x sqrt(ALT 25) = 5) = 2000 / 1000 = 2.0
    assert fib4(50, 40, 25, 200) == pytest.approx(2.0)
    # APRI: (AST 80 / ULN 40 = 2) x 100 / platelets 100 = 2.0
    assert apri(80, 40, 100) == pytest.approx(2.0)
    # APRI at the ULN with 200 platelets: 1 x 100 / 200 = 0.5 (the HCV "low" cut-off)
    assert apri(40, 40, 200) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: meld(None, 1.0, 1.0), "bilirubin_mg_dl is missing"),
        (lambda: meld(float("nan"), 1.0, 1.0), "bilirubin_mg_dl is missing"),
        (lambda: meld(0, 1.0, 1.0), "bilirubin_mg_dl must be > 0 and <= 100 mg/dL"),
        (lambda: meld(1.0, 0, 1.0), "inr must be > 0 and <= 30"),
        (lambda: meld(1.0, float("inf"), 1.0), "inr must be > 0"),
        (lambda: meld(1.0, 1.0, -1), "creatinine_mg_dl must be > 0"),
        (lambda: meld(1.0, 1.0, 1.0, dialysis="no"), "dialysis must be True or False"),
        (lambda: meld_na(1.0, 1.0, 1.0, None), "sodium is missing"),
        (lambda: meld_na(5.0, 1.0, 1.0, 1.35), "sodium must be >= 80 and <= 200 mmol/L"),
        (lambda: meld_na(1.0, 1.0, 1.0, float("nan")), "sodium is missing"),
        (lambda: ukeld(0, 100, 50, 135), "inr must be > 0"),
        (lambda: ukeld(1.5, None, 50, 135), "creatinine_umol_l is missing"),
        (lambda: ukeld(1.5, 100, 0, 135), "bilirubin_umol_l must be > 0 and <= 1700 umol/L"),
        (lambda: ukeld(1.5, 100, 50, 20), "sodium must be >= 80"),
        (lambda: fib4(None, 40, 25, 200), "age is missing"),
        (lambda: fib4(50, 0, 25, 200), "ast must be > 0"),
        (lambda: fib4(50, 40, float("nan"), 200), "alt is missing"),
        (lambda: fib4(50, 40, 25, 0), "platelets must be > 0"),
        (lambda: apri(40, 0, 200), "ast_upper_limit must be > 0"),
        (lambda: apri(40, 40, -5), "platelets must be > 0"),
        (lambda: apri("40", 40, 200), "ast must be a number"),
    ],
)
def test_liver_input_errors_name_the_input_and_range(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_pandas_missing_values_are_reported_as_missing():
    pd = pytest.importorskip("pandas")
    with pytest.raises(ValueError, match="platelets is missing"):
        fib4(50, 40, 25, pd.NA)
    with pytest.raises(ValueError, match="sodium is missing"):
        meld_na(5.0, 1.0, 1.0, pd.NA)
    assert charlson(pd.Series(["I50.9", pd.NA, None], dtype="object")) == 2
    assert charlson(pd.Series(["I50.9", None], dtype="str")) == 2


def test_scores_accept_numpy_and_decimal_numbers():
    assert meld(np.float64(2.0), np.float64(1.5), 1.5) == 17
    assert meld(Decimal("2.0"), 1.5, 1.5) == 17
    assert fib4(np.int64(50), 40, 25, 200) == pytest.approx(2.0)
