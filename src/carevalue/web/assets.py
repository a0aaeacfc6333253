"""The web application's front-end assets, copied from installed packages into static/vendor.

Nothing is loaded from a CDN: hospital networks often block them, and the app's content
security policy allows only this server. ``npm ci`` installs the NHS.UK frontend, htmx and
axe-core (package-lock.json pins them); the ``plotly`` wheel already carries plotly.min.js.
``build_assets()`` (``python -m carevalue.web.assets``; ``make venv`` runs it) copies what the
pages load into ``src/carevalue/web/static/vendor/``, which is built, never committed:

    vendor/nhsuk/nhsuk-frontend.min.css   the NHS.UK frontend CSS, without @font-face rules
    vendor/nhsuk/nhsuk-frontend.min.js    its ES module (load with <script type="module">)
    vendor/nhsuk/nhsuk-init.js            imports it and calls initAll(), so no inline script
    vendor/nhsuk/assets/...               its icons, logos, favicons and web manifest
    vendor/htmx/htmx.min.js
    vendor/dagre/dagre.min.js             the process map's layered layout (graphlib bundled)
    vendor/svg-pan-zoom/svg-pan-zoom.min.js   pan and zoom of the process map
    vendor/plotly/plotly.min.js
    vendor/MANIFEST.json                  each file: source package, version and licence
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from importlib import metadata
from pathlib import Path

from carevalue.errors import UserError

__all__ = ["DEFAULT_OUT", "REPO_ROOT", "build_assets", "main"]

_HERE = Path(__file__).resolve().parent
# src/carevalue/web -> src/carevalue -> src -> the checkout's root (package.json, node_modules)
REPO_ROOT = _HERE.parent.parent.parent
DEFAULT_OUT = _HERE / "static" / "vendor"
MANIFEST = "MANIFEST.json"

_NPM_CI = "run `npm ci` first (make venv does)"
_NHSUK_DIST = Path("node_modules/nhsuk-frontend/dist/nhsuk")

# The NHS.UK frontend's compiled CSS declares the Frutiger font with @font-face rules that
# load it from an NHS CDN. Off the internet (many hospital networks) that request fails, and
# the app's CSP (font-src 'self') forbids it anyway. Removing the rules leaves the CSS's own
# fallback, "Frutiger W01, arial, sans-serif": NHS.UK's service manual allows Arial where
# Frutiger cannot be loaded, so pages render as NHS services look without the webfont.
# The rules have no nested braces, so one pattern removes each whole rule.
_FONT_FACE = re.compile(r"@font-face\s*\{[^{}]*\}")
# A source map comment points at a .map this build does not copy (and, for the edited CSS,
# one that would no longer match); Django's manifest storage fails on a missing one.
_SOURCE_MAP = re.compile(r"\n?/[*/]# sourceMappingURL=[^\n]*?(?:\s*\*/)?\s*$")
_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")

# Served as an ES module next to the bundle: the CSP has no 'unsafe-inline' for scripts.
_NHSUK_INIT = """\
// Written by carevalue.web.assets: starts every NHS.UK frontend component on the page.
import { initAll } from './nhsuk-frontend.min.js'

