"""Images, videos and audios (c4scrapy.core.media) on HTML snippets."""

from __future__ import annotations

from collections import Counter
from typing import Any

import lxml.html
import pytest

from c4scrapy import extract_page
from c4scrapy.core.config import CrawlerRunConfig
from c4scrapy.core.media import extract_media, parse_srcset, url_format
from c4scrapy.core.page import parse_html
from c4scrapy.core.urls import SiteRules

PAGE = "https://example.com/news/story.html"
BIG = 'width="400" height="300"'


def run(
    body: str, url: str = PAGE, *, skip: Any = frozenset(), **config: Any
) -> tuple[dict[str, list[dict[str, Any]]], Counter[str]]:
    cfg = CrawlerRunConfig.from_mapping(config)
    doc = parse_html(f"<html><body>{body}</body></html>", url)
    rules = SiteRules(url, exclude_domains=cfg.exclude_domains)
    counts: Counter[str] = Counter()
    return extract_media([doc], url, cfg, rules, skip=skip, counts=counts), counts


def srcs(body: str, **config: Any) -> list[str]:
    return [image["src"] for image in run(body, **config)[0]["images"]]


def test_image_fields() -> None:
    media, counts = run(
        f'<figure><img src="/img/cat.jpg" alt=" A  cat " {BIG}><figcaption>The cat.</figcaption>'
        "</figure>"
    )
    assert media["images"] == [
        {
            "src": "https://example.com/img/cat.jpg",
            "alt": "A cat",
            "desc": "The cat.",
            "score": 5,
            "type": "image",
            "group_id": 0,
            "format": "jpg",
            "width": 400,
            "height": 300,
        }
    ]
    assert media["videos"] == media["audios"] == []
    assert counts == Counter({"images/found": 1, "images/kept": 1, "videos": 0, "audios": 0})


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            f'<img src="a/b.png" {BIG}>', ["https://example.com/news/a/b.png"], id="relative"
        ),
        pytest.param(
            f'<img src="//cdn.example.org/x.png" {BIG}>',
            ["https://cdn.example.org/x.png"],
            id="protocol-relative",
        ),
        pytest.param(
            f'<img src="data:image/gif;base64,R0lGODlh" data-src="/real.jpg" {BIG}>',
            ["https://example.com/real.jpg"],
            id="data-placeholder+data-src",
        ),
        pytest.param(
            f'<img src="data:image/png;base64,AAAA" {BIG} alt="only data">', [], id="data-only"
        ),
        pytest.param(
            f'<img data-lazy-src="/lazy.jpg" {BIG}>',
            ["https://example.com/lazy.jpg"],
            id="data-lazy-src",
        ),
        pytest.param(
            f'<img src="" data-original="/orig.jpg" {BIG}>',
            ["https://example.com/orig.jpg"],
            id="data-original",
        ),
        pytest.param(
            f'<img data-srcset="/s1.jpg 1x, /s2.jpg 2x" {BIG}>',
            ["https://example.com/s1.jpg", "https://example.com/s2.jpg"],
            id="data-srcset",
        ),
        pytest.param(
            f'<img src="/a.jpg" data-flag-src="true" data-hi-src="/hi.jpg" {BIG}>',
            ["https://example.com/a.jpg", "https://example.com/hi.jpg"],
            id="other-data-src-attributes",
        ),
        pytest.param(
            f'<img src="/a.jpg" srcset="/a.jpg 1x, /a2.jpg 2x" {BIG}>',
            ["https://example.com/a.jpg", "https://example.com/a2.jpg"],
            id="srcset-dedup",
        ),
        pytest.param(
            f'<img srcset="https://cdn.example.com/w_300,h_200/a.jpg 300w, '
            f'https://cdn.example.com/w_600,h_400/a.jpg 600w" {BIG}>',
            [
                "https://cdn.example.com/w_300,h_200/a.jpg",
                "https://cdn.example.com/w_600,h_400/a.jpg",
            ],
            id="srcset-commas-in-urls",
        ),
        pytest.param(
            f'<img src="/a.jpg" {BIG}><img src="/a.jpg#x" {BIG}>',
            ["https://example.com/a.jpg"],
            id="one-item-per-url",
        ),
        pytest.param(
            f'<img src="javascript:void(0)" {BIG} alt="x"><img src="/ok.png" {BIG}>',
            ["https://example.com/ok.png"],
            id="non-web",
        ),
    ],
)
def test_image_urls(body: str, expected: list[str]) -> None:
    assert srcs(body) == expected


