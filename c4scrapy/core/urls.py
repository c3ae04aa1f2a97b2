"""The one URL normaliser (as browsers resolve hrefs) and the one set of domain rules.

See docs/features/links.rst."""

from __future__ import annotations

import ipaddress
import re
from collections import OrderedDict
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import tldextract
from w3lib.url import safe_url_string

from c4scrapy.core.addresses import is_ip_address, parse_ipv4

if TYPE_CHECKING:
    from c4scrapy.core.config import CrawlerRunConfig

#: Query parameters that only track the visitor; removed so that links deduplicate.
TRACKING_PARAMS = frozenset(
    {"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "gclid", "fbclid"}
)

_WEB_SCHEMES = frozenset({"http", "https"})
_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*"
_SCHEME_RE = re.compile(rf"^({_SCHEME}):")
#: What a URL may hold as written, besides ``#`` (w3lib percent-encodes anything else).
_URL_CHARS = r"A-Za-z0-9\-._~:/?\[\]@!$&'()*+,;=%"
_UNSAFE_RE = re.compile(rf"[^{_URL_CHARS}#]")
_STRIP_CHARS = "\t\n\r"
#: What the WHATWG URL parser strips from both ends of an href: C0 controls and space.
_C0_SPACE = "".join(map(chr, range(0x21)))
#: The first ``?`` or ``#``: where a special URL stops reading ``\`` as ``/``.
_QUERY_OR_FRAGMENT = re.compile(r"[?#]")
#: What browsers percent-encode in a (special) query and in a fragment.
_QUERY_UNSAFE = re.compile("[\x00-\x20\"#<>'\x7f-\U0010ffff]")
_FRAGMENT_UNSAFE = re.compile('[\x00-\x20"<>`\x7f-\U0010ffff]')
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_DOT = frozenset({".", "%2e"})
_DOT_DOT = frozenset({"..", ".%2e", "%2e.", "%2e%2e"})
#: Code points a browser refuses in a host (the WHATWG "forbidden domain code points").
_FORBIDDEN_HOST_RE = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: The hrefs ``UrlResolver`` resolves without ``_normalize``: only URL-safe ASCII, and either
#: http(s) with a plain lowercase host (no port, user or IP literal) or relative without a
#: scheme or "//"; groups: scheme and host, host, path and query, fragment.
_FAST_RE = re.compile(
    rf"(?:(https?://([a-z0-9\-._~!$&'()*+,;=]+))(?=[/?#]|\Z)|(?!{_SCHEME}:|//))"
    rf"([{_URL_CHARS}]*)(?:#([{_URL_CHARS}#]*))?\Z"
)

_MISSING: Any = object()

_tld = tldextract.TLDExtract(suffix_list_urls=(), include_psl_private_domains=True, cache_dir=None)


def url_scheme(href: str) -> str:
    """The lowercased scheme of an href, or '' for a relative one."""
    match = _SCHEME_RE.match(href.strip())
    return match.group(1).lower() if match else ""


def normalize_url(href: str, base: str, *, keep_fragment: bool = False) -> str | None:
    """``href`` resolved against ``base``: absolute, percent-encoded, IDNA host,
    lowercase scheme and host, no default port, no tracking parameters and, unless
    ``keep_fragment``, no fragment. None when it is not an http(s) URL or is malformed.
    """
    result = _normalize(href, base, keep_fragment)
    return result[0] if result else None


def _normalize(href: str, base: str, keep_fragment: bool) -> tuple[str, str] | None:
    read = _as_browser_reads(href, base)
    if read is None:
        return None
    try:
        url = read if url_scheme(read) else _join(base, read)
        if url is None:
            return None
        url = _percent_encoded(url)
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _WEB_SCHEMES or not host:
        return None
    host = _canonical_host(host)
    if host is None:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    if "@" in parts.netloc:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    query = strip_tracking(parts.query)
    path = parts.path or "/"
    if "/." in path or "%2e" in path or "%2E" in path:
        path = _remove_dot_segments(path)  # _join did it for relative hrefs only
    fragment = parts.fragment if keep_fragment else ""
    return urlunsplit((scheme, netloc, path, query, fragment)), host


def _as_browser_reads(href: str, base: str) -> str | None:
    """``href`` as the WHATWG URL parser reads it for an http(s) URL (or relative to an
    http(s) base): C0 controls and spaces stripped from both ends, tabs and newlines removed,
    ``\\`` as ``/`` before the query, ``http:x`` relative to an http base, any number of
    slashes before a host; then an absolute URL or a relative one ``_join`` resolves. None
    for an empty href, another scheme, or no host."""
    href = href.strip(_C0_SPACE)
    if not href:
        return None
    if any(c in href for c in _STRIP_CHARS):
        href = href.translate({9: None, 10: None, 13: None})
    scheme = url_scheme(href)
    if scheme and scheme not in _WEB_SCHEMES:
        return None
    if "\\" in href:
        end = _QUERY_OR_FRAGMENT.search(href)
        cut = end.start() if end else len(href)
        href = href[:cut].replace("\\", "/") + href[cut:]
    if scheme:
        rest = href[len(scheme) + 1 :]
        if not rest.startswith("//") and url_scheme(base) == scheme:
            return rest  # "http:x" is relative to an http base
        rest = rest.lstrip("/")
        return f"{scheme}://{rest}" if rest[:1] not in ("", "?", "#") else None
    if href.startswith("//"):
        rest = href.lstrip("/")
        return "//" + rest if rest[:1] not in ("", "?", "#") else None  # "//" has no host
    return href


def _percent_encoded(url: str) -> str:
    """``url`` with what browsers percent-encode encoded: w3lib before the query (IDNA host
    included), then the WHATWG sets of the (special) query and of the fragment, which keep
    ``{}|\\^`` as they are."""
    if not _UNSAFE_RE.search(url) and url.isascii() and "'" not in url:
        return url
    end = _QUERY_OR_FRAGMENT.search(url)
    head, tail = (url[: end.start()], url[end.start() :]) if end else (url, "")
    if _UNSAFE_RE.search(head) or not head.isascii():
        head = safe_url_string(head)
    if tail:
        query, hash_, fragment = tail.partition("#")
        tail = _encode(query, _QUERY_UNSAFE) + hash_ + _encode(fragment, _FRAGMENT_UNSAFE)
    return head + tail


def _encode(text: str, unsafe: re.Pattern[str]) -> str:
    if text.isascii() and not unsafe.search(text):
        return text
    text = _SURROGATE_RE.sub("\ufffd", text)
    return unsafe.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), text)


