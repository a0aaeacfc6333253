import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from carevalue.config import DEMO_KEY, pseudonymisation_key
from carevalue.errors import UserError
from carevalue.sources.pseudonymise import keyed_hash, nhs_number_is_valid, pseudonymise_array
from carevalue.sources.stage_feed import pseudonymise_table


@pytest.mark.parametrize("number", ["9434765919", "943 476 5919", "943-476-5919", "9990000018"])
def test_valid_nhs_numbers(number):
    # 943 476 5919 is the worked example in the NHS Data Dictionary's Modulus 11 algorithm.
    assert nhs_number_is_valid(number)


@pytest.mark.parametrize("number", ["9434765918", "943476591", "94347659190", "abcdefghij", ""])
def test_invalid_nhs_numbers(number):
    assert not nhs_number_is_valid(number)


def test_keyed_hash_is_stable_spacing_blind_and_depends_on_the_key():
    key, other = b"k" * 32, b"j" * 32
    assert keyed_hash("9434765919", key) == keyed_hash("943 476 5919", key)
    assert keyed_hash("9434765919", key) != keyed_hash("9434765919", other)
    assert keyed_hash("9434765919", key) != keyed_hash("9990000018", key)


@given(st.from_regex(r"\d{10}", fullmatch=True))
def test_hashes_never_contain_the_number(number):
    assert number not in keyed_hash(number, b"k" * 32)


def test_pseudonymise_array_counts_failed_check_digits():
    hashed, invalid = pseudonymise_array(pa.array(["9434765919", None, "1234567890"]), b"k" * 32)
    assert invalid == 1
    assert hashed[1].as_py() is None


def test_pseudonymise_table_swaps_the_column_for_hash_and_flag():
    table = pa.table({"patient_id": ["P1"], "nhs_number": ["9434765919"], "sex": ["female"]})
    out = pseudonymise_table(table, (("nhs_number", "nhs_number_hash"),), b"k" * 32)
    assert out.column_names == ["patient_id", "nhs_number_hash", "nhs_number_valid", "sex"]


def test_no_key_outside_demo_mode_is_refused(monkeypatch):
    monkeypatch.delenv("CAREVALUE_PSEUDONYMISATION_KEY", raising=False)
    monkeypatch.delenv("CAREVALUE_PSEUDONYMISATION_KEY_FILE", raising=False)
    with pytest.raises(
        UserError, match="No pseudonymisation key: set CAREVALUE_PSEUDONYMISATION_KEY"
    ):
        pseudonymisation_key(demo=False)
    assert pseudonymisation_key(demo=True) == DEMO_KEY.encode()


def test_short_keys_are_refused_and_key_files_are_read(monkeypatch, tmp_path):
    monkeypatch.setenv("CAREVALUE_PSEUDONYMISATION_KEY", "short")
    with pytest.raises(UserError, match="is 5 characters long"):
        pseudonymisation_key(demo=False)
    monkeypatch.delenv("CAREVALUE_PSEUDONYMISATION_KEY")
    key_file = tmp_path / "key"
    key_file.write_text("x" * 40 + "\n")
    monkeypatch.setenv("CAREVALUE_PSEUDONYMISATION_KEY_FILE", str(key_file))
    assert pseudonymisation_key(demo=False) == b"x" * 40
