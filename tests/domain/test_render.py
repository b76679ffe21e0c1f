"""Markdown to safe HTML: ordinary documents render, hostile ones come out inert.

Every hostile case parses the output as a browser would (html.parser) and looks at the tags and
attributes it would build, rather than only searching the string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plenary.domain.render import _sanitise, render, render_sections

REL = "noopener noreferrer nofollow"
SAFE_SCHEMES = {"http", "https", "mailto"}
DANGEROUS_TAGS = {
    "script",
    "iframe",
    "frame",
    "object",
    "embed",
    "style",
    "form",
    "input",
    "button",
    "svg",
    "math",
    "img",
    "link",
    "meta",
    "base",
    "textarea",
    "select",
}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcset", "data", "poster"}


@dataclass
class Parsed:
    tags: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    text: str = ""

    def names(self) -> set[str]:
        return {tag for tag, _ in self.tags}

    def attributes(self) -> set[str]:
        return {name for _, attrs in self.tags for name in attrs}

    def urls(self) -> list[str]:
        return [
            value or ""
            for _, attrs in self.tags
            for name, value in attrs.items()
            if name in URL_ATTRIBUTES
        ]

    def links(self) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.tags if tag == "a"]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parsed = Parsed()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parsed.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parsed.tags.append((tag, dict(attrs)))

    def handle_comment(self, data: str) -> None:
        self.parsed.comments.append(data)

    def handle_data(self, data: str) -> None:
        self.parsed.text += data


def parse(html: str) -> Parsed:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.parsed


_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")


def scheme(url: str) -> str | None:
    """The scheme a browser would see (WHATWG URL parsing), or None for a relative URL.

    Browsers trim leading and trailing C0 controls and spaces and drop every tab and newline
    before looking for the scheme, which is how `java\\tscript:` works as an attack.
    """
    url = url.strip("".join(chr(c) for c in range(0x21)))
    url = re.sub(r"[\t\n\r]", "", url)
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else None


def assert_inert(html: str) -> Parsed:
    """No dangerous element, no event handler, no style, no URL with an unsafe scheme."""
    parsed = parse(html)
    assert not parsed.names() & DANGEROUS_TAGS, html
    assert not {a for a in parsed.attributes() if a.startswith("on")}, html
    assert "style" not in parsed.attributes(), html
    assert "srcdoc" not in parsed.attributes(), html
    assert not parsed.comments, html
    for url in parsed.urls():
        assert scheme(url) in SAFE_SCHEMES | {None}, (url, html)
    for link in parsed.links():
        assert link.get("rel") == REL, html
    assert "\x00" not in html
    return parsed


# --- ordinary documents -------------------------------------------------------------------


def test_headings_paragraphs_and_emphasis() -> None:
    html = render("# Vision\n\n## Access\n\nSee a **GP** within *a week*, ~~a month~~.\n")
    assert html.startswith("<h1>Vision</h1>")
    assert "<h2>Access</h2>" in html
    assert "<strong>GP</strong>" in html
    assert "<em>a week</em>" in html
    assert "<s>a month</s>" in html
    assert_inert(html)


def test_lists_quotes_and_rules() -> None:
    html = render("- one\n- two\n\n3. three\n4. four\n\n> quoted\n\n---\n\nline  \nbreak\n")
    parsed = assert_inert(html)
    assert ("ol", {"start": "3"}) in parsed.tags
    assert {"ul", "ol", "li", "blockquote", "hr", "br"} <= parsed.names()


def test_tables_keep_alignment_without_style() -> None:
    html = render("| Item | Cost |\n|:-----|-----:|\n| Nurses | £4m |\n")
    parsed = assert_inert(html)
    assert {"table", "thead", "tbody", "tr", "th", "td"} <= parsed.names()
    assert ("th", {"align": "right"}) in parsed.tags
    assert ("td", {"align": "left"}) in parsed.tags


def test_code_keeps_its_content_as_escaped_text() -> None:
    html = render("```html\n<script>alert(1)</script>\n```\n\nand `<b>inline</b>`\n")
    parsed = assert_inert(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" in parsed.text
    assert "<b>inline</b>" in parsed.text
    assert "b" not in parsed.names()
    assert ("code", {}) in parsed.tags  # the language class is dropped


def test_links_keep_safe_hrefs_and_gain_rel() -> None:
    html = render(
        '[plan](https://example.org/plan "The plan") [old](http://example.org) '
        "[mail](mailto:chair@example.org) [here](#access) [rel](/docs/vision) "
        "<https://example.org/auto>\n"
    )
    links = assert_inert(html).links()
    assert [link["href"] for link in links] == [
        "https://example.org/plan",
        "http://example.org",
        "mailto:chair@example.org",
        "#access",
        "/docs/vision",
        "https://example.org/auto",
    ]
    assert links[0]["title"] == "The plan"
    assert all(link["rel"] == REL for link in links)


def test_images_become_links_to_them() -> None:
    """An <img> would fetch from its host on every phone, leaking each reader's IP address."""
    parsed = assert_inert(
        render('![Site *map*](https://example.org/map.png "Map") ![](https://x.org/a.png)')
    )
    assert "img" not in parsed.names()
    assert [link["href"] for link in parsed.links()] == [
        "https://example.org/map.png",
        "https://x.org/a.png",
    ]
    assert "Site map" in parsed.text
    assert "https://x.org/a.png" in parsed.text  # no alt text: the URL stands in for it


