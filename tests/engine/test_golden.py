"""Golden cases: small JSON inputs with expected results worked out by hand in golden/README.md."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from quality.engine import AgreementParams, LabelSet, assess_image

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(GOLDEN.glob("*.json"))


def load(path: Path):
    case = json.loads(path.read_text())
    sets = [
        LabelSet(s["labeler"], np.array(s["boxes"], dtype=float).reshape(-1, 4), s["labels"])
        for s in case["label_sets"]
    ]
    return case, sets, AgreementParams(**case.get("params", {}))


def same(actual, expected) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        if expected is None or actual is None:
            return actual is expected
        return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(expected, list):
        return len(actual) == len(expected) and all(map(same, actual, expected))
    return actual == expected


def test_there_are_at_least_fifteen_golden_cases():
    assert len(CASES) >= 15


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_case(path):
    case, sets, params = load(path)
    expected = case["expected"]
    result = assess_image(sets, params)
    if "score" in expected:
        assert same(result.score, expected["score"]), result.score
    if "flags" in expected:
        # A case that names the deviating labelers checks them too (cases 27 on all do).
        flags = [
            {
                "kind": f.kind,
                "labelers": list(f.labelers),
                "boxes": [list(b) for b in f.boxes],
                "message": f.message,
                **({"deviating": list(f.deviating)} if "deviating" in wanted else {}),
            }
            for f, wanted in zip(
                result.flags, expected["flags"] + [{}] * len(result.flags), strict=False
            )
        ]
        assert flags == expected["flags"]
    if "objects" in expected:
        assert len(result.objects) == len(expected["objects"])
        for actual, wanted in zip(result.objects, expected["objects"], strict=True):
            for field, value in wanted.items():
                got = getattr(actual, field)
                got = list(got) if isinstance(got, tuple) else got
                assert same(got, value), (field, got, value)
    if "n_objects" in expected:
        assert len(result.objects) == expected["n_objects"]
    if "pairs" in expected:
        assert len(result.pairs) == len(expected["pairs"])
        for actual, wanted in zip(result.pairs, expected["pairs"], strict=True):
            for field, value in wanted.items():
                assert same(getattr(actual, field), value), (field, getattr(actual, field), value)
