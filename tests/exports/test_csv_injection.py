"""CSV cells a spreadsheet would run as a formula are written as text."""

import csv
import io

import pytest

from exports.csv import spreadsheet_safe
from tests.exports.helpers import fetch

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil","x")'


@pytest.mark.parametrize("source", ["consensus", "raw"])
def test_csv_export_neutralises_formula_cells(client, engineer, dataset, labeler_a, source):
    # CSV is written in Python on every database (exports/sql_text.py writes COCO and YOLO only),
    # so the API's export is the one path; the command line builds the same stream.
    dataset.car.name = FORMULA
    dataset.car.save()
    dataset.truck.name = "@SUM(A1:A9)"
    dataset.truck.save()
    labeler_a.username = "+kim"
    labeler_a.save()
    client.force_login(engineer)
    response, body = fetch(client, dataset.project, format="csv", source=source)
    assert response.status_code == 200, body[:300]
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    labels = {row["label"] for row in rows} - {""}
    assert labels == {"'" + FORMULA, "'@SUM(A1:A9)"}
    if source == "raw":
        assert "'+kim" in {row["labeler"] for row in rows}
    for row in rows:
        for value in row.values():
            assert not value or value[0] not in "=+-@\t\r", row
        assert float(row["x"] or 0) >= 0  # numbers stay numbers


@pytest.mark.parametrize(
    "text, expected",
    [
        ("=1+2", "'=1+2"),
        ("+kim", "'+kim"),
        ("-2", "'-2"),
        ("@x", "'@x"),
        ("\tcar", "'\tcar"),
        ("\rcar", "'\rcar"),
        ("car", "car"),
        ("", ""),
        ("lee.", "lee."),
    ],
)
def test_spreadsheet_safe(text, expected):
    assert spreadsheet_safe(text) == expected
