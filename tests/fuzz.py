"""Seeded mutations of valid scenes and recipes, and a batch runner for the CLI.

``tests/test_fuzz.py`` writes the cases and runs them in a subprocess (``python -m
tests.fuzz BATCH.json``), which calls the ``invrender`` Typer app once per case and records
the exit status and the output. Every case must end with status 0 or 1, never a traceback,
and a status 1 must name a file. One process runs many cases, so Taichi starts once and the
kernels compile once per plugin configuration: a few hundred cases take well under a minute.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

# values that replace a number or a name: empty, negative, NaN, huge, non-numeric, long,
# non-UTF-8 (written as bytes)
BAD_VALUES = ["", "-1", "-0.5", "nan", "inf", "1e40", "400000", "abc", "0x10", "1,2,3,4,5",
              "$undefined", "1" * 400, b"\xff\xfe\x80"]
TAG = re.compile(rb"<(?P<close>/?)(?P<tag>[A-Za-z_][\w.-]*)(?P<attrs>[^<>]*?)(?P<end>/?)>")
ATTR = re.compile(rb'(?P<key>[A-Za-z_][\w.-]*)="(?P<value>[^"]*)"')


def _elements(text: bytes) -> list[tuple[int, int]]:
    """(start, end) byte ranges of the self-closing elements and of one-line pairs."""
    spans = []
    for m in TAG.finditer(text):
        if m.group("close"):
            continue
        if m.group("end"):
            spans.append((m.start(), m.end()))
            continue
        close = text.find(b"</" + m.group("tag") + b">", m.end())
        if close != -1:
            spans.append((m.start(), close + len(m.group("tag")) + 3))
    return spans


XML_KINDS = ["drop", "duplicate", "retype", "nest", "deep", "value", "value", "value",
             "truncate", "swap", "film"]


def mutate_xml(text: bytes, rng: random.Random, files: list[str],
               kinds: list[str] = XML_KINDS) -> tuple[str, bytes]:
    """One mutation: drop, duplicate, retype or nest an element, replace a value, truncate
    the file, point a filename at a file of the wrong kind, or resize the film."""
    kind = rng.choice(kinds)
    if kind == "film":  # a film far too large, or of no pixels
        size = rng.choice([b"400000", b"40000", b"0", b"-8"])
        film = re.sub(rb'(name="(res|width|height)" value=")[^"]*"', rb"\g<1>" + size + b'"',
                      text, count=rng.choice([1, 2]))
        if film != text:
            return kind, film
    spans = _elements(text)
    if kind in ("drop", "duplicate", "nest", "deep", "retype") and spans:
        a, b = rng.choice(spans)
        piece = text[a:b]
        if kind == "drop":
            return kind, text[:a] + text[b:]
        if kind == "duplicate":
            return kind, text[:b] + piece + text[b:]
        if kind == "nest":
            tag = rng.choice([b"shape", b"bsdf", b"film", b"sensor", b"rgb", b"foo"])
            return kind, text[:a] + b"<" + tag + b">" + piece + b"</" + tag + b">" + text[b:]
        if kind == "deep":  # thousands of nested elements
            depth = rng.choice([100, 3000])
            return kind, text[:a] + b"<x>" * depth + piece + b"</x>" * depth + text[b:]
        m = TAG.match(piece)
        tag = m.group("tag")
        new = rng.choice([b"float", b"integer", b"rgb", b"string", b"shape", b"bsdf",
                          b"emitter", b"texture", b"ref", b"spectrum"])
        piece = piece.replace(b"<" + tag, b"<" + new, 1).replace(b"</" + tag + b">",
                                                                 b"</" + new + b">")
        return kind, text[:a] + piece + text[b:]
    attrs = list(ATTR.finditer(text))
    if kind == "value" and attrs:
        m = rng.choice(attrs)
        value = rng.choice(BAD_VALUES)
        value = value if isinstance(value, bytes) else value.encode()
        return kind, text[:m.start("value")] + value + text[m.end("value"):]
    if kind == "swap":
        names = [m for m in attrs if m.group("value").endswith((b".obj", b".ply", b".png",
                                                                 b".exr"))]
        if names and files:
            m = rng.choice(names)
            return kind, (text[:m.start("value")] + rng.choice(files).encode()
                          + text[m.end("value"):])
    cut = rng.randrange(len(text))
    return "truncate", text[:cut]


def mutate_yaml(text: str, rng: random.Random, files: list[str]) -> tuple[str, bytes]:
    """One mutation of a recipe: a value replaced, a line dropped, duplicated or indented,
    the file truncated, or a path pointed elsewhere."""
    lines = text.splitlines()
    kind = rng.choice(["value", "value", "value", "drop", "duplicate", "indent", "truncate",
                       "path"])
    i = rng.randrange(len(lines))
    if kind == "drop":
        del lines[i]
    elif kind == "duplicate":
        lines.insert(i, lines[i])
    elif kind == "indent":
        lines[i] = "  " + lines[i]
    elif kind == "path" and files:
        paths = [k for k, line in enumerate(lines) if line.startswith(("scene:", "  image:"))]
        if paths:
            k = rng.choice(paths)
            lines[k] = lines[k].split(":")[0] + ": " + rng.choice(files)
    elif kind == "truncate":
        data = text.encode()
        return kind, data[:rng.randrange(len(data))]
    else:
        numbers = [(k, m) for k, line in enumerate(lines)
                   for m in re.finditer(r"(?<![\w.])-?\d+(\.\d+)?(e-?\d+)?|\b(adam|mse|auto|"
                                        r"per_iteration|true|exr|png)\b", line)]
        if numbers:
            k, m = rng.choice(numbers)
            value = rng.choice(BAD_VALUES + ["[]", "{}", "[1, [2]]", "null", "-3", "0",
                                             "[" * 3000 + "]" * 3000])
            data = (lines[k][:m.start()].encode()
                    + (value if isinstance(value, bytes) else value.encode())
                    + lines[k][m.end():].encode())
            rest = [line.encode() for line in lines]
            rest[k] = data
            return kind, b"\n".join(rest) + b"\n"
    return kind, ("\n".join(lines) + "\n").encode()


def run_batch(batch: Path) -> None:
    """Run every case of ``batch`` (a JSON list of {"args": [...]}) through the CLI in this
    process and write their exit statuses and outputs beside it."""
    from typer.testing import CliRunner

    from invrender.cli.main import app

    cases = json.loads(batch.read_text())
    runner = CliRunner()
    results = []
    progress = batch.with_suffix(".progress")
    for k, case in enumerate(cases):
        progress.write_text(str(k))  # the case a crash of the whole process happened in
        result = runner.invoke(app, case["args"], catch_exceptions=True)
        output = result.output
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            import traceback

            output += "Traceback (escaped the CLI):\n" + "".join(
                traceback.format_exception(result.exception))
        results.append({"code": result.exit_code, "output": output})
    batch.with_suffix(".results.json").write_text(json.dumps(results))


if __name__ == "__main__":
    run_batch(Path(sys.argv[1]))
