"""Settings, read from the environment (and flags) at the edge of the program.

Only two things are configurable so far: where the warehouse is, and the secret key
used to pseudonymise NHS numbers. The key never lives in a file that is committed:
give it in ``CAREVALUE_PSEUDONYMISATION_KEY`` or in a file named by
``CAREVALUE_PSEUDONYMISATION_KEY_FILE``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from carevalue.errors import UserError

DEFAULT_WAREHOUSE = "var/warehouse.duckdb"
WAREHOUSE_ENV = "CAREVALUE_WAREHOUSE"
KEY_ENV = "CAREVALUE_PSEUDONYMISATION_KEY"
KEY_FILE_ENV = "CAREVALUE_PSEUDONYMISATION_KEY_FILE"
MINIMUM_KEY_LENGTH = 32

# Public on purpose: hashes made with it can be reversed by anyone holding a list of
# NHS numbers, so it is only ever used for the synthetic demo trust.
DEMO_KEY = "carevalue-demo-key--synthetic-data-only--never-real-patients"


@dataclass(frozen=True)
class Settings:
    warehouse: str
    pseudonymisation_key: bytes
    demo: bool


def warehouse_url(cli_value: str | None = None) -> str:
    return cli_value or os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE


def pseudonymisation_key(*, demo: bool) -> bytes:
    """The secret for keyed hashing; the public demo key only in demo mode."""
    if demo:
        return DEMO_KEY.encode()
    key = os.environ.get(KEY_ENV)
    key_file = os.environ.get(KEY_FILE_ENV)
    if not key and key_file:
        path = Path(key_file)
        if not path.is_file():
            raise UserError(
                f"{KEY_FILE_ENV} names {path}, which does not exist; "
                "point it at the file that holds the pseudonymisation key."
            )
        key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise UserError(
            f"No pseudonymisation key: set {KEY_ENV} (or {KEY_FILE_ENV}) to a secret of at "
            f"least {MINIMUM_KEY_LENGTH} characters, or pass --demo for synthetic data only."
        )
    if len(key) < MINIMUM_KEY_LENGTH:
        raise UserError(
            f"The pseudonymisation key is {len(key)} characters long; use a secret of at "
            f"least {MINIMUM_KEY_LENGTH} characters (e.g. from 'openssl rand -hex 32')."
        )
    return key.encode()


def load_settings(*, warehouse: str | None = None, demo: bool = False) -> Settings:
    return Settings(
        warehouse=warehouse_url(warehouse),
        pseudonymisation_key=pseudonymisation_key(demo=demo),
        demo=demo,
    )
