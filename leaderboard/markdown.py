"""Our own markdown (the methodology text) to HTML: headings, paragraphs, lists, tables, `code`,
**bold**. The text is escaped first, so even a hostile methodology file renders inert."""

from __future__ import annotations

import re
from html import escape as esc

from markupsafe import Markup


def markdown_lite(text: str) -> Markup:
    """Our own docs to HTML: headings, paragraphs, lists, tables, `code`, **bold**. Escapes first."""

    def inline(s: str) -> str:
        s = esc(s, quote=False)
        s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
        return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)

    html: list[str] = []
    lines = text.splitlines()
    k = 0
    while k < len(lines):
        line = lines[k]
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            html.append(f"<h{level + 1}>{inline(line.lstrip('#').strip())}</h{level + 1}>")
        elif line.startswith("|"):
            rows = []
            while k < len(lines) and lines[k].startswith("|"):
                cells = [c.strip() for c in lines[k].strip("|").split("|")]
                if not all(set(c) <= set("-: ") for c in cells):
                    rows.append(cells)
                k += 1
            k -= 1
            head, *body = rows
            html.append("<table><thead><tr>" + "".join(f"<th>{inline(c)}</th>" for c in head) + "</tr></thead><tbody>")
            html.extend("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>" for r in body)
            html.append("</tbody></table>")
        elif re.match(r"^(\d+\.|-) ", line):
            tag = "ol" if line[0].isdigit() else "ul"
            items = []
            while k < len(lines) and (re.match(r"^(\d+\.|-) ", lines[k]) or lines[k].startswith("   ")):
                if lines[k].startswith("   "):
                    items[-1] += " " + lines[k].strip()
                else:
                    items.append(re.sub(r"^(\d+\.|-) ", "", lines[k]))
                k += 1
            k -= 1
            html.append(f"<{tag}>" + "".join(f"<li>{inline(i)}</li>" for i in items) + f"</{tag}>")
        elif line.strip():
            para = [line.strip()]
            while k + 1 < len(lines) and lines[k + 1].strip() and not re.match(r"^(#|\||-|\d+\.)", lines[k + 1]):
                k += 1
                para.append(lines[k].strip())
            html.append(f"<p>{inline(' '.join(para))}</p>")
        k += 1
    return Markup("\n".join(html))
