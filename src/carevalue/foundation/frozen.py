"""The frozen pydantic base of every declared file model (condition packs, costing rules,
TDABC models): immutable once loaded, and an unknown field is an error rather than a
silently ignored setting."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Base of every declared model: immutable, and unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)