def test_variant_order_and_sizes() -> None:
    body = (
        '<picture><source type="image/avif" srcset="/p.avif 1x, /p2.avif 2x" width="200">'
        '<source srcset="/p?id=1" type="image/webp">'
        '<img src="/a.jpg" data-src="/d.jpg" srcset="/s300.jpg 300w, /s800.jpg 800.5w" '
        'data-srcset="/ds.jpg 2x" data-lazy-src="https://cdn.example.com/l.jpg" '
        'width="400" height="200" alt="pic"></picture>'
    )
    images = run(body)[0]["images"]
    got = [(i["src"].rsplit("/", 1)[1], i["format"], i["width"], i["height"]) for i in images]
    assert got == [
        ("a.jpg", "jpg", 400, 200),
        ("d.jpg", "jpg", 400, 200),
        ("s300.jpg", "jpg", 300, 150),
        ("s800.jpg", "jpg", 800, 400),
        ("ds.jpg", "jpg", 800, 400),
        ("p.avif", "avif", 200, 200),
        ("p2.avif", "avif", 400, 400),
        ("p?id=1", "webp", 400, 200),
        ("l.jpg", "jpg", 400, 200),
    ]
    assert {i["group_id"] for i in images} == {0}
    assert {i["score"] for i in images} == {7}


def test_noscript_copies_are_kept_once() -> None:
    body = (
        f'<img class="lazy" src="data:image/gif;base64,R0l" data-src="/a.jpg" alt="A" {BIG}>'
        f'<noscript><img src="/a.jpg" alt="A" {BIG}></noscript>'
        f'<img src="/b.jpg" alt="B" {BIG}>'
        f'<noscript><img src="/only-noscript.jpg" alt="C" {BIG}></noscript>'
    )
    media, counts = run(body)
    assert [(i["src"], i["group_id"]) for i in media["images"]] == [
        ("https://example.com/a.jpg", 0),
        ("https://example.com/b.jpg", 2),
        ("https://example.com/only-noscript.jpg", 3),
    ]
    assert counts["images/found"] == 4
    assert counts["images/kept"] == 3


@pytest.mark.parametrize(
    "img",
    [
        pytest.param('<img src="/a.jpg" style="display:none" {big}>', id="display:none"),
        pytest.param('<img src="/a.jpg" style="color: red; DISPLAY : none" {big}>', id="spaced"),
        pytest.param('<img src="/a.jpg" hidden {big}>', id="hidden-attribute"),
        pytest.param('<button><img src="/a.jpg" {big}></button>', id="parent-button"),
        pytest.param('<a class="site-Logo"><img src="/a.jpg" {big}></a>', id="parent-class"),
        pytest.param('<span class="btn iconic"><img src="/a.jpg" {big}></span>', id="icon-class"),
        pytest.param('<img src="/img/icons/search.png" {big}>', id="icon-in-src"),
        pytest.param('<img src="/img/Site-LOGO.png" {big}>', id="logo-in-src-any-case"),
        pytest.param('<img src="/a.jpg" alt="Subscribe button" {big}>', id="button-in-alt"),
        pytest.param(
            '<img src="data:image/gif;base64,R0l" data-src="/logo.png" {big}>', id="lazy-logo"
        ),
    ],
)
def test_filtered_images(img: str) -> None:
    assert srcs(f'<p><img src="/a.jpg" {BIG}></p>')  # kept without the reason to drop it
    media, counts = run(f"<p>{img.format(big=BIG)}</p>")
    assert media["images"] == []
    assert counts["images/dropped/filter"] == 1


