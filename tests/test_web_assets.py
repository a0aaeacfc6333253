"""The web app's vendored front-end assets and its Making Data Count icons.

``build_assets`` copies the NHS.UK frontend, htmx and plotly.min.js from installed packages
(``make venv`` runs ``npm ci`` first); the built CSS must load nothing from another server.
Every icon code ``carevalue.stats.spc`` can emit must map to an icon file and a label.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from carevalue.errors import UserError
from carevalue.stats import spc
from carevalue.web import mdc_icons
from carevalue.web.assets import REPO_ROOT, build_assets

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("assets") / "vendor"
    return out, build_assets(REPO_ROOT, out)


def test_build_writes_each_vendored_file(built):
    out, written = built
    for relative in (
        "nhsuk/nhsuk-frontend.min.css",
        "nhsuk/nhsuk-frontend.min.js",
        "nhsuk/nhsuk-init.js",
        "nhsuk/assets/images/favicon.ico",
        "htmx/htmx.min.js",
        "plotly/plotly.min.js",
        "MANIFEST.json",
    ):
        path = out / relative
        assert path in written, relative
        assert path.is_file() and path.stat().st_size > 0, relative
    assert "Plotly" in (out / "plotly/plotly.min.js").read_text(encoding="utf-8")[:2000]
    assert "htmx" in (out / "htmx/htmx.min.js").read_text(encoding="utf-8")


def test_nhsuk_css_loads_nothing_from_another_server(built):
    out, _ = built
    css = (out / "nhsuk/nhsuk-frontend.min.css").read_text(encoding="utf-8")
    assert "--nhsuk-frontend-version" in css  # it is the real stylesheet
    assert "@font-face" not in css
    assert not re.search(r"https?://", css)
    assert "sourceMappingURL" not in css
    urls = re.findall(r"url\(\s*['\"]?([^'\")]+)", css)
    assert urls, "the NHS.UK CSS refers to its icons"
    for url in urls:
        if url.startswith("data:"):
            continue
        assert not url.startswith("/"), url
        assert (out / "nhsuk" / url).is_file(), f"{url} does not resolve beside the CSS"


def test_nhsuk_js_is_the_es_module_and_init_imports_it(built):
    out, _ = built
    js = (out / "nhsuk/nhsuk-frontend.min.js").read_text(encoding="utf-8")
    assert "initAll" in js and "export{" in js.replace(" ", "")
    assert "sourceMappingURL" not in js
    init = (out / "nhsuk/nhsuk-init.js").read_text(encoding="utf-8")
    assert "from './nhsuk-frontend.min.js'" in init and "initAll()" in init


def test_manifest_lists_every_file_with_package_version_and_licence(built):
    out, written = built
    manifest = json.loads((out / "MANIFEST.json").read_text(encoding="utf-8"))["files"]
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert set(manifest) == on_disk - {"MANIFEST.json"}
    assert {out / name for name in manifest} | {out / "MANIFEST.json"} == set(written)
    for name, entry in manifest.items():
        assert entry["package"] and entry["version"] and entry["licence"], name

    lock = json.loads((REPO_ROOT / "package-lock.json").read_text(encoding="utf-8"))
    locked = {
        key.removeprefix("node_modules/"): value["version"]
        for key, value in lock["packages"].items()
        if key
    }
    assert manifest["nhsuk/nhsuk-frontend.min.css"]["package"] == "nhsuk-frontend"
    assert manifest["nhsuk/nhsuk-frontend.min.css"]["version"] == locked["nhsuk-frontend"]
    assert manifest["nhsuk/nhsuk-frontend.min.js"]["version"] == locked["nhsuk-frontend"]
    assert manifest["htmx/htmx.min.js"]["version"] == locked["htmx.org"]
    assert locked["htmx.org"].startswith("2.0.")
    import plotly

    assert manifest["plotly/plotly.min.js"]["package"] == "plotly"
    assert manifest["plotly/plotly.min.js"]["version"].startswith(plotly.__version__)


def test_rebuild_replaces_and_foreign_folders_are_refused(built, tmp_path):
    out = tmp_path / "vendor"
    build_assets(REPO_ROOT, out)
    (out / "stale.txt").write_text("left from an older build")
    build_assets(REPO_ROOT, out)
    assert not (out / "stale.txt").exists()
    assert not out.with_name("vendor.building").exists()

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("not ours")
    with pytest.raises(UserError, match="did not write"):
        build_assets(REPO_ROOT, foreign)
    assert (foreign / "keep.txt").is_file()


def test_missing_node_modules_is_one_plain_sentence(tmp_path):
    with pytest.raises(UserError) as raised:
        build_assets(tmp_path, tmp_path / "vendor")
    assert "run `npm ci` first (make venv does)" in str(raised.value)
    assert not (tmp_path / "vendor").exists()


# --------------------------------------------------------------------------------------
# Making Data Count icons
# --------------------------------------------------------------------------------------


def _emitted_variation_codes() -> set[str]:
    return set(spc.VARIATION_ICONS) | set(spc._VARIATION.values())


def test_every_variation_code_spc_can_emit_has_an_icon():
    codes = _emitted_variation_codes()
    assert codes == set(mdc_icons.VARIATION)
    for code in codes:
        icon = mdc_icons.variation_icon(code)
        assert icon.code == code
        assert icon.file.is_file(), icon.static_path
        assert icon.label


def test_every_assurance_code_spc_can_emit_has_an_icon():
    assert set(spc.ASSURANCE_ICONS) == set(mdc_icons.ASSURANCE)
    for code in spc.ASSURANCE_ICONS:
        icon = mdc_icons.assurance_icon(code)
        assert icon is not None and icon.file.is_file(), code
    assert mdc_icons.assurance_icon(None) is None
    assert mdc_icons.assurance_icon(float("nan")) is None


def test_labels_say_the_direction_and_are_distinct():
    icons = [*mdc_icons.VARIATION.values(), *mdc_icons.ASSURANCE.values()]
    assert len({icon.label for icon in icons}) == len(icons)
    assert len({icon.static_path for icon in icons}) == len(icons)
    v = mdc_icons.VARIATION
    assert v["improvement_high"].label == (
        "Special cause variation — improvement (higher is better)"
    )
    assert "lower is better" in v["improvement_low"].label
    assert "lower is better" in v["concern_high"].label
    assert "higher is better" in v["concern_low"].label
    assert "neither improvement nor concern" in v["neutral_high"].label
    for code in ("common_cause", "neutral_high", "neutral_low"):
        assert "better" not in v[code].label  # a neutral measure is never better or worse


def test_unknown_codes_are_refused():
    with pytest.raises(ValueError, match="not a variation icon code"):
        mdc_icons.variation_icon("special_cause_improvement")
    with pytest.raises(ValueError, match="not an assurance icon code"):
        mdc_icons.assurance_icon("pass")


@pytest.mark.parametrize(
    ("improvement", "shift", "expected"),
    [
        ("increase", +1, "improvement_high"),
        ("increase", -1, "concern_low"),
        ("decrease", +1, "concern_high"),
        ("decrease", -1, "improvement_low"),
        ("neutral", +1, "neutral_high"),
        ("neutral", -1, "neutral_low"),
    ],
)
def test_spc_output_maps_to_icons(improvement, shift, expected):
    """A real XmR run: a shift of eight points after a stable baseline of twenty."""
    baseline = [10, 11, 9, 10, 12, 10, 9, 11, 10, 10, 11, 9, 10, 12, 10, 9, 11, 10, 10, 11]
    y = baseline + [10 + shift * 5 + (i % 2) for i in range(8)]
    frame = spc.xmr(y, improvement=improvement, target=8)
    (variation,) = spc.variation(frame).values()
    assert variation == expected
    assert mdc_icons.variation_icon(variation).file.is_file()
    (assurance,) = spc.assurance(frame).values()
    icon = mdc_icons.assurance_icon(assurance)
    assert (icon is None) == (improvement == "neutral")


def test_icon_files_are_self_contained_svg_with_a_title():
    files = sorted(mdc_icons.ICON_DIR.rglob("*.svg"))
    icons = [*mdc_icons.VARIATION.values(), *mdc_icons.ASSURANCE.values()]
    assert {icon.file for icon in icons} == set(files)
    for path in files:
        root = ET.parse(path).getroot()
        assert root.tag == f"{SVG}svg" and root.get("viewBox"), path.name
        assert (root.findtext(f"{SVG}title") or "").strip(), path.name
        text = path.read_text(encoding="utf-8")
        assert "href" not in text and "<text" not in text and "<script" not in text, path.name
        assert re.findall(r"https?://[^\"']+", text) == ["http://www.w3.org/2000/svg"], path.name
    assert (mdc_icons.ICON_DIR / "README.md").is_file()