initAll()
"""


def build_assets(root: Path = REPO_ROOT, out: Path = DEFAULT_OUT) -> list[Path]:
    """Copy the vendored front-end files from ``root``'s node_modules and plotly into ``out``.

    Returns the paths written, MANIFEST.json last. ``out`` is rebuilt whole (beside itself,
    then swapped in), so a page never sees half an update. Raises ``UserError`` when
    node_modules is missing, and when ``out`` exists but is not a folder this built.
    """
    root = Path(root)
    out = Path(out)
    nhsuk = _npm_package(root, "nhsuk-frontend")
    htmx = _npm_package(root, "htmx.org")
    dagre = _npm_package(root, "@dagrejs/dagre")
    graphlib = _npm_package(root, "@dagrejs/graphlib")
    pan_zoom = _npm_package(root, "svg-pan-zoom")
    plotly_js, plotly_info = _plotly()
    if out.exists() and not (out / MANIFEST).is_file() and any(out.iterdir()):
        raise UserError(
            f"{out} holds files this build did not write (no {MANIFEST}): "
            "choose an empty or new folder for the assets."
        )

    staging = out.with_name(out.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    manifest: dict[str, dict] = {}

    def record(relative: str, package: dict, source: Path | str, note: str | None = None):
        entry = {
            "package": package["name"],
            "registry": package["registry"],
            "version": package["version"],
            "licence": package["licence"],
            "source": str(source),
        }
        if note:
            entry["changed"] = note
        manifest[relative] = entry

    dist = root / _NHSUK_DIST
    # Icons, logos, favicons: the CSS refers to them as /assets/images/..., rewritten below
    # to assets/images/... beside the CSS, so they resolve under any STATIC_URL.
    for source in sorted((dist / "assets").rglob("*")):
        if source.is_file():
            relative = source.relative_to(dist)
            target = staging / "nhsuk" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            record(f"nhsuk/{relative.as_posix()}", nhsuk, _NHSUK_DIST / relative)

    css_source = dist / "nhsuk-frontend.min.css"
    css = _nhsuk_css(_read(css_source), staging / "nhsuk")
    _write(staging / "nhsuk/nhsuk-frontend.min.css", css)
    record(
        "nhsuk/nhsuk-frontend.min.css",
        nhsuk,
        _NHSUK_DIST / css_source.name,
        "@font-face rules (Frutiger from an NHS CDN) removed: Arial is the fallback; "
        "/assets/ URLs made relative; source map comment removed",
    )
    js_source = dist / "nhsuk-frontend.min.js"
    _write(staging / "nhsuk/nhsuk-frontend.min.js", _strip_source_map(_read(js_source)))
    record(
        "nhsuk/nhsuk-frontend.min.js",
        nhsuk,
        _NHSUK_DIST / js_source.name,
        "source map comment removed",
    )
    _write(staging / "nhsuk/nhsuk-init.js", _NHSUK_INIT)
    record(
        "nhsuk/nhsuk-init.js",
        {
            "name": "carevalue",
            "registry": "this repository",
            "version": _own_version(),
            "licence": "Apache-2.0",
        },
        "carevalue.web.assets",
        "written by this build: imports nhsuk-frontend.min.js and calls initAll()",
    )

    htmx_source = root / "node_modules/htmx.org/dist/htmx.min.js"
    _write(staging / "htmx/htmx.min.js", _strip_source_map(_read(htmx_source)))
    record("htmx/htmx.min.js", htmx, htmx_source.relative_to(root))
    for licence in sorted((root / "node_modules/htmx.org").glob("LICEN[CS]E*")):
        shutil.copyfile(licence, staging / "htmx" / licence.name)
        record(f"htmx/{licence.name}", htmx, licence.relative_to(root))

    # The process map: dagre's browser bundle (it carries graphlib, whose licence goes
    # beside it too) and svg-pan-zoom; their licence files travel with them.
    for folder, package, bundle, licences in (
        ("dagre", dagre, "node_modules/@dagrejs/dagre/dist/dagre.min.js", ("@dagrejs/dagre",)),
        ("dagre", graphlib, None, ("@dagrejs/graphlib",)),
        (
            "svg-pan-zoom",
            pan_zoom,
            "node_modules/svg-pan-zoom/dist/svg-pan-zoom.min.js",
            ("svg-pan-zoom",),
        ),
    ):
        if bundle is not None:
            source = root / bundle
            _write(staging / folder / source.name, _strip_source_map(_read(source)))
            record(f"{folder}/{source.name}", package, source.relative_to(root))
            legal = source.with_name(source.name + ".LEGAL.txt")  # the bundle points to it
            if legal.is_file():
                shutil.copyfile(legal, staging / folder / legal.name)
                record(f"{folder}/{legal.name}", package, legal.relative_to(root))
        for name in licences:
            for licence in sorted((root / "node_modules" / name).glob("LICEN[CS]E*")):
                target = f"LICENSE-{name.split('/')[-1]}"
                shutil.copyfile(licence, staging / folder / target)
                record(f"{folder}/{target}", package, licence.relative_to(root))

    (staging / "plotly").mkdir()
    shutil.copyfile(plotly_js, staging / "plotly/plotly.min.js")
    record("plotly/plotly.min.js", plotly_info, "plotly/package_data/plotly.min.js (Python wheel)")

    manifest_data = {
        "built_by": "python -m carevalue.web.assets",
        "files": dict(sorted(manifest.items())),
    }
    _write(staging / MANIFEST, json.dumps(manifest_data, indent=2) + "\n")

    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return [out / relative for relative in sorted(manifest)] + [out / MANIFEST]


def _npm_package(root: Path, name: str) -> dict:
    folder = root / "node_modules" / name
    if not (root / "node_modules").is_dir():
        raise UserError(f"{root / 'node_modules'} is missing: {_NPM_CI}.")
    if not (folder / "package.json").is_file():
        raise UserError(f"{folder} is missing: {_NPM_CI}.")
    data = json.loads(_read(folder / "package.json"))
    return {
        "name": name,
        "registry": "npm",
        "version": data["version"],
        "licence": data.get("license", "see the package"),
    }


def _own_version() -> str:
    try:
        return metadata.version("carevalue")
    except metadata.PackageNotFoundError:
        return "unknown"


def _plotly() -> tuple[Path, dict]:
    import plotly
    from plotly.offline import get_plotlyjs_version

    source = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    if not source.is_file():
        raise UserError(f"{source} is missing: reinstall the plotly package (make venv).")
    return source, {
        "name": "plotly",
        "registry": "PyPI",
        "version": f"{plotly.__version__} (plotly.js {get_plotlyjs_version()})",
        "licence": "MIT",
    }


def _nhsuk_css(css: str, folder: Path) -> str:
    css = _FONT_FACE.sub("", css)
    css = _strip_source_map(css)

    def relative(match: re.Match) -> str:
        url = match.group(2).strip()
        if url.startswith("data:"):
            return match.group(0)
        if url.startswith(("http://", "https://", "//")):
            raise UserError(
                f"the NHS.UK frontend CSS loads {url} from another server: "
                "carevalue.web.assets needs updating for this nhsuk-frontend version."
            )
        local = url.lstrip("/").split("#")[0].split("?")[0]
        if not (folder / local).is_file():
            raise UserError(
                f"the NHS.UK frontend CSS refers to {url}, which its package does not ship: "
                "carevalue.web.assets needs updating for this nhsuk-frontend version."
            )
        return f"url({url.lstrip('/')})"

    return _CSS_URL.sub(relative, css)


def _strip_source_map(text: str) -> str:
    return _SOURCE_MAP.sub("\n", text.rstrip()).rstrip() + "\n"


def _read(path: Path) -> str:
    if not path.is_file():
        raise UserError(f"{path} is missing: {_NPM_CI}.")
    return path.read_text(encoding="utf-8")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Build the assets into the default folder; print one line, or the error's sentence."""
    if argv:
        print("usage: python -m carevalue.web.assets", file=sys.stderr)
        return 2
    try:
        written = build_assets()
    except UserError as error:
        print(f"carevalue.web.assets: {error}", file=sys.stderr)
        return 1
    print(f"carevalue.web.assets: wrote {len(written)} files to {DEFAULT_OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
