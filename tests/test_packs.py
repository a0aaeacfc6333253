"""Condition packs: the shipped packs are valid, and every kind of mistake is reported at
its file and line with a plain message, all at once.

Most tests start from a small valid pack (``DEMO_PACK``) written to a temporary folder,
change one thing, and assert the exact ``file:line: message`` that comes back. Lines are
found by searching the written file for the changed text, so each assertion is exact
without hard-coding line numbers that drift when the demo pack grows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pydantic
import pytest

from carevalue.conditions import shipped_conditions
from carevalue.errors import UserError
from carevalue.packs import (
    PackValidationError,
    load_pack,
    load_packs,
    normalise_code,
    validate_packs,
)
from carevalue.packs.codelists import CodeList, code_format_problem, read_codelist, verhoeff_valid
from carevalue.packs.json_schema import pack_schema_text
from carevalue.packs.measures import Outcome
from carevalue.packs.model import ConditionPack
from carevalue.packs.validate_packs import report

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("hepatitis_c", "infective_endocarditis", "stroke")

DEMO_PACK = """\
governance:
  id: demo
  name: Demo condition
  version: 1.0.0
  owner_team: Demo team
  why_it_matters: Measuring it shows whether care helps.
  authored_by: [Ann Author]
  checked_by: [Chris Checker]
  next_review: 2027-01-31
codelists:
  - id: demo_diagnosis
    file: codelists/demo_diagnosis.csv
    description: Demo diagnoses.
  - id: demo_procedure
    file: codelists/demo_procedure.csv
    description: Demo procedure.
cohort:
  inclusion:
    - codelist: demo_diagnosis
      source: diagnoses
      position: primary
  index_event:
    settings: [inpatient]
    why: An emergency admission starts the care.
  age: {min_years: 18}
  lookback_days: 365
  new_episode_after_days: 0
care_cycle:
  start: {offset_days: 0}
  end: {offset_days: 90}
  why: Ninety days covers the recovery.
stages:
  - id: acute
    name: Acute care
    description: The first days on the unit.
    match:
      - settings: [inpatient]
        departments: [Stroke Unit]
        from_day: 0
        to_day: 3
  - id: rehab
    name: Rehabilitation
    description: The rest of the stay.
    match:
      - settings: [inpatient]
        departments: [Stroke Unit]
        from_day: 4
outcomes:
  - id: death_90d
    kind: death_within
    name: Death within 90 days
    definition: Death from any cause by day 90.
    tier: 1
    direction: lower_is_better
    timepoint: 90d
    window: {from_day: 0, to_day: 90}
    source: derived
  - id: time_to_procedure
    kind: time_to_first_activity
    name: Time to the procedure
    definition: Hours from arrival to the procedure.
    tier: 2
    direction: lower_is_better
    timepoint: discharge
    source: derived
    codelist: demo_procedure
    starting_from: emergency_arrival
    unit: hours
case_mix:
  - id: age
    kind: age
    name: Age
    definition: Age at admission.
value_equations:
  - id: survival_per_cost
    name: Survival per pound
    definition: Share alive at 90 days over mean cycle cost.
    numerator:
      - {outcome: death_90d, weight: 1.0}
    cost: {scope: whole_cycle}
