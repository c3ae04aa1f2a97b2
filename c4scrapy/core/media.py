"""Images, videos and audios of a page, with scores. See docs/features/media.rst."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from lxml import etree

from c4scrapy.core.selectors import AncestorCheck
from c4scrapy.core.text import collapse_whitespace, truncate_words
from c4scrapy.core.urls import UrlCache, UrlResolver, domain_matches, host_of

if TYPE_CHECKING:
    from collections.abc import Container, Iterator, Sequence

    from lxml.html import HtmlElement

    from c4scrapy.core.config import CrawlerRunConfig
    from c4scrapy.core.urls import SiteRules

#: Formats that earn the score point (Crawl4AI's list).
SCORED_FORMATS = frozenset({"jpg", "jpeg", "png", "webp", "avif", "gif"})
IMAGE_FORMATS = SCORED_FORMATS | {
    "svg", "bmp", "ico", "tif", "tiff", "heic", "heif", "jxl", "apng", "jfif", "cur"
}  # fmt: skip
VIDEO_FORMATS = frozenset(
    {"mp4", "webm", "ogv", "ogg", "mov", "m4v", "m3u8", "mpd", "avi", "mkv", "3gp"}
)
AUDIO_FORMATS = frozenset({"mp3", "ogg", "oga", "wav", "m4a", "aac", "flac", "opus", "weba"})
#: ``<source type>`` MIME types whose format is not their subtype.
_MIME_FORMATS = {
    "image/svg+xml": "svg",
    "image/x-icon": "ico",
    "image/vnd.microsoft.icon": "ico",
    "video/quicktime": "mov",
    "video/mpeg": "mpg",
    "video/x-matroska": "mkv",
    "application/x-mpegurl": "m3u8",
    "application/vnd.apple.mpegurl": "m3u8",
    "application/dash+xml": "mpd",
    "audio/mpeg": "mp3",
    "audio/x-m4a": "m4a",
    "audio/x-wav": "wav",
}

_DROP_WORDS = ("button", "icon", "logo")
_WORD_RE = re.compile(r"\w")
_HIDDEN_RE = re.compile(r"display\s*:\s*none", re.IGNORECASE)
_LEADING_INT_RE = re.compile(r"\s*\+?(\d+)")
_FORMAT_WORD_RE = re.compile(
    r"(?<![a-z0-9])("
    + "|".join(sorted(IMAGE_FORMATS | VIDEO_FORMATS | AUDIO_FORMATS))
    + r")(?![a-z0-9])"
)
_SRCSET_URL_RE = re.compile(r"[\s,]*(\S+)")
_SRCSET_DESCRIPTOR_RE = re.compile(r"([^,(]*(?:\([^)]*\)?[^,(]*)*),?")
_DESCRIPTOR_RE = re.compile(r"^(\d+(?:\.\d+)?)([wx])$", re.IGNORECASE)
#: Lazy-loading attributes whose value may be a relative URL.
_LAZY_ATTRS = frozenset({"data-lazy-src", "data-original", "data-lazy", "data-original-src"})
#: Subtrees whose text is never shown.
NO_TEXT = frozenset({"script", "style", "noscript", "template", "head", "title"})
#: Tags that separate words: ``<br>`` and blocks (their boundaries become spaces).
BREAKS = frozenset({
    "br", "hr", "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5",
    "h6", "table", "tr", "td", "th", "thead", "tbody", "tfoot", "caption", "section",
    "article", "aside", "header", "footer", "nav", "main", "figure", "figcaption",
    "blockquote", "pre", "address", "form", "fieldset", "legend", "details", "summary",
    "option",
})  # fmt: skip
_DESC_STOP = frozenset({"body", "html"})
_DESC_LEVELS = 6
_MAX_DIMENSION = 100_000

Variant = tuple[str, int | None, int | None, str | None]  # url, width, height, type format


def extract_media(
    roots: Sequence[HtmlElement],
    base_url: str,
    config: CrawlerRunConfig,
    rules: SiteRules,
    *,
    skip: Container[HtmlElement] = frozenset(),
    counts: Counter[str] | None = None,
    cache: UrlCache | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """``{"images": [...], "videos": [...], "audios": [...]}`` of the scope, in document
    order (see the module docstring for the fields, the filters and the score)."""
    counts = counts if counts is not None else Counter()
    media = _Media(base_url, config, rules, counts, cache)
    images: list[dict[str, Any]] = []
    if not config.exclude_all_images:
        images = media.images(scope_elements(roots, ("img",), skip))
    videos, audios = media.players(scope_elements(roots, ("video", "audio"), skip))
    counts["videos"] += len(videos)
    counts["audios"] += len(audios)
    return {"images": images, "videos": videos, "audios": audios}


def scope_elements(
    roots: Sequence[HtmlElement], tags: tuple[str, ...], skip: Container[HtmlElement]
) -> list[HtmlElement]:
    """The ``tags`` elements under ``roots`` in document order, each once, none in ``skip``."""
    if len(roots) == 1:
        found = list(roots[0].iter(*tags))
    else:  # css_selector matches may nest
        seen: set[HtmlElement] = set()
        found = []
        for root in roots:
            for el in root.iter(*tags):
                if el not in seen:
                    seen.add(el)
                    found.append(el)
    if skip:
        found = [el for el in found if el not in skip]
    return found


class _Media:
    """One page's state: its URL resolver, the verdicts and descriptions, the seen URLs,
    the counters."""

    def __init__(
        self,
        base_url: str,
        config: CrawlerRunConfig,
        rules: SiteRules,
        counts: Counter[str],
        cache: UrlCache | None = None,
    ) -> None:
        self.base_url = base_url
        self.config = config
        self.rules = rules
        self.counts = counts
        self.resolver = UrlResolver(base_url, cache=cache)
        self.verdicts: dict[str, str | None] = {}
        self.excluded: set[str] = set()
        self.texts: dict[HtmlElement, str] = {}

    # --- URLs ---------------------------------------------------------------------------

    def resolve(self, raw: str) -> str | None:
        resolved = self.resolver.resolve(raw)  # normalize_url, cached across pages
        return resolved[0] if resolved else None

    def exclusion(self, url: str, *, image: bool) -> str | None:
        if not (self.rules.exclude_domains or (image and self.config.exclude_external_images)):
            return None
        key = url if image else "\0" + url
        if key in self.verdicts:
            return self.verdicts[key]
        reason = None
        host = host_of(url)
        if image and self.config.exclude_external_images and not self.rules.is_internal(host):
            reason = "external"
        elif domain_matches(host, self.rules.exclude_domains):
            reason = "domain"
        self.verdicts[key] = reason
        return reason

    # --- images -------------------------------------------------------------------------

    def images(self, imgs: list[HtmlElement]) -> list[dict[str, Any]]:
        counts = self.counts
        counts["images/found"] += len(imgs)
        if not imgs:
            return []
        # Crawl4AI never sees <noscript>, so its copies stay out of the page's positions.
        noscript = AncestorCheck.tags(("noscript",))
        in_noscript = [noscript(img) for img in imgs]
        picture_of = AncestorCheck.tags(("picture",)).nearest
        total = len(imgs) - sum(in_noscript) or len(imgs)
        threshold = self.config.image_score_threshold
        out: dict[str, dict[str, Any]] = {}
        position = 0
        for index, img in enumerate(imgs):
            attrib = img.attrib
            first_half = position / total < 0.5
            if not in_noscript[index]:
                position += 1
            src = attrib.get("src", "").strip()
            real_src = src if src and not src.startswith("data:") else _lazy_src(attrib)
            alt = collapse_whitespace(attrib.get("alt", ""))
            if _dropped(attrib, img.getparent(), real_src, alt):
                counts["images/dropped/filter"] += 1
                continue
            picture = picture_of(img)
            width = _dimension(attrib.get("width"))
            height = _dimension(attrib.get("height"))
            srcset = attrib.get("srcset", "")
            data_srcset = attrib.get("data-srcset", "")
            score = (
                (width is not None and width > 150)
                + (height is not None and height > 150)
                + bool(alt)
                + first_half
                + _has_scored_format(real_src, attrib.get("data-src", ""), srcset, data_srcset)
                + bool(srcset.strip() or data_srcset.strip())
                + (picture is not None)
            )
            if score <= threshold:
                counts["images/dropped/score"] += 1
                continue
            desc: str | None = None
            for raw, w, h, type_format in _image_variants(attrib, width, height, picture):
                url = self.resolve(raw)
                if url is None or url in out:
                    continue
                reason = self.exclusion(url, image=True)
                if reason:
                    if url not in self.excluded:
                        self.excluded.add(url)
                        counts[f"images/excluded/{reason}"] += 1
                    continue
                if desc is None:
                    desc = self.describe(img)
                out[url] = {
                    "src": url,
                    "alt": alt,
                    "desc": desc,
                    "score": score,
                    "type": "image",
                    "group_id": index,
                    "format": url_format(url, IMAGE_FORMATS) or type_format,
                    "width": w,
                    "height": h,
                }
        counts["images/kept"] += len(out)
        return list(out.values())

    # --- video and audio ----------------------------------------------------------------

    def players(
        self, elements: list[HtmlElement]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        found: dict[str, dict[str, dict[str, Any]]] = {"video": {}, "audio": {}}
        groups = {"video": 0, "audio": 0}
        for el in elements:
            kind = el.tag
            known = VIDEO_FORMATS if kind == "video" else AUDIO_FORMATS
            items = found[kind]
            candidates = [(el.get("src") or el.get("data-src") or "", None)]
            candidates.extend(
                (source.get("src") or source.get("data-src") or "", source.get("type"))
                for source in el.iter("source")
            )
            video = kind == "video"
            shared: dict[str, Any] | None = None
            for raw, mime in candidates:
                url = self.resolve(raw) if raw else None
                if url is None or url in items:
                    continue
                if self.exclusion(url, image=False):
                    if url not in self.excluded:
                        self.excluded.add(url)
                        self.counts[f"{kind}s/excluded/domain"] += 1
                    continue
                if shared is None:
                    poster = el.get("poster") if video else None
                    label = el.get("alt") or el.get("title") or el.get("aria-label") or ""
                    shared = {
                        "alt": collapse_whitespace(label),
                        "desc": self.describe(el),
                        "score": None,
                        "type": kind,
                        "group_id": groups[kind],
                    }
                    size = {
                        "width": _dimension(el.get("width")) if video else None,
                        "height": _dimension(el.get("height")) if video else None,
                        "poster": self.resolve(poster) if poster else None,
                    }
                fmt = url_format(url, known) or _mime_format(mime)
                items[url] = {"src": url, **shared, "format": fmt, **size}
            groups[kind] += 1
        return list(found["video"].values()), list(found["audio"].values())

    # --- descriptions -------------------------------------------------------------------

    def describe(self, el: HtmlElement) -> str:
        """Text near ``el``: its figure's caption, else the text of its closest ancestor
        (up to _DESC_LEVELS, below ``<body>``) that has words."""
        max_words = self.config.image_description_max_words
        if max_words <= 0:
            return ""
        levels: list[Any] = []
        for ancestor in el.iterancestors():
            if ancestor.tag in _DESC_STOP or len(levels) == _DESC_LEVELS:
                break
            levels.append(ancestor)
        for ancestor in levels:
            if ancestor.tag == "figure":
                caption = next(ancestor.iter("figcaption"), None)
                text = self.text(caption, max_words) if caption is not None else ""
                if text:
                    return text
                break
        for ancestor in levels:
            text = self.text(ancestor, max_words)
            if text:
                return text
        return ""

    def text(self, el: HtmlElement, max_words: int) -> str:
        text = self.texts.get(el)
        if text is None:
            text = self.texts[el] = element_text(el, max_words)
        return text


def _lazy_src(attrib: Any) -> str:
    for name in ("data-src", "data-lazy-src", "data-original", "data-lazy"):
        value = attrib.get(name, "").strip()
        if value and not value.startswith("data:"):
            return value
    return ""


def _dropped(attrib: Any, parent: HtmlElement | None, src: str, alt: str) -> bool:
    style = attrib.get("style")
    if "hidden" in attrib or (style and _HIDDEN_RE.search(style)):
        return True
    if parent is not None and parent.tag in ("button", "input"):
        return True
    classes = (parent.get("class") or "") if parent is not None else ""
    haystack = f"{classes} {src} {alt}".lower()
    return any(word in haystack for word in _DROP_WORDS)


def _dimension(value: str | None) -> int | None:
    if not value:
        return None
    match = _LEADING_INT_RE.match(value)
    if match is None:
        return None
    number = int(match.group(1)[:7])
    return number if 0 < number <= _MAX_DIMENSION else None


def _has_scored_format(src: str, data_src: str, srcset: str, data_srcset: str) -> bool:
    for candidate, is_srcset in (
        (src, False),
        (data_src, False),
        (srcset, True),
        (data_srcset, True),
    ):
        candidate = candidate.strip()
        if not candidate or candidate.startswith("data:"):
            continue
        urls = [url for url, _ in parse_srcset(candidate)] if is_srcset else [candidate]
        if any(url_format(url, SCORED_FORMATS) for url in urls):
            return True
    return False


def url_format(url: str, known: frozenset[str]) -> str | None:
    """The format a URL names: its path's extension if known, else the first known format
    word in its path or query (``?fm=webp``, ``/format/jpg/``); None otherwise."""
    if url.startswith("data:"):
        return None
    lowered = url.lower()
    start = lowered.find("//")
    if 0 <= start <= 6:  # leave the host out: gif.example.com is no GIF
        slash = lowered.find("/", start + 2)
        lowered = lowered[slash:] if slash >= 0 else ""
    path = lowered.split("?", 1)[0].split("#", 1)[0]
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    if dot >= 0 and name[dot + 1 :] in known:
        return name[dot + 1 :]
    for match in _FORMAT_WORD_RE.finditer(lowered):
        if match.group(1) in known:
            return match.group(1)
    return None


def _mime_format(mime: str | None) -> str | None:
    if not mime or "/" not in mime:
        return None
    mime = mime.split(";", 1)[0].strip().lower()
    subtype = mime.split("/", 1)[1]
    return _MIME_FORMATS.get(mime, subtype if subtype.isalnum() else None)


def parse_srcset(value: str) -> list[tuple[str, str]]:
    """``[(url, descriptor), ...]`` by the HTML standard's algorithm: URLs end at
    whitespace (so CDN URLs with commas survive) and a trailing comma ends a candidate."""
    out: list[tuple[str, str]] = []
    pos = 0
    while True:
        match = _SRCSET_URL_RE.match(value, pos)
        if match is None:
            return out
        url = match.group(1)
        pos = match.end()
        if url.endswith(","):
            out.append((url.rstrip(","), ""))
            continue
        match = _SRCSET_DESCRIPTOR_RE.match(value, pos)
        out.append((url, match.group(1).strip()))  # type: ignore[union-attr]
        pos = match.end()  # type: ignore[union-attr]


def _srcset_variants(
    value: str, width: int | None, height: int | None, type_format: str | None
) -> Iterator[Variant]:
    for url, descriptor in parse_srcset(value):
        w, h = width, height
        match = _DESCRIPTOR_RE.match(descriptor.split()[0]) if descriptor else None
        if match is not None:
            number = float(match.group(1))
            if match.group(2).lower() == "w":
                w = int(number) or None
                h = round(height * number / width) if width and height and w else None
            else:
                w = round(width * number) if width else None
                h = round(height * number) if height else None
        yield url, w, h, type_format


def _image_variants(
    attrib: Any, width: int | None, height: int | None, picture: HtmlElement | None
) -> Iterator[Variant]:
    yield attrib.get("src", ""), width, height, None
    yield attrib.get("data-src", ""), width, height, None
    for name in ("srcset", "data-srcset"):
        value = attrib.get(name)
        if value:
            yield from _srcset_variants(value, width, height, None)
    if picture is not None:
        for source in picture.iter("source"):
            w = _dimension(source.get("width")) or width
            h = _dimension(source.get("height")) or height
            type_format = _mime_format(source.get("type"))
            for name in ("srcset", "data-srcset"):
                value = source.get(name)
                if value:
                    yield from _srcset_variants(value, w, h, type_format)
    for name, value in attrib.items():
        if not name.startswith("data-") or name in ("data-src", "data-srcset"):
            continue
        if "src" not in name and name not in _LAZY_ATTRS:
            continue
        value = value.strip()
        if "srcset" in name:
            yield from _srcset_variants(value, width, height, None)
        elif (
            value
            and not value.startswith(("{", "["))
            and " " not in value
            and ("http" in value or "/" in value or url_format(value, IMAGE_FORMATS))
        ):
            yield value, width, height, None


def element_text(
    el: HtmlElement, max_words: int | None = None, *, skip: frozenset[str] = NO_TEXT
) -> str:
    """``el``'s text, whitespace collapsed, leaving out comments and the subtrees of
    ``skip`` tags, with a space at ``<br>`` and block boundaries (``text_content()`` glues
    ``a<br>b`` into ``ab``). With ``max_words``, only that many words are kept (`` …``
    marks the cut) and the walk stops as soon as it has them."""
    parts: list[str] = []
    words = 0
    limit = max_words if max_words is not None else -1
    walker = etree.iterwalk(el, events=("start", "end", "comment", "pi"))
    for event, node in walker:
        if event == "start":
            tag = node.tag
            if tag in skip and node is not el:
                walker.skip_subtree()
                continue
            if tag in BREAKS:
                parts.append(" ")
            text = node.text
        elif event == "end":
            if node is el:
                break
            if node.tag in BREAKS:
                parts.append(" ")
            text = node.tail
        else:
            text = node.tail
        if text:
            parts.append(text)
            if limit >= 0:
                words += len(text.split())
                if words > limit:
                    break
    text = "".join(parts)
    if max_words is None:
        return collapse_whitespace(text)
    return truncate_words(text, max_words) if _WORD_RE.search(text) else ""
