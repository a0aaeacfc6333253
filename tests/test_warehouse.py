import ibis
import pandas as pd
import pytest

from carevalue.errors import UserError
from carevalue.warehouse import atomic, connect, replace_table


def test_default_is_a_duckdb_file_created_with_its_folder(tmp_path):
    path = tmp_path / "var" / "warehouse.duckdb"
    con = connect(str(path))
    con.create_table("t", pd.DataFrame({"a": [1]}))
    con.disconnect()
    assert path.exists()
    assert connect(f"duckdb://{path}").table("t").count().execute() == 1


def test_create_table_from_pandas_works_at_the_pinned_sqlglot():
    # ibis 12.0 with sqlglot 30.x fails here with "syntax error at or near EXISTS";
    # pyproject pins sqlglot 28.x. This test is the pin's reason.
    con = connect("duckdb://:memory:")
    con.create_table("t", pd.DataFrame({"a": [1, 2]}), overwrite=True)
    con.create_table("t", pd.DataFrame({"a": [3]}), overwrite=True)
    assert con.table("t").a.sum().execute() == 3


def test_atomic_rolls_back_every_replacement_on_failure():
    con = connect("duckdb://:memory:")
    con.create_table("t", pd.DataFrame({"a": [1]}))
    with pytest.raises(RuntimeError), atomic(con):
        replace_table(con, "t", ibis.memtable(pd.DataFrame({"a": [99]})))
        raise RuntimeError("killed mid-load")
    assert con.table("t").a.to_list() == [1]


def test_an_unknown_engine_url_is_a_plain_error():
    with pytest.raises(UserError, match="Cannot open the warehouse nosuchengine://x"):
        connect("nosuchengine://x")
