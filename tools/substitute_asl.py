"""Write statemachine/*.asl.json with its ${...} placeholders filled, for asl-validator.

The template fills them at deploy time (DefinitionSubstitutions). Validating the
filled-in text checks the definition as Step Functions will see it, Resource
ARNs included. Usage: python tools/substitute_asl.py SOURCE DEST
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SAMPLE = {"Partition": "aws"}


def substitute(text: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in SAMPLE:
            return SAMPLE[name]
        if name.endswith("FunctionArn"):
            return f"arn:aws:lambda:us-east-1:123456789012:function:weightshift-{name.removesuffix('Arn')}"
        raise SystemExit(f"no sample value for the placeholder ${{{name}}}")

    return re.sub(r"\$\{(\w+)\}", fill, text)


if __name__ == "__main__":
    source, dest = Path(sys.argv[1]), Path(sys.argv[2])
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(substitute(source.read_text()))