def test_hidden_parent_does_not_hide() -> None:
    assert srcs(f'<div style="display:none"><img src="/a.jpg" {BIG}></div>')


@pytest.mark.parametrize(
    ("attrs", "score"),
    [
        pytest.param('src="/a"', 1, id="first-half-only"),
        pytest.param('src="/a" width="151"', 2, id="width"),
        pytest.param('src="/a" width="150" height="151px"', 2, id="height-not-width"),
        pytest.param('src="/a" width="auto" height="100%"', 1, id="junk-sizes"),
        pytest.param('src="/a" alt="x"', 2, id="alt"),
        pytest.param('src="/a" alt="  "', 1, id="blank-alt"),
        pytest.param('src="/a.webp"', 2, id="format"),
        pytest.param('src="/a.svg"', 1, id="svg-is-not-scored"),
        pytest.param('src="/a?fm=png"', 2, id="format-in-query"),
        pytest.param('src="data:image/gif;base64,R0l" data-src="/a"', 1, id="placeholder-no-fmt"),
        pytest.param('src="/a.svg" data-src="/a.png"', 2, id="format-from-data-src"),
        pytest.param('data-original="/a.jpg"', 2, id="format-from-lazy-url"),
        pytest.param('srcset="/a 1x"', 2, id="srcset"),
        pytest.param('src="/a" data-srcset="/b.gif 2x"', 3, id="data-srcset-with-format"),
    ],
)
def test_score_points(attrs: str, score: int) -> None:
    media, _ = run(f"<img {attrs}>", image_score_threshold=-1)
    assert media["images"][0]["score"] == score


def test_score_picture_and_position() -> None:
    body = "".join(f'<img src="/{i}.jpg">' for i in range(3)) + '<picture><img src="/p"></picture>'
    media, _ = run(body, image_score_threshold=-1)
    # first half (0, 1 of 4): +1; jpg: +1; picture: +1
    assert [i["score"] for i in media["images"]] == [2, 2, 1, 1]


def test_noscript_copies_do_not_shift_positions() -> None:
    body = (
        '<img data-src="/0.jpg"><noscript><img src="/0.jpg"></noscript>'
        '<img src="/1.jpg"><img src="/2.jpg">'
    )
    media, _ = run(body, image_score_threshold=-1)
    # positions 0, 1, 2 of 3 (the noscript copy is not counted): 1/3 is in the first half
    assert [i["score"] for i in media["images"]] == [2, 2, 1]


@pytest.mark.parametrize(
    ("threshold", "kept"),
    [
        (2, ["/big.jpg"]),
        (1, ["/big.jpg", "/plain.jpg"]),
        (0, ["/big.jpg", "/plain.jpg", "/one"]),
        (-1, ["/big.jpg", "/plain.jpg", "/one", "/z1", "/z2", "/z3"]),
    ],
)
def test_threshold(threshold: int, kept: list[str]) -> None:
    # scores 5, 2 (first half, jpg), 1 (first half), then three 0s (second half)
    body = f'<img src="/big.jpg" alt="a" {BIG}><img src="/plain.jpg"><img src="/one">' + "".join(
        f'<img src="/z{i}">' for i in (1, 2, 3)
    )
    media, counts = run(body, image_score_threshold=threshold)
    assert [i["src"].removeprefix("https://example.com") for i in media["images"]] == kept
    assert counts["images/dropped/score"] == 6 - len(kept)
    assert counts["images/kept"] == len(kept)


def test_exclude_external_images() -> None:
    body = (
        f'<img src="/own.jpg" {BIG}><img src="https://img.example.com/cdn.jpg" {BIG}>'
        f'<img src="https://ads.other.net/ad.jpg" {BIG}>'
        f'<img src="/own2.jpg" srcset="https://other.org/x.jpg 2x" {BIG}>'
    )
    assert len(srcs(body)) == 5
    media, counts = run(body, exclude_external_images=True)
    assert [i["src"] for i in media["images"]] == [
        "https://example.com/own.jpg",
        "https://img.example.com/cdn.jpg",
        "https://example.com/own2.jpg",
    ]
    assert counts["images/excluded/external"] == 2