"""
DEMO_DIAGNOSIS_CSV = """\
code,term,system,release
I63.9,"Cerebral infarction, unspecified",ICD10,ICD-10 5th Edition
I61.9,"Intracerebral haemorrhage, unspecified",ICD10,ICD-10 5th Edition
"""
DEMO_PROCEDURE_CSV = """\
code,term,system,release
X83.3,Thrombolytic drugs,OPCS4,OPCS-4.10
"""


def write_pack(
    folder: Path,
    pack: str = DEMO_PACK,
    diagnosis_csv: str = DEMO_DIAGNOSIS_CSV,
    procedure_csv: str = DEMO_PROCEDURE_CSV,
) -> Path:
    (folder / "codelists").mkdir(parents=True, exist_ok=True)
    (folder / "pack.yaml").write_text(pack)
    (folder / "codelists" / "demo_diagnosis.csv").write_text(diagnosis_csv)
    (folder / "codelists" / "demo_procedure.csv").write_text(procedure_csv)
    return folder / "pack.yaml"


def changed(old: str, new: str, text: str = DEMO_PACK) -> str:
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    """1-based line of the nth line of ``path`` containing ``needle``."""
    hits = [n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    return hits[occurrence - 1]


def messages(path: Path) -> list[str]:
    return [str(error) for error in validate_packs(path)]


@pytest.fixture
def conditions(tmp_path: Path) -> Path:
    return tmp_path / "conditions"


# --------------------------------------------------------------------- shipped packs


def test_the_shipped_packs_validate_with_no_errors():
    assert validate_packs(shipped_conditions()) == []
    packs = load_packs(shipped_conditions())
    assert [p.id for p in packs] == list(SHIPPED)


def test_the_shipped_packs_carry_their_review_record_and_clinical_reasons():
    for pack in load_packs(shipped_conditions()):
        governance = pack.governance
        assert governance.authored_by and governance.checked_by and governance.next_review
        assert len(governance.why_it_matters) > 200, pack.id
        assert pack.cohort.index_event.why and pack.care_cycle.why
        assert {o.tier for o in pack.outcomes} >= {1, 2, 3}, (
            f"{pack.id} covers Porter's three tiers"
        )
        for codelist_id in (c.id for c in pack.codelists):
            assert all(code.term and code.release for code in pack.codelist(codelist_id).codes)


def test_validate_command_reports_the_shipped_packs_valid():
    text, status = report(shipped_conditions())
    assert status == 0
    assert text == "3 condition packs valid: hepatitis_c, infective_endocarditis, stroke."


def test_the_committed_json_schema_is_the_generated_one():
    committed = (ROOT / "docs" / "pack-schema.json").read_text()
    assert committed == pack_schema_text(), (
        "docs/pack-schema.json is stale: run "
        "python -m carevalue.packs.json_schema > docs/pack-schema.json"
    )
    schema = json.loads(committed)
    assert schema["$schema"].endswith("2020-12/schema")
    assert set(schema["required"]) == {
        "governance",
        "codelists",
        "cohort",
        "care_cycle",
        "stages",
        "outcomes",
        "value_equations",
    }


# --------------------------------------------------------------------- the demo pack


def test_the_demo_pack_is_valid_and_loads_frozen(conditions):
    pack_file = write_pack(conditions / "demo")
    assert messages(conditions) == []
    pack = load_pack(conditions / "demo")
    assert pack.id == "demo"
    assert pack.codelist("demo_diagnosis").matches("ICD10", "I639")
    with pytest.raises(pydantic.ValidationError):
        pack.governance.name = "Changed"  # frozen
    assert load_pack(pack_file).id == "demo"


# --------------------------------------------------------------------- one test per error class


def test_unknown_field_names_its_line_and_the_allowed_fields(conditions):
    pack_file = write_pack(
        conditions / "demo",
        changed("  owner_team: Demo team\n", "  owner_team: Demo team\n  colour: blue\n"),
    )
    assert messages(conditions) == [
        f"{pack_file}:{line_of(pack_file, 'colour')}: governance: unknown field 'colour'; "
        "the allowed "
        "fields are: id, name, version, owner_team, why_it_matters, authored_by, checked_by, "
        "next_review, references"
    ]


def test_misspelt_field_suggests_the_right_one(conditions):
    pack_file = write_pack(
        conditions / "demo", changed("        from_day: 4\n", "        from_dy: 4\n")
    )
    assert messages(conditions) == [
        f"{pack_file}:{line_of(pack_file, 'from_dy')}: stage 'rehab', match #1: unknown field "
        "'from_dy' (did you mean 'from_day'?); the allowed fields are: activity_types, "
        "departments, specialties, settings, codelist, from_day, to_day"
    ]


def test_missing_governance_field_points_at_the_governance_block(conditions):
    pack_file = write_pack(conditions / "demo", changed("  checked_by: [Chris Checker]\n", ""))
    assert messages(conditions) == [
        f"{pack_file}:1: governance: missing required field 'checked_by' (who checked the "
        "pack: at least one person, none of them an author)"
    ]


def test_a_pack_checked_only_by_its_author_is_rejected(conditions):
    pack_file = write_pack(
        conditions / "demo", changed("checked_by: [Chris Checker]", "checked_by: [Ann Author]")
    )
    assert messages(conditions) == [
        f"{pack_file}:1: governance: Ann Author both wrote and checked the pack: it must be "
        "checked by someone who did not write it"
    ]


def test_bad_code_format_names_the_code_list_line(conditions):
    write_pack(conditions / "demo", diagnosis_csv=DEMO_DIAGNOSIS_CSV.replace("I61.9,", "I6.19,"))
    csv_file = conditions / "demo" / "codelists" / "demo_diagnosis.csv"
    assert messages(conditions) == [
        f"{csv_file}:3: 'I6.19' is not a valid ICD10 code: ICD-10 codes are a letter, two "
        "digits and optionally a dot and one or two more characters, like I63, I63.9 or I639"
    ]


def test_snomed_codes_are_checked_with_their_verhoeff_check_digit(conditions):
    csv = DEMO_DIAGNOSIS_CSV + "230690008,Cerebrovascular accident,SNOMED,SNOMED CT UK Edition\n"
    write_pack(conditions / "demo", diagnosis_csv=csv)
    csv_file = conditions / "demo" / "codelists" / "demo_diagnosis.csv"
    assert messages(conditions) == [
        f"{csv_file}:4: '230690008' is not a valid SNOMED identifier: its check digit is "
        "wrong (typo?)"
    ]


def test_unknown_measure_kind_lists_the_kinds(conditions):
    pack_file = write_pack(
        conditions / "demo", changed("kind: death_within", "kind: death_whenever")
    )
    kinds = ", ".join(
        cls.model_fields["kind"].annotation.__args__[0] for cls in Outcome.__origin__.__args__
    )
    assert messages(conditions) == [
        f"{pack_file}:{line_of(pack_file, 'death_whenever')}: outcome 'death_90d': unknown "
        f"outcome kind 'death_whenever'; the outcome kinds are: {kinds}"
    ]
    assert kinds.startswith("death_within, death_in_hospital, readmission_within")


def test_unknown_case_mix_kind_and_unknown_score(conditions):
    pack = changed("    kind: age\n", "    kind: height\n")
    pack_file = write_pack(conditions / "demo", pack)
    assert messages(conditions) == [
        f"{pack_file}:{line_of(pack_file, 'kind: height')}: case-mix variable 'age': unknown "
        "case-mix variable kind 'height'; the case-mix variable kinds are: age, sex, "
        "observation, score, codelist_present, codelist_category"
    ]
    pack = changed(
        "    kind: age\n",
        "    kind: score\n    score: meld\n    window: {from_day: 0, to_day: 0}\n",
    )
    pack_file = write_pack(conditions / "demo", pack)
    assert messages(conditions) == [
        f"{pack_file}:{line_of(pack_file, 'score: meld')}: case-mix variable 'age': unknown "
        "score 'meld'; the scores are: charlson, fib4, apri"
    ]


def test_kind_specific_parameters_are_checked(conditions):
    pack_file = write_pack(
        conditions / "demo", changed("    unit: hours\n", "    unit: fortnights\n")
    )
    assert messages(conditions) == [
        f"{pack_file}:{line_of(pack_file, 'fortnights')}: outcome 'time_to_procedure', unit: "
        "'fortnights' is not allowed; use one of: 'minutes', 'hours' or 'days'"
    ]
    pack_file = write_pack(
        conditions / "demo", changed("    window: {from_day: 0, to_day: 90}\n", "")
    )
    assert messages(conditions) == [
        f"{pack_file}:{line_of(pack_file, 'id: death_90d')}: outcome 'death_90d': missing "
        "required field 'window' (days (from the index event) in which the event counts)"
    ]


def test_overlapping_stages_are_reported_with_what_both_would_match(conditions):
    pack_file = write_pack(
        conditions / "demo", changed("        from_day: 4\n", "        from_day: 2\n")
    )
    rule_line = line_of(pack_file, "- settings: [inpatient]", occurrence=2)
    assert messages(conditions) == [
        f"{pack_file}:{rule_line}: stage 'rehab' overlaps stage 'acute': both match any "
        "activity, department 'Stroke Unit', any specialty, setting inpatient, on days 2 to 3; "
        "make them differ in activity type, department, specialty, setting, code list or days"
    ]


def test_stages_kept_apart_by_code_lists_do_not_overlap_unless_the_lists_share_codes(conditions):
    rules = (
        "      - settings: [inpatient]\n        departments: [Stroke Unit]\n        from_day: 4\n"
    )
    pack = changed(rules, rules.replace("from_day: 4", "codelist: demo_procedure"))
    pack = changed("        to_day: 3\n", "        to_day: 3\n        codelist: demo_other\n", pack)
    pack = changed(
        "codelists:\n",
        "codelists:\n  - id: demo_other\n    file: codelists/demo_other.csv\n"
        "    description: Other.\n    match: prefix\n",
        pack,
    )
    write_pack(conditions / "demo", pack)
    other_csv = conditions / "demo" / "codelists" / "demo_other.csv"
    other_csv.write_text("code,term,system,release\nX84,Other drugs,OPCS4,OPCS-4.10\n")
    assert messages(conditions) == []
    other_csv.write_text(
        "code,term,system,release\nX83,Drugs,OPCS4,OPCS-4.10\n"
    )  # X83 covers X83.3
    [overlap] = messages(conditions)
    assert "stage 'rehab' overlaps stage 'acute'" in overlap
    assert "with a code in both 'demo_other' and 'demo_procedure', on days 0 to 3" in overlap


def test_inverted_stage_window(conditions):
    pack_file = write_pack(
        conditions / "demo",
        changed(
            "        from_day: 0\n        to_day: 3\n", "        from_day: 5\n        to_day: 3\n"
        ),
    )
    assert messages(conditions) == [
        f"{pack_file}:{line_of(pack_file, '- settings: [inpatient]')}: stage 'acute', match #1: "
        "the day window is inverted: from_day 5 is after to_day 3"
    ]


def test_inverted_outcome_window(conditions):
    pack_file = write_pack(
        conditions / "demo", changed("{from_day: 0, to_day: 90}", "{from_day: 90, to_day: 0}")
    )
    assert messages(conditions) == [
        f"{pack_file}:{line_of(pack_file, 'window: {from_day: 90')}: outcome 'death_90d', window: "
        "the window is inverted: from_day 90 is after to_day 0"
    ]


def test_stage_window_outside_the_care_cycle(conditions):
    pack_file = write_pack(
        conditions / "demo",
        changed("        from_day: 4\n", "        from_day: 4\n        to_day: 120\n"),
    )
    assert messages(conditions) == [
        f"{pack_file}:{line_of(pack_file, 'to_day: 120')}: stage 'rehab' runs to day 120, after "
        "the care cycle's last day (90)"
    ]


def test_bad_yaml_syntax_is_reported_at_its_line_and_other_packs_are_still_checked(conditions):
    broken = write_pack(
        conditions / "broken", changed("  name: Demo condition", "  name: Demo: condition")
    )
    write_pack(conditions / "demo")
    assert messages(conditions) == [
        f"{broken}:3: this is not valid YAML: mapping values are not allowed here; check the "
        "indentation, and put quotes around text that contains ': ' or starts with a special "
        "character"
    ]


def test_yes_and_no_stay_text_and_a_bad_date_is_reported_at_its_line(conditions):
    pack = changed(
        "  - id: age\n",
        "  - id: smoker\n    kind: observation\n    name: Smoker\n    definition: Smokes.\n"
        "    observation: SMOKER\n"
        "    value: text\n    reading: first\n    window: {from_day: 0, to_day: no}\n"
        "  - id: age\n",
    )
    pack_file = write_pack(
        conditions / "demo", changed("next_review: 2027-01-31", "next_review: 2027-13-01", pack)
    )
    assert messages(conditions) == [
        f"{pack_file}:{line_of(pack_file, 'next_review')}: governance, next_review: '2027-13-01' "
        "is not a date: write it as YYYY-MM-DD",
        f"{pack_file}:{line_of(pack_file, 'to_day: no')}: case-mix variable 'smoker', window, "
        "to_day: should be a whole number, not 'no'",
    ]


def test_a_key_given_twice_is_an_error_not_a_silent_overwrite(conditions):
    pack_file = write_pack(
        conditions / "demo",
        changed("  lookback_days: 365\n", "  lookback_days: 365\n  lookback_days: 30\n"),
    )
    assert messages(conditions) == [
        f"{pack_file}:{line_of(pack_file, 'lookback_days: 30')}: 'lookback_days' is given twice in "
        f"the same block (first on line {line_of(pack_file, 'lookback_days: 365')}); YAML would "
        "silently keep only the last"
    ]


def test_missing_code_list_file(conditions):
    pack_file = write_pack(
        conditions / "demo",
        changed("file: codelists/demo_procedure.csv", "file: codelists/procedures.csv"),
    )
    assert messages(conditions) == [
        f"{pack_file}:{line_of(pack_file, 'procedures.csv')}: code list 'demo_procedure' names "
        "the file 'codelists/procedures.csv', which does not exist"
    ]


def test_unknown_code_list_reference(conditions):
    pack_file = write_pack(
        conditions / "demo",
        changed("    codelist: demo_procedure\n", "    codelist: demo_procedures\n"),
    )
    assert messages(conditions) == [
        f"{pack_file}:{line_of(pack_file, 'id: demo_procedure')}: code list 'demo_procedure' is "
        "declared but nothing in the pack uses it",
        f"{pack_file}:{line_of(pack_file, 'codelist: demo_procedures')}: unknown code list "
        "'demo_procedures'; the pack's code lists are: demo_diagnosis, demo_procedure",
    ]


def test_code_list_used_where_its_codes_cannot_occur(conditions):
    pack_file = write_pack(
        conditions / "demo",
        changed("    - codelist: demo_diagnosis\n", "    - codelist: demo_procedure\n"),
    )
    assert (
        f"{pack_file}:{line_of(pack_file, '- codelist: demo_procedure')}: code list "
        "'demo_procedure' holds OPCS4 codes but is used on diagnoses, which are coded in "
        "ICD10 or SNOMED" in messages(conditions)
    )


def test_duplicate_ids(conditions):
    pack_file = write_pack(conditions / "demo", changed("  - id: rehab\n", "  - id: acute\n"))
    assert messages(conditions) == [
        f"{pack_file}:{line_of(pack_file, 'id: acute', occurrence=2)}: stage id 'acute' is used "
        f"twice; ids must be unique (first on line {line_of(pack_file, 'id: acute')})"
    ]


def test_unknown_outcome_in_a_value_equation(conditions):
    pack_file = write_pack(
        conditions / "demo",
        changed("{outcome: death_90d, weight: 1.0}", "{outcome: survival_90d, weight: 1.0}"),
    )
    assert messages(conditions) == [
        f"{pack_file}:{line_of(pack_file, 'survival_90d')}: unknown outcome 'survival_90d'; the "
        "pack's outcomes are: death_90d, time_to_procedure"
    ]


def test_governance_id_must_be_the_folder_name(conditions):
    pack_file = write_pack(conditions / "stroke")
    assert messages(conditions) == [
        f"{pack_file}:2: governance id 'demo' must be the pack's folder name 'stroke'"
    ]


def test_unknown_and_missing_sections(conditions):
    pack_file = write_pack(conditions / "demo", changed("case_mix:", "casemix:"))
    assert messages(conditions) == [
        f"{pack_file}:{line_of(pack_file, 'casemix:')}: unknown section 'casemix' (did you mean "
        "'case_mix'?); the sections are: governance, codelists, cohort, care_cycle, stages, "
        "outcomes, case_mix, value_equations, reporting, flow"
    ]
    stages = DEMO_PACK[DEMO_PACK.index("stages:") : DEMO_PACK.index("outcomes:")]
    pack_file = write_pack(conditions / "demo", changed(stages, ""))
    assert messages(conditions) == [
        f"{pack_file}:1: the pack has no 'stages' section (pathway stages, in pathway order)"
    ]


def test_a_folder_without_pack_yaml_is_reported(conditions):
    write_pack(conditions / "demo")
    (conditions / "notes").mkdir()
    assert messages(conditions) == [
        f"{conditions / 'notes'}: this folder has no pack.yaml: each folder here is a "
        "condition pack"
    ]


# --------------------------------------------------------------------- all at once


def test_every_error_in_every_pack_is_reported_at_once(conditions):
    first = changed("  checked_by: [Chris Checker]\n", "")
    first = changed("kind: death_within", "kind: death_whenever", first)
    first = changed("        from_day: 4\n", "        from_day: 2\n", first)
    first_file = write_pack(
        conditions / "demo", first, diagnosis_csv=DEMO_DIAGNOSIS_CSV.replace("I61.9,", "I6.19,")
    )
    second = changed("id: demo\n", "id: second\n")
    second = changed("file: codelists/demo_procedure.csv", "file: codelists/missing.csv", second)
    second = changed("    - codelist: demo_diagnosis\n", "    - codelist: demo_diagnoses\n", second)
    second = changed(
        "  owner_team: Demo team\n", "  owner_team: Demo team\n  colour: blue\n", second
    )
    second_file = write_pack(conditions / "second", second)
    found = messages(conditions)
    expected_places = [
        (
            first_file.parent / "codelists" / "demo_diagnosis.csv",
            3,
            "'I6.19' is not a valid ICD10 code",
        ),
        (first_file, 1, "governance: missing required field 'checked_by'"),
        (
            first_file,
            line_of(first_file, "- settings: [inpatient]", 2),
            "stage 'rehab' overlaps stage 'acute'",
        ),
        (
            first_file,
            line_of(first_file, "death_whenever"),
            "unknown outcome kind 'death_whenever'",
        ),
        (second_file, line_of(second_file, "colour"), "governance: unknown field 'colour'"),
        (
            second_file,
            line_of(second_file, "id: demo_diagnosis"),
            "code list 'demo_diagnosis' is declared but",
        ),
        (
            second_file,
            line_of(second_file, "missing.csv"),
            "code list 'demo_procedure' names the file",
        ),
        (
            second_file,
            line_of(second_file, "codelist: demo_diagnoses"),
            "unknown code list 'demo_diagnoses'",
        ),
    ]
    assert len(found) == len(expected_places), "\n".join(found)
    for message, (file, line, text) in zip(found, expected_places, strict=True):
        assert message.startswith(f"{file}:{line}: "), message
        assert text in message, message


def test_load_pack_raises_a_user_error_listing_every_problem(conditions):
    write_pack(
        conditions / "demo",
        changed("  checked_by: [Chris Checker]\n", "", changed("kind: death_within", "kind: nope")),
    )
    with pytest.raises(PackValidationError) as raised:
        load_pack(conditions / "demo")
    assert isinstance(raised.value, UserError)
    assert len(raised.value.errors) == 2
    assert str(raised.value).startswith("2 problems in the condition packs:\n  ")
    text, status = report(conditions)
    assert status == 1 and text.endswith("2 problems in 1 condition pack.")


# --------------------------------------------------------------------- the model in Python


def test_a_pack_built_in_python_is_checked_as_strictly(conditions):
    write_pack(conditions / "demo")
    pack = load_pack(conditions / "demo")
    data = pack.model_dump(mode="json")
    assert ConditionPack.model_validate(data).model_dump() == pack.model_dump()
    data["value_equations"][0]["numerator"][0]["outcome"] = "nowhere"
    with pytest.raises(pydantic.ValidationError, match="unknown outcome 'nowhere'"):
        ConditionPack.model_validate(data)


# --------------------------------------------------------------------- code lists


def test_codes_match_with_or_without_dots_in_any_case():
    assert normalise_code("ICD10", " i63.9 ") == "I639"
    assert normalise_code("ICD10", "I64X") == "I64"  # HES writes 3-character codes with an X filler
    assert normalise_code("OPCS4", "x83.3") == "X833"
    assert normalise_code("LOCAL", "benzylpenicillin-2.4g-iv") == "BENZYLPENICILLIN-2.4G-IV"
    assert normalise_code("SNOMED", " 230690007 ") == "230690007"


def test_exact_and_prefix_code_lists(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("code,term,system,release\nI48,Atrial fibrillation and flutter,ICD10,5th\n")
    prefix, errors = read_codelist(path, "af", "prefix", "list.csv")
    assert errors == []
    assert (
        prefix.matches("ICD10", "I48.9")
        and prefix.matches("ICD10", "I489")
        and not prefix.matches("ICD10", "I50.9")
    )
    exact = CodeList("af", "exact", prefix.codes)
    assert exact.matches("ICD10", "I48") and not exact.matches("ICD10", "I48.9")
    assert not prefix.matches("SNOMED", "I48")


def test_code_list_file_problems_are_each_reported_at_their_line(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(
        "code,term,system,release\n"
        "I63.9,Cerebral infarction,ICD10,5th\n"
        "I639,Cerebral infarction again,ICD10,5th\n"
        "X83.3,,OPCS4,4.10\n"
        "K26.4,Replacement of aortic valve NEC,OPCS5,4.10\n"
        "230690007,Cerebrovascular accident,SNOMED,\n"
        "\n"
        "354848017,A description id,SNOMED,UK\n"
    )
    _, errors = read_codelist(path, "mixed", "exact", "list.csv")
    assert [str(e) for e in errors] == [
        "list.csv:3: ICD10 code 'I639' is already listed on line 2",
        "list.csv:4: code 'X83.3' has no term: label every code with its term",
        "list.csv:5: system 'OPCS5' is not one of ICD10, SNOMED, OPCS4, DMD, LOINC, NICIP, LOCAL",
        "list.csv:6: code '230690007' has no release: say which edition of SNOMED it comes from",
        "list.csv:8: '354848017' is a SNOMED description or relationship id, not a "
        "concept id: code lists hold concept ids",
    ]
    path.write_text("code,description\nI63.9,x\n")
    assert [str(e) for e in read_codelist(path, "x", "exact", "list.csv")[1]] == [
        "list.csv:1: the columns must be code,term,system,release in that order; "
        "found code,description"
    ]


def test_prefix_matching_is_only_for_hierarchical_code_systems(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("code,term,system,release\n230690007,Cerebrovascular accident,SNOMED,UK\n")
    assert [str(e) for e in read_codelist(path, "x", "prefix", "list.csv")[1]] == [
        "list.csv:2: SNOMED code '230690007' cannot be matched by prefix: only ICD10 and "
        "OPCS4 lists can"
    ]


@pytest.mark.parametrize(
    "system, code",
    [
        ("ICD10", "I63"),
        ("ICD10", "I63.9"),
        ("ICD10", "I639"),
        ("ICD10", "I64X"),
        ("OPCS4", "X83.3"),
        ("OPCS4", "K264"),
        ("SNOMED", "230690007"),
        ("LOINC", "718-7"),
        ("NICIP", "CHEAD"),
        ("LOCAL", "BENZYLPENICILLIN-2.4G-IV"),
    ],
)
def test_well_formed_codes(system, code):
    assert code_format_problem(system, code) is None


@pytest.mark.parametrize(
    "system, code",
    [
        ("ICD10", "I6"),
        ("ICD10", "63.9"),
        ("ICD10", "I63."),
        ("ICD10", "I63.999"),
        ("OPCS4", "X83.33"),
        ("SNOMED", "0230690007"),
        ("SNOMED", "23069"),
        ("LOINC", "7187"),
        ("LOCAL", " padded"),
    ],
)
def test_malformed_codes(system, code):
    assert code_format_problem(system, code) is not None


def test_verhoeff_check_digit():
    # Real SNOMED CT concept ids the synthetic trust records, and one digit changed.
    for sctid in ("230690007", "386661006", "29857009", "4525004", "1912002"):
        assert verhoeff_valid(sctid)
    assert not verhoeff_valid("230690017")


# --------------------------------------------------------------------- packs x synthetic trust


def test_the_shipped_packs_find_the_synthetic_trust_patients():
    """The packs use the codes, departments, observations and instruments the synthetic
    trust writes, and leave out its near misses (TIA, aortic stenosis, hepatitis B)."""
    from carevalue.synthetic import catalogue, codes

    packs = {p.id: p for p in load_packs(shipped_conditions())}

    def included(pack, system, code):
        return any(pack.codelist(q.codelist).matches(system, code) for q in pack.cohort.inclusion)

    for code, (system, _) in codes.DIAGNOSES.items():
        for pack_id, prefixes in (
            ("stroke", ("I61", "I63")),
            ("infective_endocarditis", ("I33", "I38", "I39")),
            ("hepatitis_c", ("B18.2",)),
        ):
            if code.startswith(prefixes):
                assert included(packs[pack_id], system, code), (pack_id, code)
                assert included(packs[pack_id], system, code.replace(".", "")), (pack_id, code)
    for pack_id, near_miss in (
        ("stroke", "G45.9"),
        ("infective_endocarditis", "I35.0"),
        ("hepatitis_c", "B18.1"),
    ):
        assert not included(packs[pack_id], "ICD10", near_miss)

    departments = {item.department.casefold() for item in catalogue.CATALOGUE}
    specialties = {s.casefold() for s in codes.SPECIALTIES}
    activity_codes = {(item.code_system, item.code) for item in catalogue.CATALOGUE}
    for pack in packs.values():
        for stage in pack.stages:
            for rule in stage.match:
                assert {d.casefold() for d in rule.departments or ()} <= departments, stage.id
                assert {s.casefold() for s in rule.specialties or ()} <= specialties, stage.id
        observed = _observation_codes(pack)
        assert observed <= set(codes.OBSERVATIONS), observed - set(codes.OBSERVATIONS)
        instruments = {o.instrument for o in pack.outcomes if o.kind == "prom_score"}
        assert instruments <= set(codes.PROM_INSTRUMENTS)
        for declaration in pack.codelists:
            listed = pack.codelist(declaration.id).codes
            if {c.system for c in listed} <= {"LOCAL", "OPCS4"} and declaration.match == "exact":
                # Activity lists: at least one code the synthetic trust records.
                assert any((c.system, c.code) in activity_codes for c in listed), declaration.id


def _observation_codes(pack) -> set[str]:
    found = set()
    for measure in (*pack.outcomes, *pack.case_mix):
        for name in ("observation", "ast", "alt", "platelets"):
            value = getattr(measure, name, None)
            if isinstance(value, str):
                found.add(value)
        evidence = getattr(measure, "evidence", None)
        if evidence is not None and evidence.observation:
            found.add(evidence.observation)
    return found


# --------------------------------------------------------------------- docs


def test_every_pack_field_and_kind_is_documented():
    doc = (ROOT / "docs" / "condition-packs.md").read_text()
    schema = json.loads(pack_schema_text())
    names = set(schema["properties"])
    kinds = set()
    for definition in schema["$defs"].values():
        for name, prop in definition.get("properties", {}).items():
            names.add(name)
            if name in ("kind", "score") and "const" in prop:
                kinds.add(prop["const"])
    undocumented = sorted(n for n in names | kinds if not re.search(rf"`{re.escape(n)}`", doc))
    assert undocumented == [], f"docs/condition-packs.md does not mention: {undocumented}"
    assert "carevalue validate" in doc
