#!/usr/bin/env python3
"""Keep the README's Swift quick starts and the Examples package in step.

A code block right after a line `<!-- file: PATH -->` in README.md is the content of PATH.

    scripts/readme_snippets.py          write each PATH from the README
    scripts/readme_snippets.py --check  exit 1 (naming the file) when a PATH differs from the README

scripts/test runs --check and then builds and runs Examples/, so the README's code compiles and works.
"""
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PATTERN = re.compile(r"<!-- file: (?P<path>[^ ]+) -->\n```swift\n(?P<code>.*?)\n```", re.S)


def snippets():
    text = (REPO / "README.md").read_text()
    found = [(m["path"], m["code"] + "\n") for m in PATTERN.finditer(text)]
    if not found:
        sys.exit("README.md has no <!-- file: ... --> code blocks")
    return found


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for path, code in snippets():
        target = REPO / path
        if check:
            if not target.is_file() or target.read_text() != code:
                stale.append(path)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(code)
            print(f"wrote {path}")
    if stale:
        sys.exit("README code blocks differ from " + ", ".join(stale) + ": run scripts/readme_snippets.py")


if __name__ == "__main__":
    main()