def test_empty_document() -> None:
    assert render("") == ""
    assert render_sections([]) == ()


# --- hostile input ------------------------------------------------------------------------

HOSTILE = {
    "script": "<script>alert(1)</script>",
    "script block": "<script>\nalert(1)\n</script>\n",
    "img onerror": "<img src=x onerror=alert(1)>",
    "svg onload": "<svg onload=alert(1)><circle/></svg>",
    "iframe": '<iframe src="https://evil.example"></iframe>',
    "iframe srcdoc": '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "object": '<object data="javascript:alert(1)"></object>',
    "embed": '<embed src="javascript:alert(1)">',
    "style": "<style>body{background:url(javascript:alert(1))}</style>",
    "style attribute": '<p style="background:url(javascript:alert(1))">x</p>',
    "form": '<form action="javascript:alert(1)"><button>go</button></form>',
    "raw javascript href": '<a href="javascript:alert(1)">x</a>',
    "raw onclick": '<a href="https://ok.example" onclick="alert(1)">x</a>',
    "md javascript": "[x](javascript:alert(1))",
    "md mixed case": "[x](JaVaScRiPt:alert(1))",
    "md tab entity": "[x](java&#09;script:alert(1))",
    "md newline entity": "[x](java&#10;script:alert(1))",
    "md leading spaces": "[x](  javascript:alert(1))",
    "md angle destination": "[x](<javascript:alert(1)>)",
    "md entity encoded": "[x](&#106;avascript:alert(1))",
    "md hex entity colon": "[x](javascript&#x3A;alert(1))",
    "md named entity colon": "[x](javascript&colon;alert(1))",
    "md percent encoded": "[x](javascript%3Aalert(1))",
    "md vbscript": "[x](vbscript:msgbox(1))",
    "md data html": "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "md data image link": "[x](data:image/svg+xml;base64,PHN2Zy8+)",
    "md image javascript": "![x](javascript:alert(1))",
    "md image data": "![x](data:image/png;base64,iVBORw0KGgo=)",
    "md file": "[x](file:///etc/passwd)",
    "autolink javascript": "<javascript:alert(1)>",
    "autolink vbscript": "<vbscript:msgbox(1)>",
    "autolink data": "<data:text/html,<script>alert(1)</script>>",
    "reference javascript": "[x][evil]\n\n[evil]: javascript:alert(1)\n",
    "reference titled": '[x][evil]\n\n[evil]: JAVASCRIPT:alert(1) "t"\n',
    "html comment": "<!-- secret -->\n\ntext <!-- inline -->",
    "comment breakout": "<!--><script>alert(1)</script>-->",
    "title smuggling": '[x](http://a "\\" onmouseover=\\"alert(1)")',
    "title smuggling single": "[x](http://a '\\' onmouseover=alert(1) x=\\'')",
    "title with tag": '[x](http://a "<script>alert(1)</script>")',
    "link text with html": "[<img src=x onerror=alert(1)>](http://a)",
    "nested unclosed": "<div><p><a href='javascript:alert(1)'><b><i>x",
    "unclosed script": "<script>alert(1)",
    "split tag": "<scr<script>ipt>alert(1)</script>",
    "null bytes": "<scr\x00ipt>alert(1)</script>\x00[x](java\x00script:alert(1))",
    "null in href": "[x](javascript\x00:alert(1))",
    "math": "<math><mi xlink:href='javascript:alert(1)'>x</mi></math>",
    "meta refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "base": '<base href="javascript:alert(1)//">',
    "table cell html": "| a |\n|---|\n| <img src=x onerror=alert(1)> |\n",
    "heading html": "# <script>alert(1)</script>\n",
    "code fence info": '```"><script>alert(1)</script>\nx\n```\n',
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_is_inert(text: str) -> None:
    assert_inert(render(text))


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](java&#09;script:alert(1))",
        "[x](  javascript:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x][r]\n\n[r]: javascript:alert(1)\n",
        "![x](javascript:alert(1))",
    ],
)
def test_dangerous_link_targets_never_reach_an_href(text: str) -> None:
    """The link text stays; any href left is relative (`java%09script:` is a path) or safe."""
    parsed = assert_inert(render(text))
    assert "x" in parsed.text
    for url in parsed.urls():
        assert scheme(url) in SAFE_SCHEMES | {None}, url


