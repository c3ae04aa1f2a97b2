"""Every setting, request.meta key, stat and PageItem field in the code has a reference entry.

The names come from the code (``C4Settings``, ``CrawlerRunConfig``, ``c4scrapy._meta``, the
stat keys the source writes); the entries from the ``.. setting::``, ``.. reqmeta::`` and
``.. stat::`` directives of ``docs/reference/*.rst``. A dynamic part of a stat key is written
``<name>`` in the docs (``c4/links/filtered/<reason>``) and is any ``{...}`` of an f-string
in the code.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from c4scrapy import _meta
from c4scrapy.core.config import CrawlerRunConfig
from c4scrapy.core.items import PageItem
from c4scrapy.settings import C4Settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "c4scrapy"
REFERENCE = ROOT / "docs" / "reference"

#: Where the counters of the pure core land in the stats: the core fills a Counter and
#: ``core/page.py`` hands it to the shell under these prefixes. None: not stats.
CORE_COUNTER_PREFIXES = {
    "core/page.py": "c4/",
    "core/tables.py": "c4/",
    "core/links.py": "c4/links/",
    "core/media.py": "c4/media/",
    "core/schema.py": None,  # matched / empty_fields: read by the schema pipeline
}

WILD = "<*>"
_DIRECTIVE = re.compile(r"^\.\. (setting|reqmeta|stat):: *(\S.*?)\s*$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"<[^<>/]*>")
_STAT_KEY = re.compile(r"^[a-z0-9_<>*]+(/[a-z0-9_<>*]+)*$")


def documented(kind: str) -> dict[str, list[str]]:
    """``{name: [file, ...]}`` of the ``.. <kind>::`` entries of the reference pages."""
    found: dict[str, list[str]] = {}
    for path in sorted(REFERENCE.glob("*.rst")):
        for directive, name in _DIRECTIVE.findall(path.read_text(encoding="utf-8")):
            if directive == kind:
                found.setdefault(name, []).append(path.name)
    return found


def reference_text(name: str) -> str:
    return (REFERENCE / name).read_text(encoding="utf-8")


# --- stat keys from the source -------------------------------------------------------------


def _text(node: ast.AST) -> list[str]:
    """The string(s) an expression can be: constants, f-strings (``{x}`` -> ``<*>``), ifs."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [
            "".join(part.value if isinstance(part, ast.Constant) else WILD for part in node.values)
        ]
    if isinstance(node, ast.IfExp):
        return _text(node.body) + _text(node.orelse)
    return []


def _counter_keys(node: ast.AST) -> list[str]:
    """Keys of a dict literal or comprehension, or the elements a Counter(...) counts."""
    if isinstance(node, ast.Dict):
        keys = [k for key in node.keys if key is not None for k in _text(key)]
        nested = [v for key, v in zip(node.keys, node.values, strict=True) if key is None]
        return keys + [k for value in nested for k in _counter_keys(value)]
    if isinstance(node, ast.DictComp):
        return _text(node.key)
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Counter" and node.args:
        arg = node.args[0]
        return _text(arg.elt) if isinstance(arg, ast.GeneratorExp) else _counter_keys(arg)
    return []


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _inc_prefixes(tree: ast.AST) -> dict[str, str]:
    """``{function name: prefix}``: ``inc`` itself, and wrappers that pass ``prefix=``."""
    prefixes = {"inc": "c4/"}
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for call in ast.walk(func):
            if isinstance(call, ast.Call) and _name(call.func) == "inc":
                for keyword in call.keywords:
                    if keyword.arg == "prefix" and isinstance(keyword.value, ast.Constant):
                        prefixes[func.name] = keyword.value.value
    return prefixes


