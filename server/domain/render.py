"""Strategy documents as safe HTML: Markdown in, sanitised HTML out, for phones and the projector.

Two layers, each enough on its own for what it covers:

1. markdown-it-py renders CommonMark plus tables and strikethrough with ``html=False``, so raw
   HTML that someone types is escaped as text, and its own link check drops ``javascript:``,
   ``vbscript:``, ``file:`` and ``data:`` destinations.
2. nh3 then cleans the result against an explicit allowlist. It runs even though layer 1 should
   never emit anything it would remove: a future option, plugin or parser bug must not be
   enough to put script on every phone in the room.

Images are never emitted. An ``<img>`` fetches its URL the moment the page shows, so a picture
from an arbitrary host would tell that host the IP address of every participant's phone at a
council event. ``![alt](url)`` becomes an ordinary link instead: nothing is lost, and the
reader decides whether to open it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

# Everything Markdown can produce with tables and strikethrough, minus <img> (see above).
# No div/span, no iframe/object/embed, no style, no form controls.
_TAGS = frozenset(
    {
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "strong",
        "em",
        "del",
        "s",
        "code",
        "pre",
        "blockquote",
        "a",
        "hr",
        "br",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    }
)
# Only these attributes, on only these tags. `ol start` keeps "3. …" lists numbered from 3;
# `rel` is not listed because nh3 sets it itself (link_rel) and drops any the input carries.
_ATTRIBUTES = {"a": frozenset({"href", "title"}), "ol": frozenset({"start"})}
# Column alignment survives as `align` with one of three fixed values, never as `style`.
_ALIGNS = frozenset({"left", "center", "right"})
_ALIGN_VALUES = {"th": {"align": _ALIGNS}, "td": {"align": _ALIGNS}}
_URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Elements dropped together with their content, should any ever reach the cleaner.
_CLEAN_CONTENT_TAGS = frozenset({"script", "style"})
# noopener/noreferrer: the linked page gets no handle on ours and no Referer naming the event;
# nofollow: the document is user content, not an endorsement.
_LINK_REL = "noopener noreferrer nofollow"

_ALIGN_STYLE = re.compile(r"text-align:(left|center|right)")


def _images_as_links(state: StateCore) -> None:
    """Replace each image with a link to it whose text is the image's alt text (or its URL)."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        out: list[Token] = []
        for token in block.children:
            if token.type != "image":
                out.append(token)
                continue
            src = str(token.attrGet("src") or "")
            attrs: dict[str, str | int | float] = {"href": src}
            title = token.attrGet("title")
            if title:
                attrs["title"] = title
            out.append(Token("link_open", "a", 1, attrs=attrs))
            out.extend(token.children or [Token("text", "", 0, content=src)])
            out.append(Token("link_close", "a", -1))
        block.children = out


def _align_attributes(state: StateCore) -> None:
    """Turn the table plugin's `style="text-align:…"` into `align="…"`, so no style is needed."""
    for token in state.tokens:
        if token.type not in ("th_open", "td_open"):
            continue
        style = token.attrs.pop("style", None)
        match = _ALIGN_STYLE.fullmatch(str(style)) if style is not None else None
        if match:
            token.attrSet("align", match.group(1))


# Built once: configuring the parser costs far more than rendering a section.
_MD = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    .enable(["table", "strikethrough"])
    .disable(["html_block", "html_inline"])
)
_MD.core.ruler.push("plenary_images_as_links", _images_as_links)
_MD.core.ruler.push("plenary_align_attributes", _align_attributes)


def _sanitise(html: str) -> str:
    """The allowlist cleaner alone, on any HTML fragment."""
    return nh3.clean(
        html,
        tags=set(_TAGS),
        clean_content_tags=set(_CLEAN_CONTENT_TAGS),
        attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
        tag_attribute_values={
            tag: {name: set(values) for name, values in by_name.items()}
            for tag, by_name in _ALIGN_VALUES.items()
        },
        url_schemes=set(_URL_SCHEMES),
        url_relative="pass_through",
        link_rel=_LINK_REL,
        strip_comments=True,
    )


def render(markdown: str) -> str:
    """The whole document's Markdown as sanitised HTML."""
    return _sanitise(_MD.render(markdown))


def render_sections(texts: Sequence[str]) -> tuple[str, ...]:
    """Each section's Markdown rendered on its own, one HTML string per section, in order."""
    return tuple(render(text) for text in texts)
