"""Schema extraction: ``JsonCssExtractionStrategy`` and ``JsonXPathExtractionStrategy`` (Crawl4AI's
names) over the parsed page. See docs/features/extraction.rst."""

from __future__ import annotations

import ast
import json
import logging
import operator
import re
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lxml.html
from cssselect import SelectorError
from lxml import etree
from parsel.csstranslator import HTMLTranslator

from c4scrapy.core.coerce import as_object, did_you_mean
from c4scrapy.core.exceptions import ConfigError
from c4scrapy.core.parse import parse_html
from c4scrapy.core.selectors import compile_css

if TYPE_CHECKING:
    from lxml.html import HtmlElement

logger = logging.getLogger(__name__)

_SCHEMA_KEYS = frozenset({"name", "baseSelector", "baseFields", "fields", "type", "description"})
_FIELD_KEYS = frozenset(
    {
        "name",
        "type",
        "selector",
        "attribute",
        "pattern",
        "group",
        "default",
        "transform",
        "source",
        "fields",
        "function",
        "expression",
        "description",
    }
)
_VALUE_STEPS = frozenset({"text", "attribute", "html", "regex"})
_STRUCTURED = frozenset({"nested", "list", "nested_list"})
_TRANSFORMS: dict[str, Callable[[str], str]] = {
    "lowercase": str.lower,
    "uppercase": str.upper,
    "strip": str.strip,
}
#: Elements whose boundaries separate words in ``text`` (as a browser renders them).
_BLOCK_TAGS = frozenset(
    (
        *("address", "article", "aside", "blockquote", "br", "caption", "dd", "details"),
        *("dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol"),
        *("option", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th"),
        *("thead", "tr", "ul"),
    )
)
_NO_TEXT_TAGS = frozenset({"script", "style", "template", "noscript"})
_translator = HTMLTranslator()

Selector = Callable[["HtmlElement"], list[Any]]


def element_text(element: Any) -> str:
    """The text of an element as a reader sees it: words kept apart, whitespace collapsed.

    ``<h2>Widget <b>Pro</b></h2>`` gives ``"Widget Pro"``, ``<li>a</li><li>b</li>`` gives
    ``"a b"``; text inside ``script``/``style``/``template``/``noscript`` descendants is
    skipped (a selected ``<script>`` itself gives its text: JSON-LD, for instance).
    """
    if isinstance(element, str):
        return " ".join(element.split())
    parts: list[str] = []
    stack: list[tuple[Any, bool]] = [(element, True)]
    while stack:
        node, opening = stack.pop()
        tag = node.tag
        is_element = isinstance(tag, str)
        if opening:
            stack.append((node, False))
            if not is_element or (tag in _NO_TEXT_TAGS and node is not element):
                continue
            if tag in _BLOCK_TAGS:
                parts.append(" ")
            if node.text:
                parts.append(node.text)
            stack.extend((child, True) for child in reversed(node))
        else:
            if is_element and tag in _BLOCK_TAGS:
                parts.append(" ")
            if node is not element and node.tail:
                parts.append(node.tail)
    return " ".join("".join(parts).split())


def element_html(element: Any) -> str:
    if isinstance(element, str):
        return element
    return lxml.html.tostring(element, encoding="unicode", with_tail=False)


class _Field:
    __slots__ = (
        "attribute",
        "default",
        "expression",
        "fields",
        "function",
        "group",
        "kind",
        "name",
        "regex",
        "select",
        "source",
        "steps",
        "transform",
    )

    def __init__(self) -> None:
        self.name = ""
        self.kind = "value"  # value | nested | list | nested_list | computed
        self.steps: tuple[str, ...] = ()
        self.select: Selector | None = None
        self.source: Selector | None = None
        self.attribute: str | None = None
        self.regex: re.Pattern[str] | None = None
        self.group: int | str = 1
        self.default: Any = None
        self.transform: Callable[[str], str] | None = None
        self.fields: tuple[_Field, ...] = ()
        self.function: Callable[[dict[str, Any]], Any] | None = None
        self.expression: ast.Expression | None = None


class JsonElementExtractionStrategy:
    """Shared engine of the CSS and XPath schema strategies (see the module docstring).

    ``schema`` is the dict (kept as given); ``extract_tree(doc, scopes)`` is what the
    Scrapy pipeline calls; ``extract(url, html)`` and ``run(url, sections)`` take HTML
    strings, as Crawl4AI's do. Instances pickle (the compiled selectors are rebuilt), so
    they can travel in ``request.meta["c4"]`` and JOBDIR queues.
    """

    input_format = "html"
    schema_type = ""

    def __init__(self, schema: Mapping[str, Any] | str, verbose: bool = False, **kwargs: Any):
        schema = as_object(schema, "schema")
        unknown = set(kwargs) - {"input_format"}
        if unknown:
            raise ConfigError(f"{type(self).__name__}: unknown argument {min(unknown)!r}")
        self.schema: dict[str, Any] = dict(schema)
        self.verbose = verbose
        self._compile()

    @property
    def name(self) -> str:
        return str(self.schema.get("name") or "schema")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, type(self))
            and type(other) is type(self)
            and (other.schema == self.schema)
        )

    def __hash__(self) -> int:
        return hash((type(self), json.dumps(self.schema, sort_keys=True, default=repr)))

    def __getstate__(self) -> dict[str, Any]:
        return {"schema": self.schema, "verbose": self.verbose}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.schema = state["schema"]
        self.verbose = state["verbose"]
        self._compile()

    # -- running ---------------------------------------------------------------------------

    def extract_tree(
        self,
        doc: HtmlElement,
        scopes: list[HtmlElement] | None = None,
        counts: Counter[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Records from an lxml tree (never modified); only records inside ``scopes``.

        ``counts``, if given, gets ``matched`` (base elements) and ``empty_fields`` (schema
        fields that ended up without a value, summed over the records).
        """
        bases = [el for el in self._base(doc) if _is_element(el)]
        if scopes is not None and scopes != [doc]:
            bases = [el for el in bases if _inside(el, scopes)]
        records = []
        for base in bases:
            record: dict[str, Any] = {}
            for spec in self._base_fields:
                value = self._field(base, spec, record)
                if value is not None:
                    record[spec.name] = value
            record.update(self._record(base, self._fields))
            if counts is not None:
                counts["empty_fields"] += sum(
                    1 for spec in (*self._base_fields, *self._fields) if spec.name not in record
                )
            if record:
                records.append(record)
        if counts is not None:
            counts["matched"] += len(bases)
        return records

    def extract(self, url: str, html: str, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return self.extract_tree(parse_html(html, url))

    def run(
        self, url: str, sections: list[str], *args: Any, **kwargs: Any
    ) -> list[dict[str, Any]]:
        return self.extract(url, "\n".join(sections))

    def _record(self, element: Any, fields: tuple[_Field, ...]) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for spec in fields:
            value = self._field(element, spec, record)
            if value is not None:
                record[spec.name] = value
        return record

    def _field(self, element: Any, spec: _Field, record: dict[str, Any]) -> Any:
        try:
            if spec.kind == "computed":
                return self._computed(spec, record)
            if spec.source is not None:
                element = _first(spec.source(element))
                if element is None:
                    return spec.default
            if spec.kind == "value":
                return self._value(element, spec)
            matches = spec.select(element) if spec.select is not None else [element]
            if spec.kind == "nested":
                target = _first(matches)
                return {} if target is None else self._record(target, spec.fields)
            return [self._record(el, spec.fields) for el in matches if _is_element(el)]
        except Exception as exc:  # noqa: BLE001 (one bad field never costs the record)
            if self.verbose:
                logger.debug("schema %r field %r failed: %s", self.name, spec.name, exc)
            return spec.default

    def _value(self, element: Any, spec: _Field) -> Any:
        if spec.select is not None:
            element = _first(spec.select(element))
            if element is None:
                return spec.default
        value: Any = element
        for step in spec.steps:
            if step == "text":
                value = element_text(value)
            elif step == "attribute":
                value = value if isinstance(value, str) else value.get(spec.attribute)
            elif step == "html":
                value = element_html(value)
            else:
                text = value if isinstance(value, str) else element_text(value)
                match = spec.regex.search(text)  # type: ignore[union-attr]
                value = match.group(spec.group) if match else None
            if value is None:
                break
        if _is_element(value):  # an empty type pipeline
            value = element_text(value)
        elif isinstance(value, str):
            value = str(value)  # lxml's smart strings hold on to the whole tree
        if value is not None and spec.transform is not None and isinstance(value, str):
            value = spec.transform(value)
        return spec.default if value is None else value

    def _computed(self, spec: _Field, record: dict[str, Any]) -> Any:
        if spec.function is not None:
            value = spec.function(record)
        else:
            value = _evaluate(spec.expression.body, record)  # type: ignore[union-attr]
        return spec.default if value is None else value

    # -- compiling -------------------------------------------------------------------------

    def _compile(self) -> None:
        schema = self.schema
        where = f"schema {self.name!r}"
        _check_keys(schema, _SCHEMA_KEYS, where)
        base = schema.get("baseSelector")
        if not isinstance(base, str) or not base.strip():
            raise ConfigError(f"{where}: baseSelector: expected a non-empty selector")
        self._base = self._compile_base(base, f"{where}: baseSelector")
        for key in ("fields", "baseFields"):
            if key in schema and not isinstance(schema[key], list):
                raise ConfigError(f"{where}: {key}: expected a list of fields")
        if "fields" not in schema:
            raise ConfigError(f"{where}: fields: missing (a list of fields, may be empty)")
        self._fields = self._compile_fields(schema["fields"], f"{where}: fields")
        self._base_fields = self._compile_fields(
            schema.get("baseFields") or [], f"{where}: baseFields"
        )
        for spec in self._base_fields:
            if spec.kind != "value":
                raise ConfigError(
                    f"{where}: baseFields: {spec.name!r} must be text, attribute, html or regex"
                )

    def _compile_fields(self, fields: list[Any], where: str) -> tuple[_Field, ...]:
        compiled = []
        for i, raw in enumerate(fields):
            if not isinstance(raw, Mapping):
                raise ConfigError(f"{where}[{i}]: expected an object with name and type")
            label = f"{where}[{i}] ({raw.get('name')!r})"
            compiled.append(self._compile_field(raw, label))
        return tuple(compiled)

    def _compile_field(self, raw: Mapping[str, Any], where: str) -> _Field:
        _check_keys(raw, _FIELD_KEYS, where)
        spec = _Field()
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: name: expected a non-empty string")
        spec.name = name
        spec.default = raw.get("default")
        kind = raw.get("type")
        if kind is None:
            raise ConfigError(f"{where}: type: missing")
        if "selector" in raw:
            selector = raw["selector"]
            if not isinstance(selector, str) or not selector.strip():
                raise ConfigError(f"{where}: selector: expected a non-empty selector")
            spec.select = self._compile_field_selector(selector.strip(), f"{where}: selector")
        if "source" in raw:
            spec.source = self._compile_source(raw["source"], f"{where}: source")
        if "transform" in raw:
            transform = _TRANSFORMS.get(raw["transform"])
            if transform is None:
                raise ConfigError(
                    f"{where}: transform: {raw['transform']!r} is not one of "
                    f"{', '.join(_TRANSFORMS)}"
                )
            spec.transform = transform
        if isinstance(kind, list) and len(kind) == 1:
            kind = kind[0]
        if kind == "computed":
            spec.kind = "computed"
            if callable(raw.get("function")):
                spec.function = raw["function"]
            elif isinstance(raw.get("expression"), str):
                spec.expression = _compile_expression(raw["expression"], f"{where}: expression")
            else:
                raise ConfigError(
                    f"{where}: computed fields need a function (callable) or an expression"
                )
            return spec
        if isinstance(kind, str) and kind in _STRUCTURED:
            spec.kind = kind
            if kind != "nested" and spec.select is None:
                raise ConfigError(f"{where}: selector: a {kind} field needs a selector")
            if not isinstance(raw.get("fields"), list):
                raise ConfigError(f"{where}: fields: a {kind} field needs a list of fields")
            spec.fields = self._compile_fields(raw["fields"], f"{where}.fields")
            return spec
        steps = tuple(kind) if isinstance(kind, list) else (kind,)
        for step in steps:
            if step not in _VALUE_STEPS:
                known = ", ".join(sorted(_VALUE_STEPS | _STRUCTURED | {"computed"}))
                raise ConfigError(f"{where}: type: {step!r} is not one of {known}")
        spec.steps = steps
        if "attribute" in steps:
            if not isinstance(raw.get("attribute"), str) or not raw["attribute"]:
                raise ConfigError(f"{where}: attribute: the attribute name is missing")
            spec.attribute = raw["attribute"]
        if "regex" in steps:
            spec.regex, spec.group = _compile_regex(raw, where)
        return spec

    def _compile_base(self, selector: str, where: str) -> Selector:
        raise NotImplementedError

    def _compile_field_selector(self, selector: str, where: str) -> Selector:
        raise NotImplementedError

    def _compile_source(self, source: Any, where: str) -> Selector:
        if not isinstance(source, str) or not source.strip().startswith("+"):
            raise ConfigError(f"{where}: expected '+ <selector>' (the next matching sibling)")
        return _css(source.strip()[1:].strip(), where, prefix="following-sibling::")


class JsonCssExtractionStrategy(JsonElementExtractionStrategy):
    """Schema extraction with CSS selectors (parsel's translator, as ``response.css``)."""

    schema_type = "css"

    def _compile_base(self, selector: str, where: str) -> Selector:
        _css(selector, where, prefix="descendant-or-self::")
        return compile_css(selector)

    def _compile_field_selector(self, selector: str, where: str) -> Selector:
        return _css(selector, where, prefix="descendant::")


class JsonXPathExtractionStrategy(JsonElementExtractionStrategy):
    """Schema extraction with XPath; field selectors are relative to the record."""

    schema_type = "xpath"

    def _compile_base(self, selector: str, where: str) -> Selector:
        return _xpath(selector, where)

    def _compile_field_selector(self, selector: str, where: str) -> Selector:
        if not re.search(r"[/@(]|::", selector) and selector not in (".", ".."):
            return _css(selector, where, prefix="descendant::")
        if selector.startswith("/"):
            selector = "." + selector
        return _xpath(selector, where)

    def _compile_source(self, source: Any, where: str) -> Selector:
        if isinstance(source, str) and not source.strip().startswith("+"):
            return _xpath(source.strip(), where)
        return super()._compile_source(source, where)


def load_schema_strategy(
    value: str | Mapping[str, Any], schema_type: str | None = None
) -> JsonElementExtractionStrategy:
    """A schema strategy from a JSON file path, JSON text or a dict.

    The type is ``schema_type`` if given, else the schema's ``"type"`` key (``css`` or
    ``xpath``), else XPath when ``baseSelector`` starts with ``/``, ``./`` or ``(``, else CSS.
    """
    schema: Any = value
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("{"):
            path = Path(text).expanduser()
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"schema: cannot read {value!r}: {exc.strerror}") from None
        try:
            schema = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"schema: {value!r} is not valid JSON: {exc}") from None
    if not isinstance(schema, Mapping):
        raise ConfigError("schema: expected a JSON object")
    kind = (schema_type or schema.get("type") or "").lower()
    if not kind:
        base = str(schema.get("baseSelector", "")).lstrip()
        kind = "xpath" if base.startswith(("/", "./", "(")) else "css"
    if kind not in ("css", "xpath"):
        raise ConfigError(f"schema: type: expected css or xpath, got {kind!r}")
    cls = JsonXPathExtractionStrategy if kind == "xpath" else JsonCssExtractionStrategy
    return cls(schema)


# -- helpers -------------------------------------------------------------------------------


def _css(selector: str, where: str, *, prefix: str) -> Selector:
    try:
        return etree.XPath(_translator.css_to_xpath(selector, prefix=prefix))
    except (SelectorError, etree.XPathError) as exc:
        raise ConfigError(f"{where}: invalid CSS selector {selector!r}: {exc}") from None


def _xpath(selector: str, where: str) -> Selector:
    try:
        return etree.XPath(selector)
    except etree.XPathError as exc:
        raise ConfigError(f"{where}: invalid XPath {selector!r}: {exc}") from None


def _is_element(node: Any) -> bool:
    return isinstance(getattr(node, "tag", None), str)


def _first(matches: Any) -> Any:
    if isinstance(matches, list):
        for match in matches:
            if isinstance(match, str) or _is_element(match):
                return match
        return None
    if isinstance(matches, bool):
        return str(matches).lower()
    if isinstance(matches, float):
        return str(int(matches)) if matches.is_integer() else str(matches)
    return matches


def _inside(element: Any, scopes: list[Any]) -> bool:
    roots = set(scopes)
    node = element
    while node is not None:
        if node in roots:
            return True
        node = node.getparent()
    return False


def _check_keys(raw: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:

    for key in raw:
        if key not in allowed:
            hint = did_you_mean(str(key), allowed)
            raise ConfigError(f"{where}: unknown key {key!r}{hint}")


def _compile_regex(raw: Mapping[str, Any], where: str) -> tuple[re.Pattern[str], int | str]:
    pattern = raw.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError(f"{where}: pattern: a regex field needs a pattern")
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{where}: pattern: invalid regex {pattern!r}: {exc}") from None
    group = raw.get("group", 1)
    if isinstance(group, str) and group.isdigit():
        group = int(group)
    if isinstance(group, bool) or not isinstance(group, (int, str)):
        raise ConfigError(f"{where}: group: expected a group number or name")
    if isinstance(group, int) and group > regex.groups:
        raise ConfigError(
            f"{where}: pattern {pattern!r} has no group {group} "
            f'(add a group, or set "group": 0 for the whole match)'
        )
    if isinstance(group, str) and group not in regex.groupindex:
        raise ConfigError(f"{where}: pattern {pattern!r} has no group named {group!r}")
    return regex, group


# -- computed expressions: a small, safe interpreter -----------------------------------------

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_UNARY: dict[type, Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    f.__name__: f for f in (len, str, int, float, round, min, max, abs, bool, sum)
}
_METHODS = frozenset(
    (
        *("lower", "upper", "strip", "lstrip", "rstrip", "replace", "split", "join"),
        *("startswith", "endswith", "title", "capitalize"),
    )
)
_MAX_SIZE = 100_000
_ALLOWED_NODES = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.Compare,
    ast.IfExp,
    ast.Subscript,
    ast.Slice,
    ast.Call,
    ast.Attribute,
    ast.List,
    ast.Tuple,
    ast.Dict,
    *_BINARY,
    *_UNARY,
    *_COMPARE,
)


def _compile_expression(expression: str, where: str) -> ast.Expression:
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"{where}: invalid expression {expression!r}: {exc.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ConfigError(
                f"{where}: {type(node).__name__} is not allowed in expressions ({expression!r})"
            )
        if isinstance(node, ast.Call):
            func = node.func
            allowed = (isinstance(func, ast.Name) and func.id in _FUNCTIONS) or (
                isinstance(func, ast.Attribute) and func.attr in _METHODS
            )
            if not allowed or node.keywords:
                raise ConfigError(f"{where}: call not allowed in expression {expression!r}")
        elif isinstance(node, ast.Attribute) and node.attr not in _METHODS:
            raise ConfigError(f"{where}: attribute {node.attr!r} not allowed in expressions")
    return tree