def _shell_counters(func: ast.AST, inc_prefixes: dict[str, str]) -> list[str]:
    """Keys a shell function counts: dicts, Counters and ``counts[...]`` given to ``inc``."""
    prefixes: dict[str, str] = {}  # local variable -> the prefix its keys get
    keys: list[str] = []
    calls = [node for node in ast.walk(func) if isinstance(node, ast.Call)]
    for call in calls:
        prefix = inc_prefixes.get(_name(call.func))
        if prefix is None:
            continue
        for arg in call.args:
            if isinstance(arg, ast.Name):
                prefixes[arg.id] = prefix
            keys += [prefix + text for text in _counter_keys(arg)]
    for call in calls:  # counts.update(errors): errors' keys go where counts' go
        func_ = call.func
        if isinstance(func_, ast.Attribute) and func_.attr == "update" and call.args:
            target, arg = _name(func_.value), call.args[0]
            if target in prefixes and isinstance(arg, ast.Name):
                prefixes.setdefault(arg.id, prefixes[target])
    for node in ast.walk(func):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in prefixes:
                    keys += [prefixes[target.id] + t for t in _counter_keys(node.value)]
                if isinstance(target, ast.Subscript) and _name(target.value) in prefixes:
                    keys += [prefixes[_name(target.value)] + t for t in _text(target.slice)]
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript):
            name = _name(node.target.value)
            if name in prefixes:
                keys += [prefixes[name] + t for t in _text(node.target.slice)]
    return keys


def _core_counters(tree: ast.AST) -> list[str]:
    """Keys a core module counts into a Counter (``counts[...] += n``), without prefix."""
    keys: list[str] = []
    for node in ast.walk(tree):
        target = getattr(node, "target", None)
        targets = node.targets if isinstance(node, ast.Assign) else [target]
        for target in targets:
            if isinstance(target, ast.Subscript) and _name(target.value).endswith("counts"):
                keys += _text(target.slice)
    return keys


def stat_keys_in_code() -> dict[str, set[str]]:
    """``{key: {module, ...}}`` of the ``c4/...`` stats the package writes."""
    keys: dict[str, set[str]] = {}

    def add(key: str, module: str) -> None:
        if key.startswith("c4/") and not key.endswith("/") and _STAT_KEY.match(key):
            keys.setdefault(key, set()).add(module)

    trees = {
        path.relative_to(PACKAGE).as_posix(): ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(PACKAGE.rglob("*.py"))
    }
    # wrappers of inc (``self._inc = ...`` passed from one module to another) by name
    inc_prefixes: dict[str, str] = {}
    for tree in trees.values():
        inc_prefixes.update(_inc_prefixes(tree))
    for module, tree in trees.items():
        # every "c4/..." literal, wherever it is (inc_value, max_value, get_value...)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Constant, ast.JoinedStr)):
                for text in _text(node):
                    add(text, module)
        if module.startswith("core/"):
            counted = _core_counters(tree)
            if counted:
                assert module in CORE_COUNTER_PREFIXES, (
                    f"c4scrapy/{module} counts into a Counter: add it to "
                    "CORE_COUNTER_PREFIXES with the stats prefix core/page.py gives it"
                )
                prefix = CORE_COUNTER_PREFIXES[module]
                for text in counted if prefix is not None else ():
                    add(prefix + text, module)
            continue
        for func in ast.walk(tree):
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for key in _shell_counters(func, inc_prefixes):
                    add(key, module)
    return keys


def _segments(key: str) -> list[str]:
    return [
        WILD if (WILD in part or _PLACEHOLDER.search(part)) else part for part in key.split("/")
    ]


def stat_matches(a: str, b: str) -> bool:
    """Same key, a placeholder (``<reason>``, ``{x}``) matching any one segment."""
    sa, sb = _segments(a), _segments(b)
    return len(sa) == len(sb) and all(
        x == y or WILD in (x, y) for x, y in zip(sa, sb, strict=True)
    )


# --- the tests -----------------------------------------------------------------------------


def test_every_setting_has_one_entry():
    names = {*C4Settings.names(), *(f"C4_{f.upper()}" for f in CrawlerRunConfig.field_names())}
    entries = documented("setting")
    missing = sorted(names - entries.keys())
    assert not missing, f"settings without a '.. setting::' entry in docs/reference: {missing}"
    unknown = sorted(entries.keys() - names)
    assert not unknown, f"'.. setting::' entries for settings the code does not have: {unknown}"
    twice = {name: files for name, files in entries.items() if len(files) > 1}
    assert not twice, f"settings documented more than once: {twice}"


