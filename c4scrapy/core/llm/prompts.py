"""Crawl4AI's extraction prompts, filled in one pass so page text is never substituted."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_HEADER = (
    "Here is the content from the URL:\n<url>{URL}</url>\n\n"
    "<url_content>\n{HTML}\n</url_content>\n"
)
_PART = (
    "\nThis content is part {PART} of {PARTS} of the page; extract only what is in this part.\n"
)
_REQUEST = "\n<user_request>\n{REQUEST}\n</user_request>\n"
_SCHEMA_TASK = """
<schema_block>
{SCHEMA}
</schema_block>

Please carefully read the URL content{AND_REQUEST}. Extract the requested information from \
the URL content according to the JSON schema in the <schema_block> above.

Extraction instructions:
Return the extracted information as a list of JSON objects, each one matching the schema \
(if the schema describes a list, the list itself must match it), one per item of content, \
in the same order as on the page. Wrap the entire JSON list in <blocks>...</blocks> XML tags.

Quality Reflection:
Before outputting your final answer, double check that the JSON you are returning is \
complete, containing all the information requested, and is valid JSON that could be parsed \
by json.loads() with no errors or omissions. Every object must match the schema.

Avoid Common Mistakes:
- Do NOT add any comments using "//" or "#" in the JSON output. It causes parsing errors.
- Make sure the JSON is properly formatted with curly braces, square brackets, and commas \
in the right places.
- Do not miss the closing </blocks> tag at the end of the JSON output.
- Do not generate Python code showing how to do the task; this is your task: extract the \
information and return it in JSON format.

Result:
Output the final list of JSON objects, wrapped in <blocks>...</blocks> XML tags.
"""
_INFERRED_TASK = """
Please carefully read the URL content{AND_REQUEST}. Analyze the page structure and infer \
the most appropriate JSON schema for the content{FOR_REQUEST}.

Extraction Strategy:
1. First, determine if the page contains repetitive items (like multiple products, \
articles, etc.) or a single content item (like a single article or page).
2. For repetitive items: identify the common pattern and extract each instance as a \
separate JSON object in an array.
3. For single content: extract the key information into one comprehensive JSON object.

Schema Design Guidelines:
- Create meaningful property names that clearly describe the data they contain
- Use nested objects for hierarchical information and arrays for lists of related items
- Only include properties that are actually present in the content
- For dates, prefer ISO format (YYYY-MM-DD)
- Keep property names consistent across all objects

Result:
Output a JSON list of objects (starting with '[' and ending with ']'), wrapped in \
<blocks>...</blocks> XML tags, with no comments before or after.
"""
_BLOCK_TASK = """
Your task is to break down this content into semantically relevant blocks{FOLLOWING}, \
and for each block, generate a JSON object with the following keys:

- index: an integer representing the index of the block in the content
- tags: a list with ONE semantic tag that describes what the block is about
- content: a list of strings containing the text content of the block

Extract the text content exactly as given (clean up whitespace if needed), keep the order \
of the blocks as in the content, and make sure the JSON is complete and parsable.

Please provide your output within <blocks> tags, like this:

<blocks>
[{"index": 0, "tags": ["introduction"], "content": ["The first paragraph."]}]
</blocks>
"""
_PLACEHOLDER_RE = re.compile(
    r"\{(URL|HTML|REQUEST|SCHEMA|PART|PARTS|AND_REQUEST|FOR_REQUEST|FOLLOWING)\}"
)


def _fill(template: str, values: Mapping[str, str]) -> str:
    """Fill placeholders in one pass, so text inside the values is never substituted."""
    return _PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def build_prompt(
    url: str,
    chunk: str,
    *,
    extraction_type: str,
    schema: Mapping[str, Any] | None,
    instruction: str | None,
    part: int = 1,
    parts: int = 1,
) -> str:
    """The prompt for one chunk: the page part, the request (if any) and the task."""
    values = {
        "URL": url,
        "HTML": chunk,
        "REQUEST": instruction or "",
        "SCHEMA": json.dumps(schema, indent=2, ensure_ascii=False),
        "PART": str(part),
        "PARTS": str(parts),
        "AND_REQUEST": " and the user's request" if instruction else "",
        "FOR_REQUEST": " and the request" if instruction else "",
        "FOLLOWING": ", following the user's request below" if instruction else "",
    }
    if extraction_type == "block":
        task = _BLOCK_TASK
    elif schema is not None:
        task = _SCHEMA_TASK
    else:
        task = _INFERRED_TASK
    prompt = _HEADER + (_PART if parts > 1 else "") + (_REQUEST if instruction else "") + task
    return _fill(prompt, values)