def _evaluate(node: ast.AST, names: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return names[node.id]
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, names), _evaluate(node.right, names)
        if isinstance(node.op, ast.Mult) and any(
            isinstance(a, (str, list, tuple)) and isinstance(b, int) and b * len(a) > _MAX_SIZE
            for a, b in ((left, right), (right, left))
        ):
            raise ValueError("expression result too large")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, names))
    if isinstance(node, ast.BoolOp):
        value: Any = None
        for operand in node.values:
            value = _evaluate(operand, names)
            if isinstance(node.op, ast.And) != bool(value):
                return value
        return value
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, names)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(comparator, names)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        branch = node.body if _evaluate(node.test, names) else node.orelse
        return _evaluate(branch, names)
    if isinstance(node, ast.Subscript):
        return _evaluate(node.value, names)[_evaluate(node.slice, names)]
    if isinstance(node, ast.Slice):
        parts = (node.lower, node.upper, node.step)
        return slice(*(None if p is None else _evaluate(p, names) for p in parts))
    if isinstance(node, ast.Call):
        args = [_evaluate(arg, names) for arg in node.args]
        if isinstance(node.func, ast.Name):
            return _FUNCTIONS[node.func.id](*args)
        target = _evaluate(node.func.value, names)  # type: ignore[attr-defined]
        if not isinstance(target, str):
            raise TypeError(f"{node.func.attr}() needs a string")  # type: ignore[attr-defined]
        return getattr(target, node.func.attr)(*args)  # type: ignore[attr-defined]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_evaluate(el, names) for el in node.elts]
    if isinstance(node, ast.Dict):
        return {
            _evaluate(k, names): _evaluate(v, names)  # type: ignore[arg-type]
            for k, v in zip(node.keys, node.values, strict=True)
        }
    raise ValueError(f"{type(node).__name__} is not allowed")


class NoExtractionStrategy:
    """Crawl4AI's "no extraction": ``extraction_strategy=NoExtractionStrategy()`` is the
    same as None (``extracted_content`` stays None). Called directly, ``extract`` gives
    the whole HTML as one block and ``run`` one block per section, as Crawl4AI's does."""

    input_format = "html"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoExtractionStrategy)

    def __hash__(self) -> int:
        return hash(NoExtractionStrategy)

    def __repr__(self) -> str:
        return "NoExtractionStrategy()"

    def extract(self, url: str, html: str, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return [{"index": 0, "content": html}]

    def run(
        self, url: str, sections: list[str], *args: Any, **kwargs: Any
    ) -> list[dict[str, Any]]:
        return [{"index": i, "tags": [], "content": section} for i, section in enumerate(sections)]
