"""quality/engine stays pure: numpy, scipy, shapely, krippendorff and the standard library."""

import ast
import os
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "quality" / "engine"
ALLOWED = {"numpy", "scipy", "shapely", "krippendorff"}


def imported_roots(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def test_engine_imports_only_numeric_libraries_and_the_standard_library():
    offenders = {
        (path.name, root)
        for path in ENGINE.glob("*.py")
        for root in imported_roots(path)
        if root not in ALLOWED and root not in sys.stdlib_module_names
    }
    assert offenders == set()


def test_engine_modules_stay_small():
    sizes = {path.name: len(path.read_text().splitlines()) for path in ENGINE.glob("*.py")}
    assert max(sizes.values()) <= 400, sizes


def test_the_models_load_the_engine_without_scipy():
    """projects.models imports the engine (the near-duplicate band layout): scipy, ~40 MB, is
    imported only where the engine uses it, not by every process that loads the models."""
    code = (
        "import sys, django; django.setup(); import quality.engine, exports.formats; "
        "print('scipy' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "concord.settings"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ENGINE.parents[1], env=env, capture_output=True, text=True
    )
    assert out.stdout.strip() == "False", out.stderr
