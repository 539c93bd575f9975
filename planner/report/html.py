"""The report as one self-contained HTML page: styles inline, every image a base64 PNG data URI,
no scripts, fonts or links to fetch, so it opens anywhere without a network."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape

import pandas as pd

from planner.report.figure import Figure, Note, Section
from planner.report.formats import display_table

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: #222; margin: 0 auto; max-width: 1180px; padding: 1.5em 2em 4em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; border-bottom: 2px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.08em; margin: 1.6em 0 0.4em; }
.meta, .about { color: #555; }
nav > ol { padding-left: 1.4em; }
nav ol ol { columns: 2; padding-left: 1.4em; margin: 0.2em 0 0.6em; }
figure { margin: 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { margin: 0.4em 0 0.8em; }
.note { background: #f6f6f6; border-left: 4px solid #bbb; padding: 0.6em 1em; }
.data { max-height: 26em; overflow-y: auto; margin-bottom: 0.8em; }
.wide { overflow-x: auto; max-width: 100%; }
.skipped { color: #555; font-size: 0.9em; }
.data h4 { font-size: 0.9em; margin: 0.6em 0 0.2em; color: #444; }
table { border-collapse: collapse; font-size: 0.82em; font-variant-numeric: tabular-nums; }
th, td { padding: 0.15em 0.7em; border-bottom: 1px solid #eee; text-align: right;
         white-space: nowrap; }
th { position: sticky; top: 0; background: #fafafa; border-bottom: 1px solid #ccc;
     white-space: normal; min-width: 5em; max-width: 12em; vertical-align: bottom; }
th:first-child, td:first-child { text-align: left; }
table.facts td:last-child { font-weight: 600; }
"""


def page(title: str, meta: str, sections: Sequence[Section]) -> str:
    """The whole page: a title, a contents list, then each section's figures and notes."""
    body = [f"<h1>{escape(title)}</h1>", f'<p class="meta">{escape(meta)}</p>', _contents(sections)]
    for section in sections:
        body.append(_section(section))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def figure_file(section: Section, figure: Figure | Note) -> str:
    """The PNG's file name under ``figures/``: the section's name, then the figure's."""
    return f"{section.name}-{figure.name}.png"


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def table_html(frame: pd.DataFrame) -> str:
    """A table of ``frame``'s values, formatted by unit and escaped."""
    shown = display_table(frame)
    head = "".join(f"<th>{escape(header(str(c)))}</th>" for c in shown.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(v)}</td>" for v in values) + "</tr>"
        for values in shown.itertuples(index=False, name=None)
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    return f'<div class="wide">{table}</div>'


UNITS = (
    ("_usd_per_gpu_h", " (USD per GPU-hour)"),
    ("_usd_per_day", " (USD per day)"),
    ("_usd_lost", " (USD, lost)"),
    ("_usd", " (USD)"),
    ("_gpu_h", " (GPU-hours)"),
    ("_wait_h", " wait (hours)"),
    ("_h", " (hours)"),
    ("_gpus", " GPUs"),
)


def header(name: str) -> str:
    """A column's code name as a reader's header: ``capex_left_at_full_use_usd`` reads
    "capex left at full use (USD)"; a ``param.`` prefix is dropped; names without
    underscores are kept as they are."""
    words = []
    given = name.removeprefix("param.").split(" ")
    for word in given:
        for suffix, unit in UNITS:
            if word == suffix[1:]:
                word = unit.strip().strip("()") if len(given) == 1 else unit.strip()
                break
            if word.endswith(suffix):
                word = word[: -len(suffix)] + unit
                break
        words.append(word.replace("_", " "))
    return " ".join(words)


def _contents(sections: Sequence[Section]) -> str:
    items = []
    for section in sections:
        links = "".join(
            f'<li><a href="#{_anchor(section, item)}">{escape(item.title)}</a></li>'
            for item in section.items
            if isinstance(item, Figure)
        )
        items.append(
            f'<li><a href="#{section.name}">{escape(section.title)}</a><ol>{links}</ol></li>'
        )
    return f"<nav><ol>{''.join(items)}</ol></nav>"


def _section(section: Section) -> str:
    parts = [
        f'<section id="{section.name}">',
        f"<h2>{escape(section.title)}</h2>",
        f'<p class="about">{escape(section.about)}</p>',
    ]
    if section.facts:
        rows = "".join(
            f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in section.facts
        )
        parts.append(f'<table class="facts"><tbody>{rows}</tbody></table>')
    notes = [item for item in section.items if isinstance(item, Note)]
    for item in section.items:
        anchor = _anchor(section, item)
        if isinstance(item, Note):
            continue
        tables = "".join(
            f"<h4>{escape(name)}</h4>{table_html(frame)}" for name, frame in item.tables
        )
        parts.append(
            f'<div id="{anchor}"><h3>{escape(item.title)}</h3><figure>'
            f'<img src="{data_uri(item.png)}" alt="{escape(item.title)}">'
            f"<figcaption>{escape(item.caption)}</figcaption></figure>"
            f'<div class="data">{tables}</div></div>'
        )
    if notes:  # figures this result has nothing to show in, said once, out of the contents
        said = " ".join(f'<span id="{_anchor(section, n)}">{escape(n.text)}</span>' for n in notes)
        parts.append(f'<p class="note skipped">Not shown: {said}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def _anchor(section: Section, item: Figure | Note) -> str:
    return f"{section.name}-{item.name}"
