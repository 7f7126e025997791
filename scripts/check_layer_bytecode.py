"""Check a built layer: every module has its bytecode, hash-based and unchecked (PEP 552).

    python scripts/check_layer_bytecode.py .aws-sam/build/MediajobsLayer/python

Lambda's /opt is read-only: a module without a usable .pyc is compiled from source on every
cold start. Exits 1 naming the modules without one.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

#: PEP 552 flags of an unchecked hash-based .pyc (bit 0: hash-based; bit 1, check_source, unset)
UNCHECKED_HASH = 0b01


def missing(root: Path) -> list[str]:
    found = []
    for source in sorted(root.rglob("*.py")):
        cached = Path(importlib.util.cache_from_source(str(source)))
        header = cached.read_bytes()[:8] if cached.is_file() else b""
        flags = int.from_bytes(header[4:8], "little")
        if header[:4] != importlib.util.MAGIC_NUMBER or flags != UNCHECKED_HASH:
            found.append(str(source.relative_to(root)))
    return found


def main(argv: list[str]) -> int:
    (folder,) = argv
    root = Path(folder)
    if not (root / "mediajobs" / "__init__.py").is_file():
        print(f"{root}: not a built mediajobs layer", file=sys.stderr)
        return 1
    without = missing(root)
    if without:
        print(f"{len(without)} modules without unchecked-hash bytecode, e.g. {without[:5]}", file=sys.stderr)
        return 1
    print(f"{root}: every module has its bytecode")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
