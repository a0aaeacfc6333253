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