def _canonical_host(host: str) -> str | None:
    """A host as browsers write it (lowercase, percent-decoded, IPv4 in dotted decimal
    whatever its form, IPv6 compressed), or None for one they refuse."""
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host).compressed
        except ValueError:
            return None
    if "%" in host:
        host = unquote(host).lower()
        if not host.isascii():
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError:
                return None
    if _FORBIDDEN_HOST_RE.search(host):
        return None  # "http://exa mple.com": Chromium writes a %20 that DNS never resolves
    last = host.rstrip(".").rpartition(".")[2] if host != "." else ""
    if last and (last.isdigit() or last[:2] in ("0x", "0X")):
        ip = parse_ipv4(host)
        return str(ip) if ip is not None else None
    return host


def strip_tracking(query: str) -> str:
    """``query`` without its ``TRACKING_PARAMS`` (re-encoded only when it had one)."""
    if query and any(p in query for p in ("utm_", "clid=")):
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, v) for k, v in pairs if k.lower() not in TRACKING_PARAMS])
    return query


def _join(base: str, href: str) -> str | None:
    """A relative ``href`` resolved against the http(s) URL ``base`` as browsers resolve it
    (RFC 3986 section 5.2), or None for another base. Unlike ``urllib.parse.urljoin``,
    empty path segments stay (``a//b``) and a bare ``?`` gives an empty query, not the
    base's."""
    parts = urlsplit(base)
    if parts.scheme.lower() not in _WEB_SCHEMES or not parts.netloc:
        return None
    if href.startswith("//"):
        return f"{parts.scheme}:{href}"
    rest, hash_, fragment = href.partition("#")
    path, question, query = rest.partition("?")
    if not path:
        path = parts.path or "/"
        if not question:
            question, query = ("?" if parts.query else ""), parts.query
    elif path.startswith("/"):
        path = _remove_dot_segments(path)
    else:
        directory = parts.path[: parts.path.rfind("/") + 1] or "/"
        path = _remove_dot_segments(directory + path)
    return f"{parts.scheme}://{parts.netloc}{path}{question}{query}{hash_}{fragment}"


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4 for an absolute path: ``/a/./b/../c`` -> ``/a/c``."""
    segments = [s.lower() if "%" in s else s for s in path.split("/")[1:]]
    originals = path.split("/")[1:]
    out: list[str] = []
    for segment, original in zip(segments, originals, strict=True):
        if segment in _DOT_DOT:
            if out:
                out.pop()
        elif segment not in _DOT:
            out.append(original)
    joined = "/".join(out)
    last = segments[-1]
    return f"/{joined}/" if joined and (last in _DOT or last in _DOT_DOT) else f"/{joined}"


Resolved = tuple[str, str] | None


class UrlCache:
    """What ``UrlResolver`` has resolved, kept for the pages to come.

    ``shared`` holds the results every page of a site can reuse (the menus repeated on
    every page): absolute hrefs, and root-relative ones by the base's origin; whether the
    fragment is kept is part of the key only for an href with one. It is emptied when it
    reaches ``max_shared`` entries. Other relative hrefs depend on the whole page URL: they
    live in the page's own table (``page(base, keep_fragment)``), of which the last
    ``max_pages`` are kept (the links, media and cleaned_html of one page share it).
    """

    def __init__(self, max_shared: int = 20_000, max_pages: int = 8) -> None:
        self.max_shared = max_shared
        self.max_pages = max_pages
        self.shared: dict[tuple[bool, str, str], Resolved] = {}
        self._pages: OrderedDict[tuple[str, bool], dict[str, Resolved]] = OrderedDict()

    def page(self, base: str, keep_fragment: bool) -> dict[str, Resolved]:
        """The results of one page's resolvers, by href."""
        key = (base, keep_fragment)
        table = self._pages.get(key)
        if table is None:
            table = self._pages[key] = {}
            if len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(key)
        return table

    def share(self, key: tuple[bool, str, str], result: Resolved) -> None:
        if len(self.shared) >= self.max_shared:
            self.shared.clear()
        self.shared[key] = result

    def clear(self) -> None:
        self.shared.clear()
        self._pages.clear()


