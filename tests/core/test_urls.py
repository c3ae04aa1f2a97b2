"""The one URL normaliser and the domain rules, as tables."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from c4scrapy.core.urls import (
    SiteRules,
    domain_matches,
    domain_set,
    normalize_url,
    registered_domain,
)

BASE = "https://www.example.com/dir/page.html"


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("other.html", "https://www.example.com/dir/other.html"),
        ("../up.html", "https://www.example.com/up.html"),
        ("/root", "https://www.example.com/root"),
        ("//cdn.example.org/a.js", "https://cdn.example.org/a.js"),
        ("  spaced.html\n", "https://www.example.com/dir/spaced.html"),
        ("a\tb\nc.html", "https://www.example.com/dir/abc.html"),
        ("#top", "https://www.example.com/dir/page.html"),
        ("?q=1#frag", "https://www.example.com/dir/page.html?q=1"),
        ("HTTP://EXAMPLE.COM:80/Path", "http://example.com/Path"),
        ("https://example.com:443/", "https://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://example.com", "https://example.com/"),
        ("/a b/c d.html", "https://www.example.com/a%20b/c%20d.html"),
        ("https://bücher.example/straße", "https://xn--bcher-kva.example/stra%C3%9Fe"),
        ("/p?utm_source=x&id=3&utm_medium=y", "https://www.example.com/p?id=3"),
        ("/p?b=2&a=1", "https://www.example.com/p?b=2&a=1"),
        ("/p?fbclid=abc", "https://www.example.com/p"),
        ("http://user:pw@host.example/x", "http://user:pw@host.example/x"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        ("http://127.0.0.1:8000/x", "http://127.0.0.1:8000/x"),
        ("/" + "a" * 5000, "https://www.example.com/" + "a" * 5000),
        # resolved as browsers do (RFC 3986), not as urllib's urljoin does
        ("b//c.html", "https://www.example.com/dir/b//c.html"),
        ("./a/./b/../c", "https://www.example.com/dir/a/c"),
        ("../../../x", "https://www.example.com/x"),
        ("..", "https://www.example.com/"),
    ],
)
def test_normalize_url(href: str, expected: str) -> None:
    assert normalize_url(href, BASE) == expected


@pytest.mark.parametrize(
    "href",
    [
        "",
        "   ",
        "mailto:someone@example.com",
        "tel:+123",
        "javascript:void(0)",
        " JavaScript:alert(1)",
        "data:image/png;base64,AAAA",
        "ftp://example.com/file",
        "http://[::1",
        "http://example.com:99999/",
        "http:///nohost",
        "https://",
    ],
)
def test_normalize_url_rejects_non_web_and_malformed(href: str) -> None:
    assert normalize_url(href, BASE) is None


def test_normalize_url_keep_fragment() -> None:
    assert normalize_url("#sec", BASE, keep_fragment=True) == BASE + "#sec"


@pytest.mark.parametrize(
    ("host", "site"),
    [
        ("example.com", "example.com"),
        ("www.example.com", "example.com"),
        ("a.b.example.com", "example.com"),
        ("forums.news.cnn.co.uk", "cnn.co.uk"),
        ("user.github.io", "user.github.io"),
        ("other.github.io", "other.github.io"),
        ("foo.blogspot.com", "foo.blogspot.com"),
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "::1"),
        ("localhost", "localhost"),
        ("intranet", "intranet"),
        ("host.docker.internal", "docker.internal"),
        ("WWW.Example.COM.", "example.com"),
        ("", ""),
    ],
)
def test_registered_domain(host: str, site: str) -> None:
    assert registered_domain(host) == site


# Look-alike cases in the spirit of Scrapy's offsite middleware tests.
@pytest.mark.parametrize(
    ("page", "link_host", "internal"),
    [
        ("https://example.com/", "example.com", True),
        ("https://example.com/", "www.example.com", True),
        ("https://www.example.com/", "blog.example.com", True),
        ("https://example.com/", "notexample.com", False),
        ("https://example.com/", "example.com.evil.org", False),
        ("https://example.com/", "wwwexample.com", False),
        ("https://a.example.co.uk/", "b.example.co.uk", True),
        ("https://a.example.co.uk/", "example.co.uk.evil.com", False),
        ("https://alice.github.io/", "bob.github.io", False),
        ("https://alice.github.io/", "alice.github.io", True),
        ("http://127.0.0.1:8000/", "127.0.0.1", True),
        ("http://127.0.0.1:8000/", "127.0.0.2", False),
        ("http://localhost:8000/", "localhost", True),
    ],
)
def test_internal_classification(page: str, link_host: str, internal: bool) -> None:
    assert SiteRules(page).is_internal(link_host) is internal


def test_internal_domains_extend_the_site() -> None:
    rules = SiteRules("https://example.com/", internal_domains=("example.org",))
    assert rules.is_internal("docs.example.org")
    assert not rules.is_internal("example.net")


@pytest.mark.parametrize(
    ("host", "domains", "matches"),
    [
        ("facebook.com", ("facebook.com",), True),
        ("m.facebook.com", ("facebook.com",), True),
        ("www.linkedin.com", ("linkedin.com",), True),
        ("notfacebook.com", ("facebook.com",), False),
        ("facebook.com.evil.org", ("facebook.com",), False),
        ("cdn.other.org", ("cdn.other.org",), True),
        ("img.cdn.other.org", ("cdn.other.org",), True),
        ("other.org", ("cdn.other.org",), False),
        ("x.com", ("x.com",), True),
        ("box.com", ("x.com",), False),
        ("", ("x.com",), False),
    ],
)
def test_domain_matches_on_label_boundary(host: str, domains: tuple[str, ...], matches: bool):
    assert domain_matches(host, domain_set(domains)) is matches


def test_domain_set_normalises_entries() -> None:
    assert domain_set(("*.Example.com.", "Bücher.example")) == {
        "example.com",
        "xn--bcher-kva.example",
    }


@pytest.mark.parametrize(
    ("page", "host", "exclude_external", "reason"),
    [
        ("https://example.com/", "twitter.com", False, "social"),
        ("https://example.com/", "mobile.twitter.com", False, "social"),
        ("https://example.com/", "ads.example.net", False, "domain"),
        ("https://example.com/", "example.net", False, None),
        ("https://example.com/", "github.com", True, "external"),
        ("https://example.com/", "www.example.com", True, None),
    ],
)
def test_exclusion_reasons(page, host, exclude_external, reason) -> None:
    rules = SiteRules(page, exclude_domains=("ads.example.net",), social_domains=("twitter.com",))
    internal = rules.is_internal(host)
    assert rules.exclusion(host, internal, exclude_external=exclude_external) == reason


RESOLVER_BASES = [
    "https://www.example.com/dir/page.html",
    "https://www.example.com/dir/page.html?a=1&b=2",
    "http://127.0.0.1:8765/docs/",
    "https://example.com",
    "HTTPS://Example.COM:443/Dir/",
    "https://example.com/a%20b/",
    "https://bücher.example/x/",
]
RESOLVER_HREFS = [
    "",
    "#",
    "#frag",
    "?",
    "?q=1",
    "?q=1#f",
    "/",
    "/abs",
    "/abs?x=1#y",
    "rel.html",
    "rel/",
    "./rel",
    "../up",
    "/a/./b",
    "/a/../b",
    "a/.hidden",
    "//cdn.example.org/x",
    "https://other.org",
    "https://other.org?x",
    "https://other.org/p?",
    "https://Other.org/p",
    "http://other.org:8080/p",
    "http://user@other.org/",
    "https://other.org/p#f",
    "https://other.org/p?utm_source=x&a=1",
    "mailto:x@y",
    "javascript:void(0)",
    "tel:1",
    "HTTP://other.org/",
    " /spaced ",
    "a b",
    "ünï.html",
    "https://exa mple.com/",
    "http://[::1]/",
    "http://[::1",
    "x?fbclid=1",
    "p?a=1&b=2",
    "page.html?",
    "..",
    ".",
    "/.",
    "b//c",
    "a/../b",
    "./a/./b/../c?x=1#f",
    "../../../../z",
    "/a/b/../../../c/",
    "https://other.org/a/./b/../c",
    "https://other.org#f",
    "https://other.org?a#f",
    "http://a_b.other.org/",
    "http://exAmple.org/",
    "http://other.org:80/",
    "page#",
    ".hidden",
    "a?utm_source=1#f",
    "a#utm_x",
    "x/y:z",
    "%zz",
    "%41",
    "a:b",
    "http:relative",
]


@pytest.mark.parametrize("base", RESOLVER_BASES)
@pytest.mark.parametrize("keep_fragment", [False, True])
def test_resolver_fast_path_equals_normalize_url(base: str, keep_fragment: bool) -> None:
    from c4scrapy.core.urls import UrlResolver

    resolver = UrlResolver(base, keep_fragment=keep_fragment)
    for href in RESOLVER_HREFS:
        expected = normalize_url(href, base, keep_fragment=keep_fragment)
        got = resolver.resolve(href)
        assert (got[0] if got else None) == expected, href
        if got:
            assert got[1] == urlsplit(got[0]).hostname, href