def test_exclude_domains_applies_to_all_media() -> None:
    body = (
        f'<img src="https://cdn.ads.net/a.jpg" {BIG}><img src="/b.jpg" {BIG}>'
        '<video src="https://ads.net/v.mp4"></video><audio src="/a.mp3"></audio>'
    )
    media, counts = run(body, exclude_domains=["ads.net"])
    assert [i["src"] for i in media["images"]] == ["https://example.com/b.jpg"]
    assert media["videos"] == []
    assert [i["src"] for i in media["audios"]] == ["https://example.com/a.mp3"]
    assert counts["images/excluded/domain"] == 1
    assert counts["videos/excluded/domain"] == 1


def test_exclude_all_images_does_no_image_work() -> None:
    media, counts = run(
        f'<img src="/a.jpg" {BIG}><video src="/v.mp4"></video>', exclude_all_images=True
    )
    assert media["images"] == []
    assert len(media["videos"]) == 1
    assert "images/found" not in counts


@pytest.mark.parametrize(
    ("body", "desc"),
    [
        pytest.param(
            '<figure><div><span>Credit: AP</span><img src="/a.jpg"></div>'
            "<figcaption>The <b>real</b> caption</figcaption></figure>",
            "The real caption",
            id="figcaption-first",
        ),
        pytest.param(
            '<div><p>Intro</p><div><a><img src="/a.jpg"></a></div><p>After</p></div>',
            "Intro After",
            id="nearest-ancestor-with-text",
        ),
        pytest.param(
            '<div>Words<script>var x = "no";</script><style>p{}</style> more'
            '<img src="/a.jpg"></div>',
            "Words more",
            id="no-script-text",
        ),
        pytest.param(
            "<p>" + " ".join(f"w{i}" for i in range(30)) + '<img src="/a.jpg"></p>',
            " ".join(f"w{i}" for i in range(25)) + " …",
            id="cut-at-max-words",
        ),
        pytest.param(
            '<div><div><div><div><div><div><div><img src="/a.jpg"></div></div></div></div></div>'
            "</div>far away</div>",
            "",
            id="at-most-six-levels",
        ),
        pytest.param('<img src="/a.jpg">', "", id="never-body"),
        pytest.param(
            '<p>line one<br>line two<img src="/a.jpg"></p>', "line one line two", id="br"
        ),
    ],
)
def test_desc(body: str, desc: str) -> None:
    media, _ = run(body, image_score_threshold=-1)
    assert media["images"][0]["desc"] == desc


def test_desc_max_words_setting() -> None:
    body = '<p>one two three four<img src="/a.jpg"></p>'
    assert run(body, image_score_threshold=-1, image_description_max_words=2)[0]["images"][0][
        "desc"
    ] == ("one two …")
    assert run(body, image_score_threshold=-1, image_description_max_words=0)[0]["images"][0][
        "desc"
    ] == ("")


def test_video_and_audio() -> None:
    body = (
        '<figure><video src="clip.mp4" poster="/poster.jpg" width="640" height="360" '
        'title="A clip"><source src="clip.mp4" type="video/mp4">'
        '<source src="/stream?id=3" type="application/x-mpegURL"></video>'
        "<figcaption>The clip</figcaption></figure>"
        "<video></video>"
        '<video aria-label="second"><source data-src="/two.webm"></video>'
        '<audio controls><source src="/song.ogg" type="audio/ogg"><source src="/song.mp3"></audio>'
    )
    media, counts = run(body)
    videos = media["videos"]
    assert videos[0] == {
        "src": "https://example.com/news/clip.mp4",
        "alt": "A clip",
        "desc": "The clip",
        "score": None,
        "type": "video",
        "group_id": 0,
        "format": "mp4",
        "width": 640,
        "height": 360,
        "poster": "https://example.com/poster.jpg",
    }
    assert [(v["src"], v["format"], v["group_id"], v["alt"]) for v in videos[1:]] == [
        ("https://example.com/stream?id=3", "m3u8", 0, "A clip"),
        ("https://example.com/two.webm", "webm", 2, "second"),
    ]
    assert [(a["src"], a["format"], a["poster"], a["width"]) for a in media["audios"]] == [
        ("https://example.com/song.ogg", "ogg", None, None),
        ("https://example.com/song.mp3", "mp3", None, None),
    ]
    assert set(videos[0]) == set(media["audios"][0])
    assert counts["videos"] == 3
    assert counts["audios"] == 2


