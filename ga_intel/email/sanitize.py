"""The allowlist every rendered report passes through (issue 15, finding 2).

A tenant admin writes whole HTML templates; Jinja's autoescape covers the variables, not
the template's own markup. So the rendered report, after CSS inlining, keeps only the
tags and attributes an email needs: no script, no event handlers, no forms, no frames,
no `javascript:` links. What the dashboard shows and what SMTP sends is this output.
"""

from __future__ import annotations

import nh3

TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "center",
        "code",
        "col",
        "colgroup",
        "div",
        "em",
        "font",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
    }
)
_COMMON = {
    "style",
    "class",
    "align",
    "valign",
    "width",
    "height",
    "bgcolor",
    "border",
    "dir",
    "lang",
    "title",
    "role",
    "color",
}
ATTRIBUTES = {
    "*": _COMMON,
    "a": {"href", "target", "name"},
    "img": {"src", "alt"},
    "table": {"cellpadding", "cellspacing", "summary"},
    "td": {"colspan", "rowspan", "nowrap"},
    "th": {"colspan", "rowspan", "nowrap", "scope"},
    "font": {"face", "size"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "cid"})
# Dropped with everything inside them, not just their tags.
DROP_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "title",
        "head",
        "template",
        "iframe",
        "object",
        "noscript",
        "textarea",
        "select",
        "svg",
        "math",
    }
)


def clean_html(html: str) -> str:
    """`html` (a whole document or a fragment) as an allowlisted document."""
    body = nh3.clean(
        html,
        tags=set(TAGS),
        attributes={k: set(v) for k, v in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        clean_content_tags=set(DROP_WITH_CONTENT),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>\n'
        f"<body>{body}</body></html>\n"
    )