#: The cache of ``extract_page`` calls that bring none (the plain API, the CLI).
DEFAULT_CACHE = UrlCache()


class UrlResolver:
    """``normalize_url`` for the many hrefs of one page: same results, with a per-page
    cache and a fast path for the common shapes (plain ASCII absolute, root-relative,
    relative and fragment links), which is most of the work of link extraction.

    The resolvers of one page (links, media, cleaned_html) share that cache: it belongs to
    the base URL (the last few bases are kept), an href without ``#`` has one result
    whether fragments are kept or not, and one with ``#`` is resolved once, keeping its
    fragment (the other result is that URL cut at ``#``)."""

    def __init__(
        self, base: str, *, keep_fragment: bool = False, cache: UrlCache | None = None
    ) -> None:
        self.base = base
        self.keep_fragment = keep_fragment
        self._cache = cache = cache if cache is not None else DEFAULT_CACHE
        self._plain = cache.page(base, False)
        self._anchors = cache.page(base, True) if keep_fragment else self._plain
        self._origin, self._host, self._page, self._dir = _base_parts(base)
        self._anchor_resolver: UrlResolver | None = None

    def resolve(self, href: str) -> tuple[str, str] | None:
        """``(url, host)`` for a web link, None otherwise."""
        anchor = self.keep_fragment and "#" in href  # else the result has no fragment
        cache = self._anchors if anchor else self._plain
        result = cache.get(href, _MISSING)
        if result is not _MISSING:
            return result
        if not anchor and "#" in href:
            # the URL without its fragment is the one with it cut at "#": one resolution
            # serves this resolver and the page's fragment-keeping one (cleaned_html's)
            full = self._keeping_fragments().resolve(href)
            result = cache[href] = None if full is None else (full[0].partition("#")[0], full[1])
            return result
        key: tuple[bool, str, str] | None = None  # None: only this page has the same result
        if href.startswith(("http://", "https://")):
            key = (anchor, "", href)
        elif self._origin and href[:1] == "/" and href[1:2] != "/":
            key = (anchor, self._origin, href)
        result = self._cache.shared.get(key, _MISSING) if key else _MISSING
        if result is _MISSING:
            result = self._fast(href) if self._origin else None
            if result is None:
                result = _normalize(href, self.base, self.keep_fragment)
            if key:
                self._cache.share(key, result)
        cache[href] = result
        return result

    def _keeping_fragments(self) -> UrlResolver:
        if self._anchor_resolver is None:
            self._anchor_resolver = UrlResolver(self.base, keep_fragment=True, cache=self._cache)
        return self._anchor_resolver

    def _fast(self, href: str) -> tuple[str, str] | None:
        """``_normalize``'s result for the plain shapes (``_FAST_RE``), or None for the
        slow path."""
        match = _FAST_RE.match(href) if href else None
        if match is None:
            return None
        origin, host, rest, fragment = match.groups()
        if "utm_" in rest or "clid=" in rest or "'" in rest or "%2e" in rest or "%2E" in rest:
            return None  # tracking parameters, "'" in the query, "%2e" dot segments
        if origin and (host[-1].isdigit() or "0x" in host or host[-1] == "."):
            return None  # maybe an IPv4 address in another form
        if origin:
            url = origin + rest if rest[:1] == "/" else f"{origin}/{rest}"
        else:
            host = self._host
            first = rest[:1]
            if first == "/":
                url = self._origin + rest
            elif first == "?":
                url = self._page.partition("?")[0] + rest
            elif not rest:
                url = self._page
            else:
                url = self._dir + rest
        before_query, question, query = url.partition("?")
        if "/." in rest or rest[:1] == ".":
            path_at = before_query.find("/", before_query.index("://") + 3)
            before_query = before_query[:path_at] + _remove_dot_segments(before_query[path_at:])
        url = before_query + question + query if query else before_query
        return (f"{url}#{fragment}" if fragment and self.keep_fragment else url), host