def test_raw_html_shows_as_text() -> None:
    parsed = assert_inert(render("<b>bold?</b> <script>alert(1)</script>"))
    assert "<b>bold?</b>" in parsed.text
    assert "<script>alert(1)</script>" in parsed.text
    assert parsed.names() == {"p"}


def test_title_cannot_add_attributes() -> None:
    parsed = assert_inert(render('[x](http://a "\\" onmouseover=\\"alert(1)")'))
    assert parsed.links() == [{"href": "http://a", "title": '" onmouseover="alert(1)', "rel": REL}]


def test_the_sanitiser_runs_on_its_own() -> None:
    """Defence in depth: were the parser ever to pass HTML through, the cleaner still removes it."""
    dirty = (
        '<p onclick="x()">a<script>alert(1)</script><img src=x onerror=alert(1)>'
        '<a href="javascript:alert(1)" rel="opener">j</a><a href="https://ok.example">k</a>'
        '<iframe src="https://evil.example"></iframe><style>p{}</style><!-- c -->'
        '<table><tr><td style="color:red" align="justify">t</td><th align="right">h</th></tr>'
        "</table></p>"
    )
    html = _sanitise(dirty)
    parsed = assert_inert(html)
    assert "alert" not in html
    assert parsed.links() == [{"rel": REL}, {"href": "https://ok.example", "rel": REL}]
    assert ("th", {"align": "right"}) in parsed.tags
    assert ("td", {}) in parsed.tags


# --- sections -----------------------------------------------------------------------------


def test_render_sections_gives_one_string_per_section() -> None:
    sections = ["# Vision\n\nA city that cares.\n", "## Risks\n\n<script>alert(1)</script>\n", ""]
    html = render_sections(sections)
    assert len(html) == len(sections)
    assert html == tuple(render(text) for text in sections)
    assert html[0] == "<h1>Vision</h1>\n<p>A city that cares.</p>\n"
    assert "&lt;script&gt;" in html[1]
    for one in html:
        assert_inert(one)


def test_render_sections_keeps_each_section_to_itself() -> None:
    """An unclosed fence in one section must not swallow the next."""
    html = render_sections(["```\nunclosed", "# Next\n"])
    assert html[1] == "<h1>Next</h1>\n"


# --- property -----------------------------------------------------------------------------

FRAGMENTS = [
    *HOSTILE.values(),
    "#",
    "## ",
    "\n",
    "\n\n",
    "- ",
    "1. ",
    "> ",
    "*",
    "**",
    "_",
    "~~",
    "`",
    "```",
    "    ",
    "|",
    "|---|",
    "[",
    "]",
    "(",
    ")",
    "![",
    "](",
    "<",
    ">",
    '"',
    "'",
    "\\",
    "&",
    "&#",
    ";",
    ":",
    "&#106;",
    "&#x6A;",
    "&#09;",
    "&colon;",
    "&quot;",
    "javascript:",
    "JAVASCRIPT:",
    "vbscript:",
    "data:text/html,",
    "http://a.example/",
    "mailto:",
    "onerror=",
    "onload=",
    " onclick=",
    "<a href=",
    "<img src=x ",
    "<script>",
    "</script>",
    "<iframe>",
    "<style>",
    "<object>",
    "<!--",
    "-->",
    "[r]: ",
    "[r]",
    "\x00",
    "\t",
]

documents = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=40).map(
    "".join
)


@settings(max_examples=200, deadline=None)
@given(documents)
def test_any_document_renders_inert(text: str) -> None:
    assert_inert(render(text))


@settings(max_examples=50, deadline=None)
@given(st.lists(documents, max_size=5))
def test_any_sections_render_inert(texts: list[str]) -> None:
    html = render_sections(texts)
    assert len(html) == len(texts)
    for one in html:
        assert_inert(one)
