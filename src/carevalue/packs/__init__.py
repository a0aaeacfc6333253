"""Condition packs: the versioned, reviewable definition of each condition (cohort, index
event, care cycle, stages, outcomes, case mix, value equations) and their validation.

See docs/condition-packs.md. The public surface:

- ``load_pack(path) -> ConditionPack`` and ``load_packs(path) -> list[ConditionPack]``
  (raise ``PackValidationError`` listing every problem);
- ``validate_packs(path) -> list[PackError]`` (every problem in every pack, file:line);
- ``ConditionPack`` and its parts in ``carevalue.packs.model`` / ``.measures``;
- ``CodeList`` and ``normalise_code`` in ``carevalue.packs.codelists``.
"""

from carevalue.foundation.file_errors import PackError, PackValidationError
from carevalue.packs.codelists import CodeList, normalise_code
from carevalue.packs.model import ConditionPack
from carevalue.packs.validate_packs import load_pack, load_packs, validate_packs

__all__ = [
    "CodeList",
    "ConditionPack",
    "PackError",
    "PackValidationError",
    "load_pack",
    "load_packs",
    "normalise_code",
    "validate_packs",
]