@lru_cache(maxsize=1024)
def _base_parts(base: str) -> tuple[str, str, str, str]:
    """(origin, host, page URL, directory URL) of a canonical base for ``UrlResolver``'s
    fast path; four '' when ``base`` is not canonical (the slow path then does it all)."""
    canonical = _normalize(base, base, False)
    if canonical is None or canonical[0] != base.partition("#")[0]:
        return "", "", "", ""
    parts = urlsplit(canonical[0])
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin, canonical[1], canonical[0], origin + parts.path[: parts.path.rfind("/") + 1]


def host_of(url: str) -> str:
    """The lowercased host of an absolute URL ('' if it has none or is malformed)."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


@lru_cache(maxsize=65536)
def registered_domain(host: str) -> str:
    """The site a host belongs to (see the module docstring); '' for ''."""
    host = host.lower().strip(".")
    if not host:
        return ""
    if is_ip_address(host):
        return host
    site = _tld(host).top_domain_under_public_suffix
    if site:
        return site
    labels = host.split(".")
    return ".".join(labels[-2:]) if len(labels) >= 2 else host


def domain_matches(host: str, domains: tuple[str, ...] | frozenset[str]) -> bool:
    """True if ``host`` is one of ``domains`` or a subdomain of one (label boundary)."""
    if not domains or not host:
        return False
    host = host.lower().rstrip(".")
    candidate = host
    while True:
        if candidate in domains:
            return True
        dot = candidate.find(".")
        if dot < 0:
            return False
        candidate = candidate[dot + 1 :]


def domain_set(domains: tuple[str, ...]) -> frozenset[str]:
    """Domain names as ``domain_matches`` wants them: lowercased, IDNA, no www., no dots."""
    out = set()
    for domain in domains:
        name = domain.strip().lower().strip(".")
        name = name.removeprefix("*.")
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            pass
        out.add(name)
    return frozenset(out)


class SiteRules:
    """Internal/external and exclusion decisions for links found on one page."""

    def __init__(
        self,
        page_url: str,
        *,
        internal_domains: tuple[str, ...] = (),
        exclude_domains: tuple[str, ...] = (),
        social_domains: tuple[str, ...] = (),
    ) -> None:
        self.site = registered_domain(host_of(page_url))
        self.internal_domains = domain_set(internal_domains)
        self.exclude_domains = domain_set(exclude_domains)
        self.social_domains = domain_set(social_domains)

    @classmethod
    def for_page(cls, page_url: str, config: CrawlerRunConfig) -> SiteRules:
        """The rules a config sets for the links of the page at ``page_url``."""
        return cls(
            page_url,
            internal_domains=config.internal_domains,
            exclude_domains=config.exclude_domains,
            social_domains=config.exclude_social_media_domains
            if config.exclude_social_media_links
            else (),
        )

    def is_internal(self, host: str) -> bool:
        return registered_domain(host) == self.site or domain_matches(host, self.internal_domains)

    def exclusion(self, host: str, internal: bool, *, exclude_external: bool) -> str | None:
        """Why a link to ``host`` is excluded ('external', 'social', 'domain'), or None."""
        if not internal and exclude_external:
            return "external"
        if domain_matches(host, self.social_domains):
            return "social"
        if domain_matches(host, self.exclude_domains):
            return "domain"
        return None
