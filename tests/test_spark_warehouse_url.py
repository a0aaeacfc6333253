"""How a Spark warehouse URL names its folder, and how its settings reach the JVM (no
Spark needed: these are the pure parts of ``carevalue.warehouse``)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from carevalue.errors import UserError
from carevalue.warehouse import _java_option, _spark_conf, spark_folders, spark_url


def test_the_default_folder_is_var_spark_warehouse_resolved_once_against_the_current_folder(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    master, folder = spark_url("pyspark://local[2]")
    assert master == "local[2]"
    assert folder == tmp_path / "var" / "spark-warehouse"
    assert folder.is_absolute()


def test_a_warehouse_setting_names_the_folder_relative_or_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert spark_url("pyspark://local?warehouse=data/cv") == ("local", tmp_path / "data" / "cv")
    assert spark_url("pyspark://?warehouse=/srv/cv%20spark") == ("local", Path("/srv/cv spark"))
    # '+' is a plain character in a path, not a space as in a web form
    assert spark_url("pyspark://local[1]?warehouse=/a+b")[1] == Path("/a+b")


@pytest.mark.parametrize("url", ["pyspark://local?folder=/x", "pyspark://local?warehouse="])
def test_an_unknown_or_empty_setting_is_refused_in_one_sentence(url):
    with pytest.raises(UserError, match=r"the one setting is \?warehouse=FOLDER"):
        spark_url(url)


def test_java_options_survive_the_launchers_shell_like_splitting():
    options = " ".join(
        [_java_option("derby.system.home", '/tmp/my "odd" folder'), _java_option("a", "b\\c")]
    )
    assert shlex.split(options) == ['-Dderby.system.home=/tmp/my "odd" folder', "-Da=b\\c"]


class FakeConf(dict):
    def set(self, key, value):
        self[key] = value


def test_catalogue_log_settings_and_tables_all_point_inside_the_warehouse_folder(tmp_path):
    parts = spark_folders(tmp_path / "w")
    conf = _spark_conf(FakeConf(), "local[2]", parts)
    assert conf["spark.sql.catalogImplementation"] == "hive"
    assert conf["spark.sql.warehouse.dir"] == str(tmp_path / "w" / "tables")
    assert conf["spark.hadoop.javax.jdo.option.ConnectionURL"] == (
        f"jdbc:derby:;databaseName={tmp_path / 'w' / 'catalogue' / 'metastore_db'};create=true"
    )
    assert conf["spark.ui.showConsoleProgress"] == "false"
    options = shlex.split(conf["spark.driver.extraJavaOptions"])
    assert f"-Dderby.system.home={tmp_path / 'w' / 'catalogue'}" in options
    log_config = next(o for o in options if o.startswith("-Dlog4j2.configurationFile=file:"))
    shipped = Path(log_config.removeprefix("-Dlog4j2.configurationFile=file:"))
    assert shipped.is_file(), "the log4j2 file ships with the package"
    assert "rootLogger.level = warn" in shipped.read_text()
