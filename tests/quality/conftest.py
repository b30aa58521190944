"""Fixtures of the quality tests; stored pipeline results for report and review tests."""

from tests.quality.review_fixtures import instructions, results  # noqa: F401