def test_every_meta_key_has_one_entry():
    keys = {
        name: value
        for name, value in vars(_meta).items()
        if name.isupper() and isinstance(value, str) and not name.endswith("_FLAG")
    }
    entries = documented("reqmeta")
    missing = sorted(set(keys.values()) - entries.keys())
    assert not missing, f"request.meta keys without a '.. reqmeta::' entry: {missing}"
    twice = {key: files for key, files in entries.items() if len(files) > 1}
    assert not twice, f"meta keys documented more than once: {twice}"
    # internal keys are listed as internal, below the "Internal keys" heading
    text = reference_text("meta.rst")
    internal_at = text.index("Internal keys")
    for value in keys.values():
        position = text.index(f".. reqmeta:: {value}\n")
        assert (position > internal_at) == value.startswith("_"), (
            f"meta key {value!r}: internal keys (leading underscore), and only they, belong "
            "under 'Internal keys' in docs/reference/meta.rst"
        )


def test_request_and_response_flags_are_documented():
    text = reference_text("meta.rst")
    flags = [value for name, value in vars(_meta).items() if name.endswith("_FLAG")]
    assert flags
    for flag in flags:
        assert f"``{flag}``" in text, f"flag {flag!r} is not listed in docs/reference/meta.rst"


def test_stat_keys_are_found_in_the_code():
    # the collector itself: a few keys written in each way must come out
    keys = stat_keys_in_code()
    for key in (
        "c4/pages/extracted",  # core Counter, core/page.py
        "c4/links/filtered/<*>",  # core Counter with an f-string, core/links.py
        "c4/media/images/kept",
        "c4/requests/filtered/<*>",  # inc_value(f"c4/...")
        "c4/previews/skipped/<*>",  # a wrapper of runtime.inc with prefix=
        "c4/llm/errors/<*>",  # Counter(f"..." for ...)
        "c4/llm/max_concurrent",  # max_value
        "c4/browser/not_rendered",  # runtime.inc({...})
        "c4/redis/lost_on_close",
        "c4/schema/<*>/pages",
    ):
        assert key in keys, f"the collector missed {key}"
    assert not any(key.startswith("c4/matched") for key in keys)


def test_every_stat_has_one_entry():
    code = stat_keys_in_code()
    entries = documented("stat")
    missing = sorted(
        f"{key} ({', '.join(sorted(modules))})"
        for key, modules in code.items()
        if not any(stat_matches(key, entry) for entry in entries)
    )
    assert not missing, f"stats without a '.. stat::' entry in docs/reference/stats.rst: {missing}"
    stale = sorted(entry for entry in entries if not any(stat_matches(k, entry) for k in code))
    assert not stale, f"'.. stat::' entries for stats the code does not write: {stale}"
    twice = {key: files for key, files in entries.items() if len(files) > 1}
    assert not twice, f"stats documented more than once: {twice}"


def test_every_pageitem_field_is_described():
    text = reference_text("pageitem.rst")
    missing = [f.name for f in dataclasses.fields(PageItem) if f"``{f.name}``" not in text]
    assert not missing, f"PageItem fields missing from docs/reference/pageitem.rst: {missing}"


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("c4/links/internal", "c4/links/internal", True),
        ("c4/links/filtered/<*>", "c4/links/filtered/<reason>", True),
        ("c4/links/filtered/<*>", "c4/links/filtered", False),
        ("c4/browser/<*>", "c4/browser/iframes_merged", True),
        ("c4/media/<*>s/excluded/domain", "c4/media/videos/excluded/domain", True),
        ("c4/schema/<*>/pages", "c4/schema/<name>/items", False),
    ],
)
def test_stat_matching(a, b, expected):
    assert stat_matches(a, b) is expected
