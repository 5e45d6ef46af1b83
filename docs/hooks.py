"""MkDocs hook: show the toolkit's plain-text docstrings faithfully.

The docstrings are plain text written for ``help()``, with doctest examples
that pytest runs. Read as Markdown, a ``>>>`` line would be a nested block
quote and ASCII maths such as ``coeffs[alpha][m]`` or ``x**2`` a link or
emphasis. For docstrings only (the Markdown instance of mkdocstrings), this
hook adds a preprocessor that

- puts every doctest run (a ``>>>`` line, its continuations and expected
  output up to the next blank line) in a ``pycon`` code fence, and
- escapes the Markdown characters ``\\ * _ [ ] <`` outside code (fences,
  indented blocks and backtick spans).

The pages under docs/ are Markdown and are left alone.
"""
from __future__ import annotations

import re

from markdown import Extension
from markdown.preprocessors import Preprocessor
from mkdocs.plugins import event_priority

FENCE = re.compile(r"^\s*(```|~~~)")
SPAN = re.compile(r"(`+)(.+?)\1")
SPECIAL = re.compile(r"([\\*_\[\]])")
LIST_ITEM = re.compile(r"^\s*([-*+]|\d+[.)])\s")


def escape_text(line: str) -> str:
    """Escape Markdown specials outside backtick spans.

    >>> print(escape_text("c[alpha][m] and x**2 in ``net[0]``"))
    c\\[alpha\\]\\[m\\] and x\\*\\*2 in ``net[0]``
    """
    out, pos = [], 0
    for m in SPAN.finditer(line):
        out.append(SPECIAL.sub(r"\\\1", line[pos:m.start()]).replace("<", "&lt;"))
        out.append(m.group(0))
        pos = m.end()
    out.append(SPECIAL.sub(r"\\\1", line[pos:]).replace("<", "&lt;"))
    return "".join(out)


def plain_docstring(lines: list[str]) -> list[str]:
    """Fence doctest runs and escape the rest of a plain-text docstring.

    >>> plain_docstring(["text [1]", ">>> f(1)", "2", "", "more"])[1:]
    ['', '```pycon', '>>> f(1)', '2', '```', '', '', 'more']
    """
    out, in_fence, in_test, in_code, in_list, indent, prev = [], False, False, False, False, "", ""
    for line in lines:
        lead = len(line) - len(line.lstrip())
        if in_test:
            if line.strip() and line.startswith(indent):
                out.append(line)
                continue
            out += [indent + "```", ""]
            in_test = False
        if FENCE.match(line):
            in_fence = not in_fence
            out.append(line)
        elif in_fence:
            out.append(line)
        elif line.lstrip().startswith(">>>"):
            indent = line[:lead]
            out += ["", indent + "```pycon", line]
            in_test = True
        elif not line.strip():
            out.append(line)
        else:
            if lead == 0:
                in_list = bool(LIST_ITEM.match(line))
            in_code = lead >= 4 and not in_list and (in_code or not prev.strip())
            out.append(line if in_code else escape_text(line))
        prev = line
    if in_test:
        out.append(indent + "```")
    return out


class _PlainDocstrings(Preprocessor):
    def run(self, lines):
        if "mkdocstrings_ids" not in self.md.treeprocessors:   # a page of docs/, not a docstring
            return lines
        return plain_docstring(lines)


class PlainDocstrings(Extension):
    """The Markdown extension that applies ``plain_docstring`` to docstrings."""

    def extendMarkdown(self, md):  # noqa: N802 (Markdown's API name)
        md.preprocessors.register(_PlainDocstrings(md), "polycom_plain_docstrings", 40)


@event_priority(100)   # before mkdocstrings reads the extension list
def on_config(config, **kwargs):
    config.markdown_extensions.append(PlainDocstrings())
    return config
