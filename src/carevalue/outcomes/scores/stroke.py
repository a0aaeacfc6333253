"""Stroke scales: the utility-weighted modified Rankin Scale, the NIH Stroke Scale total and
its bands, and the mRS from the simplified mRS questionnaire (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from carevalue.outcomes.scores.checks import flag, integer, is_missing

_UW_MRS = (1.0, 0.91, 0.76, 0.65, 0.33, 0.0, 0.0)


def uw_mrs(mrs: int) -> float:
    """Utility-weighted modified Rankin Scale: 1.0, 0.91, 0.76, 0.65, 0.33, 0, 0 for mRS 0-6.

    Chaisinanunkul N, Adeoye O, Lewis RJ, et al. Adopting a patient-centered approach to
    primary outcome analysis of acute stroke trials using a utility-weighted modified Rankin
    Scale. Stroke 2015;46:2238-43.
    """
    return _UW_MRS[integer("mrs", mrs, 0, 6)]


# Item -> highest score (Brott T et al. Stroke 1989;20:864-70; NIH Stroke Scale form).
NIHSS_ITEMS: Mapping[str, int] = MappingProxyType({
    "1a": 3, "1b": 2, "1c": 2, "2": 2, "3": 3, "4": 3,
    "5a": 4, "5b": 4, "6a": 4, "6b": 4, "7": 2, "8": 2, "9": 3, "10": 2, "11": 2,
})  # fmt: skip
# The NIHSS form allows "UN" (untestable: amputation or joint fusion for the limb items and
# ataxia, intubation or another physical barrier for dysarthria) on these items only.
NIHSS_UNTESTABLE_ITEMS = frozenset({"5a", "5b", "6a", "6b", "7", "10"})


def nihss_total(items: Mapping[str, int | str]) -> int:
    """NIH Stroke Scale total (0-42) from its 15 item scores.

    ``items`` maps each item ("1a", "1b", "1c", "2", "3", "4", "5a", "5b", "6a", "6b", "7",
    "8", "9", "10", "11") to its score. "UN" (untestable) is accepted on 5a, 5b, 6a, 6b, 7
    and 10, as the form allows, and counts 0 towards the total — the form's instruction is to
    record UN and explain it, not to score it. Brott T, Adams HP Jr, Olinger CP, et al.
    Measurements of acute cerebral infarction: a clinical examination scale.
    Stroke 1989;20:864-70.
    """
    if not isinstance(items, Mapping):
        raise ValueError(f"items must be a dict of NIHSS item -> score; got {items!r}")
    given = {str(key).strip().lower(): value for key, value in items.items()}
    unknown = sorted(set(given) - set(NIHSS_ITEMS))
    if unknown:
        raise ValueError(
            f"items has unknown NIHSS item(s) {', '.join(unknown)}; "
            f"the items are {', '.join(NIHSS_ITEMS)}"
        )
    total = 0
    for item, top in NIHSS_ITEMS.items():
        if item not in given:
            raise ValueError(f"NIHSS item {item} is missing (score 0-{top} required)")
        value = given[item]
        if isinstance(value, str) and value.strip().upper() == "UN":
            if item not in NIHSS_UNTESTABLE_ITEMS:
                raise ValueError(
                    f"NIHSS item {item} cannot be UN (untestable); score it 0-{top}. "
                    f"UN is allowed on items {', '.join(sorted(NIHSS_UNTESTABLE_ITEMS))}"
                )
            continue
        total += integer(f"NIHSS item {item}", value, 0, top)
    return total


def nihss_band(total: int) -> str:
    """Severity band of an NIHSS total: "none" (0), "minor" (1-4), "moderate" (5-15),
    "moderate_to_severe" (16-20), "severe" (21-42)."""
    score = integer("total", total, 0, 42)
    if score == 0:
        return "none"
    if score <= 4:
        return "minor"
    if score <= 15:
        return "moderate"
    if score <= 20:
        return "moderate_to_severe"
    return "severe"


# The simplified modified Rankin Scale questionnaire as yes/no decisions, in the order they
# are asked (Bruno A et al. Stroke 2010;41:1048-50; revised Stroke 2011;42:2276-9). The
# key is the question; each answer either ends the questionnaire with a score or leads to the
# next question. Question texts are paraphrased.
SMRSQ_QUESTIONS: Mapping[str, str] = MappingProxyType(
    {
        "dead": "Has the patient died? (optional; leave out for a living patient)",
        "lives_alone_without_help": (
            "Could the patient live alone without any help from another person "
            "(bathing, toilet, meals, shopping, finances)?"
        ),
        "walks_without_help": (
            "Can the patient walk without help from another person (walking aids allowed)?"
        ),
        "bedridden_constant_care": "Is the patient bedridden, needing constant care day and night?",
        "does_all_usual_activities": (
            "Can the patient do everything they did before the stroke (work, hobbies, social "
            "life), even if slower?"
        ),
        "any_symptoms": "Does the patient have any symptoms or problems left from the stroke?",
    }
)


def _answer(answers: Mapping[str, object], question: str) -> bool:
    if question not in answers or is_missing(answers[question]):
        raise ValueError(
            f"answers is missing {question!r} ({SMRSQ_QUESTIONS[question]}), "
            f"which the answers so far make necessary; answer True or False"
        )
    value = answers[question]
    if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
        return value.strip().lower() == "yes"
    return flag(f"answers[{question!r}]", value)


def mrs_from_smrsq(answers: Mapping[str, bool | str]) -> int:
    """Modified Rankin Scale score (0-6) from the simplified mRS questionnaire (smRSq).

    ``answers`` maps question keys (``SMRSQ_QUESTIONS``) to True/False (or "yes"/"no").
    Only the questions on the path taken are needed; the others may be left out::

        dead? yes -> 6 (leave out "dead" for a living patient)
        lives_alone_without_help?
          no  -> walks_without_help?  yes -> 3
                                      no  -> bedridden_constant_care?  yes -> 5, no -> 4
          yes -> does_all_usual_activities?  no -> 2
                                             yes -> any_symptoms?  yes -> 1, no -> 0

    Bruno A, Shah N, Lin C, et al. Improving modified Rankin Scale assessment with a
    simplified questionnaire. Stroke 2010;41:1048-50. Bruno A, Akinwuntan AE, Lin C, et al.
    Simplified modified Rankin Scale questionnaire: reproducibility over the telephone and
    validation with quality of life. Stroke 2011;42:2276-9.
    """
    if not isinstance(answers, Mapping):
        raise ValueError(f"answers must be a dict of smRSq question -> True/False; got {answers!r}")
    unknown = sorted(set(answers) - set(SMRSQ_QUESTIONS))
    if unknown:
        raise ValueError(
            f"answers has unknown smRSq question(s) {', '.join(map(repr, unknown))}; "
            f"the questions are {', '.join(SMRSQ_QUESTIONS)}"
        )
    if "dead" in answers and _answer(answers, "dead"):
        return 6
    if not _answer(answers, "lives_alone_without_help"):
        if _answer(answers, "walks_without_help"):
            return 3
        return 5 if _answer(answers, "bedridden_constant_care") else 4
    if not _answer(answers, "does_all_usual_activities"):
        return 2
    return 1 if _answer(answers, "any_symptoms") else 0
