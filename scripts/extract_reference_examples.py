"""Extract every JSON example from the In Vivo API reference into a test fixture.

The reference is the contract, but the product must stand alone, so the examples are copied into
the repository once (re-run this script when the reference changes) and the tests read only the copy.

Usage: python scripts/extract_reference_examples.py PATH/TO/benchling-invivo-api-reference.txt
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

REQUEST_LINE = re.compile(r"^(GET|POST|PATCH|PUT|DELETE) (/\S+) HTTP/1\.1$")
STATUS_LINE = re.compile(r"^HTTP/1\.1 (\d{3})")
EVENT_NAME = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
OUT = Path(__file__).resolve().parent.parent / "invivo_pipeline_tests" / "fixtures"


def extract(text: str) -> dict[str, list[dict]]:
    """Walk the document once, tying each JSON block to the request or webhook event above it."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    decoder = json.JSONDecoder()
    examples: list[dict] = []
    webhooks: list[dict] = []
    request: dict | None = None
    status: int | None = None
    event: str | None = None
    in_webhooks = False
    i = 0
    while i < len(lines):
        line = lines[i].rstrip("\n")
        if line == "Webhooks":
            in_webhooks, request = True, None
        if m := REQUEST_LINE.match(line):
            request = {"method": m.group(1), "path": m.group(2), "line": i + 1}
            status = None
        elif m := STATUS_LINE.match(line):
            status = int(m.group(1))
        elif in_webhooks and EVENT_NAME.match(line):
            event = line
        elif line in ("{", "[") or line.startswith(("{ ", "[ ")):
            body, end = decoder.raw_decode(text, offsets[i])
            if in_webhooks and event:
                webhooks.append({"event": event, "line": i + 1, "body": body})
            elif request is not None:
                kind = "response" if status is not None else "request"
                examples.append({**request, "kind": kind, "status": status, "body": body})
            while i < len(lines) and offsets[i + 1] <= end:
                i += 1
            continue
        i += 1
    return {"examples": examples, "webhooks": webhooks}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    found = extract(Path(argv[1]).read_text(encoding="utf-8"))
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / "reference_examples.json"
    target.write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(
        f"{len(found['examples'])} endpoint examples, {len(found['webhooks'])} webhook events -> {target}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
