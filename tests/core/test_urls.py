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


EDGE_BASE = "http://example.com/dir/page.html"


#: ``new URL(href, base).href`` in Chromium 156 (bench/url_vs_chromium.py prints it), with
#: c4scrapy's own normalisation applied to it (no empty query, fragment kept here).
@pytest.mark.parametrize(
    ("href", "base", "chromium"),
    [
        ("\\", EDGE_BASE, "http://example.com/"),
        ("\\x.html", EDGE_BASE, "http://example.com/x.html"),
        ("\\\\evil.com/x", EDGE_BASE, "http://evil.com/x"),
        ("\\\\evil.com\\x\\y", EDGE_BASE, "http://evil.com/x/y"),
        ("a\\b\\c.html", EDGE_BASE, "http://example.com/dir/a/b/c.html"),
        ("..\\up.html", EDGE_BASE, "http://example.com/up.html"),
        ("/a\\..\\b", EDGE_BASE, "http://example.com/b"),
        ("?q=a\\b", EDGE_BASE, "http://example.com/dir/page.html?q=a\\b"),
        ("#frag\\x", EDGE_BASE, "http://example.com/dir/page.html#frag\\x"),
        ("http:\\\\host.com\\p", EDGE_BASE, "http://host.com/p"),
        ("https:\\\\host.com\\p", EDGE_BASE, "https://host.com/p"),
        ("http:foo.html", EDGE_BASE, "http://example.com/dir/foo.html"),
        ("http:/foo.html", EDGE_BASE, "http://example.com/foo.html"),
        ("https:foo.html", EDGE_BASE, "https://foo.html/"),
        ("http:///host.com/p", EDGE_BASE, "http://host.com/p"),
        ("///host.com/p", EDGE_BASE, "http://host.com/p"),
        ("//host.com", EDGE_BASE, "http://host.com/"),
        ("//", EDGE_BASE, None),
        ("///", EDGE_BASE, None),
        ("a\tb\nc\rd.html", EDGE_BASE, "http://example.com/dir/abcd.html"),
        ("ht\ttp://host.com/", EDGE_BASE, "http://host.com/"),
        ("\t\n /x.html \n\t", EDGE_BASE, "http://example.com/x.html"),
        ("\x00\x01/x.html\x1f ", EDGE_BASE, "http://example.com/x.html"),
        ("\x0b/x.html", EDGE_BASE, "http://example.com/x.html"),
        ("\xa0/x.html", EDGE_BASE, "http://example.com/dir/%C2%A0/x.html"),
        ("/x.html\xa0", EDGE_BASE, "http://example.com/x.html%C2%A0"),
        ("/%2e%2e/x", EDGE_BASE, "http://example.com/x"),
        ("/a/%2E/b", EDGE_BASE, "http://example.com/a/b"),
        ("/a/.%2e/b", EDGE_BASE, "http://example.com/b"),
        ("/a/b/..", EDGE_BASE, "http://example.com/a/"),
        ("/a/b/.", EDGE_BASE, "http://example.com/a/b/"),
        ("../../../../x", EDGE_BASE, "http://example.com/x"),
        ("/a b", EDGE_BASE, "http://example.com/a%20b"),
        ('/a"b<c>d`e{f}g|h^i', EDGE_BASE, "http://example.com/a%22b%3Cc%3Ed%60e%7Bf%7Dg%7Ch%5Ei"),
        ("/a%zzb", EDGE_BASE, "http://example.com/a%zzb"),
        ("/ä?ä#ä", EDGE_BASE, "http://example.com/%C3%A4?%C3%A4#%C3%A4"),
        ("?a=b c&d='e'", EDGE_BASE, "http://example.com/dir/page.html?a=b%20c&d=%27e%27"),
        ("http://HOST.com./", EDGE_BASE, "http://host.com./"),
        ("http://host.com:80/", EDGE_BASE, "http://host.com/"),
        ("http://host.com:/", EDGE_BASE, "http://host.com/"),
        ("https://host.com:443/", EDGE_BASE, "https://host.com/"),
        ("http://host.com:0080/", EDGE_BASE, "http://host.com/"),
        ("http://host.com:99999/", EDGE_BASE, None),
        ("http://user@host.com/", EDGE_BASE, "http://user@host.com/"),
        ("http://:pw@host.com/", EDGE_BASE, "http://:pw@host.com/"),
        ("http://host%2ecom/", EDGE_BASE, "http://host.com/"),
        ("http://0x7f.1/", EDGE_BASE, "http://127.0.0.1/"),
        ("http://2130706433/", EDGE_BASE, "http://127.0.0.1/"),
        ("http://127.1/", EDGE_BASE, "http://127.0.0.1/"),
        ("http://[::1]/", EDGE_BASE, "http://[::1]/"),
        ("http://[0:0::1]/", EDGE_BASE, "http://[::1]/"),
        ("http://bücher.example/", EDGE_BASE, "http://xn--bcher-kva.example/"),
        ("http://EXAMPLE.com/%7Euser", EDGE_BASE, "http://example.com/%7Euser"),
        ("javascript:alert(1)", EDGE_BASE, None),
        ("mailto:a@b.com", EDGE_BASE, None),
        ("data:text/html,x", EDGE_BASE, None),
        ("ftp://host.com/x", EDGE_BASE, None),
        ("HTTPS://Host.Com/X", EDGE_BASE, "https://host.com/X"),
        ("?", EDGE_BASE, EDGE_BASE),
        (".", EDGE_BASE, "http://example.com/dir/"),
        ("..", EDGE_BASE, "http://example.com/"),
        ("./", EDGE_BASE, "http://example.com/dir/"),
        ("x", "http://example.com", "http://example.com/x"),
        ("x", "http://example.com/a/b?q=1#f", "http://example.com/a/x"),
        ("?r=2", "http://example.com/a/b?q=1#f", "http://example.com/a/b?r=2"),
        ("#g", "http://example.com/a/b?q=1#f", "http://example.com/a/b?q=1#g"),
    ],
)
def test_resolves_as_chromium(href: str, base: str, chromium: str | None) -> None:
    from c4scrapy.core.urls import UrlCache, UrlResolver

    assert normalize_url(href, base, keep_fragment=True) == chromium
    resolved = UrlResolver(base, keep_fragment=True, cache=UrlCache()).resolve(href)
    assert (resolved[0] if resolved else None) == chromium


