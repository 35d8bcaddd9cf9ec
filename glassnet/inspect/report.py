"""A report: titled sections of tables and lines, rendered as plain text (with colour
on a terminal), Markdown, JSON or HTML. Every view in glassnet.inspect returns one, so
the same numbers appear in the terminal, in Jupyter (``_repr_html_``) and in tools."""
import html
import json
import os
import sys
import unicodedata

from ..lectures import check_language, translate

BOLD, DIM, RED, RESET = "\033[1m", "\033[2m", "\033[31m", "\033[0m"


def use_colour(stream=None):
    """Colour only on a terminal, and never when NO_COLOR is set."""
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and getattr(stream, "isatty", lambda: False)()


class Section:
    def __init__(self, title=None, columns=(), rows=(), lines=(), align=None):
        self.title, self.columns, self.rows = title, list(columns), [list(r) for r in rows]
        self.lines = list(lines)
        self.align = align or ["l"] * len(self.columns)     # "l" or "r" per column

    def to_dict(self):
        out = {"title": self.title}
        if self.columns:
            out["rows"] = [dict(zip(self.columns, row)) for row in self.rows]
        if self.lines:
            out["lines"] = self.lines
        return out


class Report:
    """What ``summary``, ``trace``, ``explain`` and ``compare_dense_conv`` return.

    ``str(report)`` is the plain text; ``to_markdown()``, ``to_json()``, ``to_html()``
    give the other renderings, and ``data`` holds the numbers for tools. Every rendering
    takes ``lang`` ("en" or "ko"; default the report's own ``lang``): the report's words
    in that language (code identifiers, layer names, shapes and units stay).
    """

    def __init__(self, title, sections, data=None, lang="en"):
        self.title, self.sections, self.data = title, sections, data or {}
        self.lang = check_language(lang, "Report")

    def translated(self, lang=None):
        """The report with its title, headings, table cells and lines in ``lang``."""
        lang = check_language(lang or self.lang, "Report")
        if lang == "en":
            return self
        def tr(line):
            return translate(line, lang)
        sections = [Section(tr(s.title) if s.title else s.title, [tr(c) for c in s.columns],
                            [[tr(str(c)) for c in row] for row in s.rows],
                            [tr(line) for line in s.lines], s.align) for s in self.sections]
        return Report(tr(self.title), sections, self.data, lang)

    # --- text -----------------------------------------------------------------------
    def to_text(self, colour=False, lang=None):
        if (lang or self.lang) != "en":
            return self.translated(lang).to_text(colour, "en")
        bold = (lambda s: BOLD + s + RESET) if colour else (lambda s: s)
        out = [bold(self.title)]
        for section in self.sections:
            out.append("")
            if section.title:
                out.append(bold(section.title))
            if section.columns:
                out += _text_table(section, bold)
            out += section.lines
        return "\n".join(out)

    def __str__(self):
        return self.to_text()

    def __repr__(self):
        return self.to_text()

    def print(self, file=None):
        file = file or sys.stdout
        print(self.to_text(colour=use_colour(file)), file=file)

    # --- Markdown ---------------------------------------------------------------------
    def to_markdown(self, lang=None):
        if (lang or self.lang) != "en":
            return self.translated(lang).to_markdown("en")
        out = [f"## {self.title}"]
        for section in self.sections:
            out.append("")
            if section.title:
                out += [f"**{section.title}**", ""]
            if section.columns:
                out.append("| " + " | ".join(section.columns) + " |")
                out.append("|" + "|".join("---:" if a == "r" else "---"
                                          for a in section.align) + "|")
                out += ["| " + " | ".join(_md_cell(c) for c in row) + " |"
                        for row in section.rows]
                if section.lines:
                    out.append("")
            out += [f"{line}  " if line else "" for line in section.lines]
        return "\n".join(out).rstrip() + "\n"

    # --- JSON -------------------------------------------------------------------------
    def to_dict(self):
        return {"title": self.title, **self.data,
                "sections": [s.to_dict() for s in self.sections]}

    def to_json(self, indent=2):
        return json.dumps(self.to_dict(), indent=indent)

    # --- HTML -------------------------------------------------------------------------
    def to_html(self, lang=None):
        if (lang or self.lang) != "en":
            return self.translated(lang).to_html("en")
        esc = html.escape
        out = ['<div class="glassnet-report" style="font-family: ui-monospace, monospace; '
               'font-size: 13px">', f"<h3>{esc(self.title)}</h3>"]
        for section in self.sections:
            if section.title:
                out.append(f"<h4>{esc(section.title)}</h4>")
            if section.columns:
                out.append('<table style="border-collapse: collapse">')
                out.append("<thead><tr>" + "".join(
                    f'<th style="text-align: {"right" if a == "r" else "left"}; padding: 2px '
                    f'10px; border-bottom: 1px solid #888">{esc(c)}</th>'
                    for c, a in zip(section.columns, section.align)) + "</tr></thead><tbody>")
                for row in section.rows:          # data-label: the column, for narrow pages
                    out.append("<tr>" + "".join(
                        f'<td data-label="{esc(h)}" style="text-align: '
                        f'{"right" if a == "r" else "left"}; padding: 2px 10px">{esc(str(c))}</td>'
                        for c, h, a in zip(row, section.columns, section.align)) + "</tr>")
                out.append("</tbody></table>")
            if section.lines:
                out.append("<pre>" + esc("\n".join(section.lines)) + "</pre>")
        out.append("</div>")
        return "\n".join(out)

    def _repr_html_(self):
        return self.to_html()

    def render(self, fmt="text", lang=None):
        """Render as 'text', 'markdown', 'json' or 'html' (JSON keeps English keys and
        words: it is for tools)."""
        renderers = {"text": self.to_text, "markdown": self.to_markdown,
                     "json": self.to_json, "html": self.to_html}
        if fmt not in renderers:
            raise ValueError(f"unknown format {fmt!r}; use one of: {', '.join(renderers)}.")
        return renderers[fmt]() if fmt == "json" else renderers[fmt](lang=lang)


def _md_cell(value):
    return str(value).replace("|", "\\|")


def _width(text):
    """Columns a text takes on a terminal: Hangul and other wide letters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text, width, align):
    fill = " " * (width - _width(text))
    return fill + text if align == "r" else text + fill


def _text_table(section, bold):
    cells = [section.columns] + [[str(c) for c in row] for row in section.rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(section.columns))]

    def line(row):
        return "  ".join(_pad(c, w, a) for c, w, a in zip(row, widths, section.align)).rstrip()

    rule = "-" * max(_width(line(cells[0])), sum(widths) + 2 * (len(widths) - 1))
    return [bold(line(cells[0])), rule] + [line(row) for row in cells[1:]] + [rule]
