"""The committed data-format spec is the one generated from schemas."""

from pathlib import Path

from depthcur.schemas.spec import format_spec_markdown

DOC = Path(__file__).resolve().parent.parent / "docs" / "data-format.md"


def test_committed_format_spec_matches_schemas():
    assert DOC.read_text() == format_spec_markdown(), \
        "docs/data-format.md is stale: run `.venv/bin/python -m depthcur.schemas.spec > docs/data-format.md`"


def test_spec_lists_every_arrow_column_and_map():
    from depthcur.schemas.containers import arrow_schema
    from depthcur.schemas.fields import MAP_FIELDS

    text = format_spec_markdown()
    assert all(f"| `{f.name}` |" in text for f in arrow_schema())
    assert all(f"| `{f.name}` |" in text for f in MAP_FIELDS)