@pytest.mark.parametrize(
    ("href", "ours", "chromium"),
    [
        # not a link (Crawl4AI's rule too); a browser resolves it to the page itself
        ("", None, EDGE_BASE),
        # no bare "#": the same resource
        ("#", EDGE_BASE, EDGE_BASE + "#"),
        # Chromium writes %20 in the host, which no DNS name has; the WHATWG parser refuses
        ("http://a b.com/", None, "http://a%20b.com/"),
    ],
)
def test_differs_from_chromium_on_purpose(href: str, ours: str | None, chromium: str) -> None:
    assert normalize_url(href, EDGE_BASE, keep_fragment=True) == ours != chromium


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
    "https:other.org/p",
    "http:/x",
    "///other.org/p",
    "\\x.html",
    "\\\\other.org\\p",
    "?q=a\\b#c\\d",
    "http://127.1/",
    "http://0x7f.1/x",
    "http://other.org./",
    "/%2e%2e/x",
    "/a?b='c'",
    "a'b",
    "\x00/x\x1f",
    "\xa0/x",
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


def test_a_link_with_a_fragment_is_resolved_once_for_both_resolvers_of_a_page() -> None:
    from c4scrapy.core.urls import UrlCache, UrlResolver

    cache = UrlCache()
    base = "http://example.com/dir/page.html"
    plain = UrlResolver(base, cache=cache)
    assert plain.resolve("other.html#part") == ("http://example.com/dir/other.html", "example.com")
    # the links resolver (no fragments) left the fragment-keeping result for cleaned_html's
    assert cache.page(base, True)["other.html#part"] == (
        "http://example.com/dir/other.html#part",
        "example.com",
    )
    assert UrlResolver(base, keep_fragment=True, cache=cache).resolve("other.html#part") == (
        "http://example.com/dir/other.html#part",
        "example.com",
    )
