"""Notice a changed pseudonymisation key before it splits every patient in two.

NHS-number hashes made under one key never match those made under another, so a load
under a new key would silently stop linking patients across extracts. ``load_log`` keeps
a keyed fingerprint of the key (an HMAC of a fixed label under the key: it reveals nothing
a hash of the NHS numbers does not, and the key cannot be read back from it), and a load
whose key gives another fingerprint is refused.
"""

from __future__ import annotations

import hashlib
import hmac

import ibis

from carevalue.errors import UserError

_LABEL = b"carevalue pseudonymisation key fingerprint, version 1"


def key_fingerprint(key: bytes) -> str:
    return hmac.new(key, _LABEL, hashlib.sha256).hexdigest()[:16]


def check_same_key(load_log: ibis.Table | None, fingerprint: str) -> None:
    """Raise ``UserError`` when the latest load that recorded a key used another one."""
    if load_log is None or "key_fingerprint" not in load_log.columns:
        return
    known = load_log.filter(load_log.key_fingerprint.notnull())
    latest = known.order_by(ibis.desc("loaded_at")).select(
        "key_fingerprint", "loaded_at", "load_id"
    )
    rows = latest.limit(1).execute()
    if rows.empty or rows["key_fingerprint"].iloc[0] == fingerprint:
        return
    when = rows["loaded_at"].iloc[0]
    raise UserError(
        "The pseudonymisation key differs from the one used for this warehouse's earlier loads "
        f"(last on {when:%Y-%m-%d %H:%M} UTC, load {rows['load_id'].iloc[0]}), so NHS-number "
        "hashes would no longer join; set CAREVALUE_PSEUDONYMISATION_KEY to the earlier key, or "
        "load into a new warehouse."
    )