def test_skip_and_overlapping_roots() -> None:
    doc = parse_html(
        f'<div id="a"><div id="b"><img src="/1.jpg" {BIG}></div></div>'
        f'<div id="c"><img src="/2.jpg" {BIG}></div>',
        PAGE,
    )
    a, b = doc.get_element_by_id("a"), doc.get_element_by_id("b")
    skip = set(doc.get_element_by_id("c").iter())
    cfg = CrawlerRunConfig()
    counts: Counter[str] = Counter()
    media = extract_media([a, b], PAGE, cfg, SiteRules(PAGE), skip=skip, counts=counts)
    assert [i["src"] for i in media["images"]] == ["https://example.com/1.jpg"]
    assert counts["images/found"] == 1


def test_tree_is_not_modified() -> None:
    html = (
        f'<p>x<img src="data:," data-src="/a.jpg" {BIG}><noscript><img src="/a.jpg"></noscript>'
        f'<img src="/logo.png" style="display:none"></p><video src="/v.mp4"></video>'
    )
    doc = parse_html(html, PAGE)
    before = lxml.html.tostring(doc)
    extract_media([doc], PAGE, CrawlerRunConfig(exclude_external_images=True), SiteRules(PAGE))
    assert lxml.html.tostring(doc) == before


def test_extract_page_uses_base_href_and_prefixes_counters() -> None:
    counts: Counter[str] = Counter()
    item = extract_page(
        f'<html><head><base href="/static/"></head><body><img src="i/a.png" {BIG}></body></html>',
        "https://example.com/blog/post",
        {"image_score_threshold": 1},
        counts=counts,
    )
    assert [i["src"] for i in item.media["images"]] == ["https://example.com/static/i/a.png"]
    assert counts["media/images/kept"] == 1
    assert counts["media/images/found"] == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a.jpg", [("a.jpg", "")]),
        ("a.jpg 1x, b.jpg 2x", [("a.jpg", "1x"), ("b.jpg", "2x")]),
        ("a.jpg 100w,b.jpg 200w", [("a.jpg", "100w"), ("b.jpg", "200w")]),
        ("  , a.jpg, b.jpg 2x ,", [("a.jpg", ""), ("b.jpg", "2x")]),
        ("/c_fill,w_300/a.jpg 300w", [("/c_fill,w_300/a.jpg", "300w")]),
        ("a.jpg 300w (odd, stuff), b.jpg", [("a.jpg", "300w (odd, stuff)"), ("b.jpg", "")]),
        ("", []),
    ],
)
def test_parse_srcset(value: str, expected: list[tuple[str, str]]) -> None:
    assert parse_srcset(value) == expected


@pytest.mark.parametrize(
    ("url", "fmt"),
    [
        ("https://x.com/a.png?fmt=webp", "png"),
        ("https://x.com/img?fm=webp&w=3", "webp"),
        ("https://x.com/A.JPEG", "jpeg"),
        ("https://x.com/photo/jpg/123", "jpg"),
        ("https://x.com/a.php?img=b.gif", "gif"),
        ("https://x.com/a.svg", "svg"),
        ("https://x.com/pngimage/1", None),
        ("https://gif.example.com/photo", None),
        ("//cdn.png.net/a.webp?x=1", "webp"),
        ("https://x.com/a", None),
        ("data:image/gif;base64,R0l", None),
    ],
)
def test_url_format(url: str, fmt: str | None) -> None:
    from c4scrapy.core.media import IMAGE_FORMATS

    assert url_format(url, IMAGE_FORMATS) == fmt
