"""``powermem.text`` sits below ingest and search: it imports only itself and the standard
library, and neither side reaches into the other for text analysis."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "powermem"


def _imports(folder: Path) -> list[tuple[str, str]]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [(path.name, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path}: relative import"
                found.append((path.name, node.module or ""))
    return found


def test_text_imports_only_itself_and_the_standard_library() -> None:
    imports = _imports(PACKAGE / "text")
    assert imports
    outside = [
        (name, module) for name, module in imports
        if module.split(".")[0] not in sys.stdlib_module_names and not module.startswith("powermem.text")
    ]
    assert outside == []


def test_search_does_not_import_ingest() -> None:
    assert [(n, m) for n, m in _imports(PACKAGE / "search") if m.startswith("powermem.ingest")] == []
