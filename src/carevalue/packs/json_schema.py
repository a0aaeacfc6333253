"""Write the JSON Schema of pack.yaml, generated from the model so it cannot drift.

Run ``python -m carevalue.packs.json_schema > docs/pack-schema.json``; a test fails when
the committed file differs. Editors that understand JSON Schema (e.g. VS Code's YAML
extension, via the ``# yaml-language-server: $schema=...`` line at the top of each
pack.yaml) then complete and check packs as they are typed.
"""

from __future__ import annotations

import json

from carevalue.packs.model import ConditionPack


def pack_schema() -> dict:
    schema = ConditionPack.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "CareValue condition pack (pack.yaml)",
    }


def pack_schema_text() -> str:
    return json.dumps(pack_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(pack_schema_text(), end="")
