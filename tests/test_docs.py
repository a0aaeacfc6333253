import re
from pathlib import Path

from carevalue.sources.document_feeds import feeds_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_feeds_doc_matches_the_declarations():
    assert (ROOT / "docs" / "feeds.md").read_text() == feeds_markdown(), (
        "docs/feeds.md is stale: run python -m carevalue.sources.document_feeds > docs/feeds.md"
    )


def test_readme_quick_start_is_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme


def test_every_top_level_doc_exists():
    for name in ("README.md", "ARCHITECTURE.md", "GLOSSARY.md"):
        assert (ROOT / name).stat().st_size > 500, name


# Markdown links: [text](target), skipping web addresses and in-page anchors.
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _docs() -> list[Path]:
    skip = {".venv", ".git", "var", "node_modules", ".pytest_cache", "build"}
    return [p for p in ROOT.rglob("*.md") if not skip & set(p.relative_to(ROOT).parts)]


def test_every_relative_link_in_the_docs_resolves_inside_the_checkout():
    broken = []
    for doc in _docs():
        for target in _LINK.findall(doc.read_text(encoding="utf-8")):
            if "://" in target or target.startswith(("#", "mailto:")):
                continue
            path = (doc.parent / target.split("#", 1)[0]).resolve()
            if not path.exists() or not path.is_relative_to(ROOT):
                broken.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert not broken, "links that lead nowhere in this checkout:\n" + "\n".join(broken)
