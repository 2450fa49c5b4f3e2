"""The HTML page every report is built from: one skeleton and style, escaping, figures and tables.

Builders take HTML fragments and return HTML; text from data goes through :func:`escape` first.
Attributes are single-quoted throughout.
"""

from __future__ import annotations

from html import escape
from typing import Iterable

__all__ = ["STYLE", "cell", "escape", "figure", "page", "row", "table", "text_table"]

STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1500px}
h1{font-size:22px} h2{font-size:18px;border-bottom:1px solid #ccc;padding-top:10px} h3{font-size:15px}
table{border-collapse:collapse;margin:6px 0 14px;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 8px} th{background:#f2f2f2}
figure{display:inline-block;margin:2px 4px;vertical-align:top;text-align:center;font-size:11px}
figure img{display:block;margin:auto} .note{color:#666;font-size:12px}
"""


def page(title: str, body: str, style: str = "") -> str:
    """A whole page: ``body`` is HTML, ``style`` CSS added after the shared :data:`STYLE`."""
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{STYLE}{style}</style></head><body>{body}</body></html>")


def figure(src: str, caption: str, *, link: bool = False) -> str:
    """An image with its caption (plain text); ``link`` makes the image open the full-size file."""
    image = f"<img src='{escape(src)}' alt='{escape(caption)}'>"
    if link:
        image = f"<a href='{escape(src)}'>{image}</a>"
    return f"<figure>{image}<figcaption>{escape(caption)}</figcaption></figure>"


def _class_attribute(classes: Iterable[str]) -> str:
    names = " ".join(classes)
    return f" class='{escape(names)}'" if names else ""


def cell(content: str, *, header: bool = False, classes: Iterable[str] = ()) -> str:
    """One ``<td>`` (or ``<th>``) holding the HTML ``content``."""
    tag = "th" if header else "td"
    return f"<{tag}{_class_attribute(classes)}>{content}</{tag}>"


def row(cells: Iterable[str], *, classes: Iterable[str] = ()) -> str:
    return f"<tr{_class_attribute(classes)}>{''.join(cells)}</tr>"


def table(rows: Iterable[str]) -> str:
    return f"<table>{''.join(rows)}</table>"


def text_table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """A table with a header row of plain texts over rows of cell HTML."""
    return table([row(cell(escape(text), header=True) for text in header),
                  *(row(cell(content) for content in cells) for cells in rows)])
