"""The COPY layer (quality/dbcopy.py) against PostgreSQL itself, without the pipeline around it.

`arrays_insert` lays out PostgreSQL's binary COPY format with numpy (`_copy_binary`) and
`query_matrix` parses binary COPY output with numpy; a mistake in either (a byte order, a row
size, a null) would quietly store or read other numbers. Here every column width the pipeline
writes, with nulls, NaN, infinities, -0.0, subnormals, extremes and empty input, is written by
COPY and read back two ways: through Django's ordinary cursor (PostgreSQL's own text output) and
through `query_matrix`. The text COPY of `rows_insert` is checked the same way.
"""

import math

import numpy as np
import pytest
from django.db import connection, models
from django.test.utils import isolate_apps
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from quality.dbcopy import arrays_insert, query_matrix, rows_insert

pytestmark = [
    pytest.mark.postgresql(reason="binary and text COPY are PostgreSQL's own formats"),
    pytest.mark.django_db,
]

# Column -> its numpy dtype: every width arrays_insert documents (smallint, integer, bigint,
# double precision).
COLUMNS = {"small": np.int16, "integer": np.int32, "big": np.int64, "real": np.float64}
EDGES = {
    "small": [0, 1, -1, 2**15 - 1, -(2**15), 255, 256, -256],
    "integer": [0, 1, -1, 2**31 - 1, -(2**31), 2**24 + 1, 16_777_217, -65_536],
    "big": [0, 1, -1, 2**63 - 1, -(2**63), 2**53 + 1, 4_294_967_296, -(2**40) - 7],
    "real": [
        0.0,
        -0.0,
        float("nan"),
        float("inf"),
        float("-inf"),
        5e-324,  # the smallest subnormal
        -1.7976931348623157e308,
        0.1 + 0.2,
    ],
}


@pytest.fixture
def scratch(db):
    """A table with one nullable column of each width, made (and dropped) in the test's
    transaction, and a model over it."""
    with isolate_apps("quality"):

        class CopyScratch(models.Model):
            small = models.SmallIntegerField(null=True)
            integer = models.IntegerField(null=True)
            big = models.BigIntegerField(null=True)
            real = models.FloatField(null=True)
            text = models.TextField(null=True)  # noqa: DJ001 (None must round-trip as NULL)
            document = models.JSONField(null=True)

            class Meta:
                app_label = "quality"
                db_table = "quality_copy_scratch"

            def __str__(self):
                return f"copy scratch row {self.pk}"

    with connection.schema_editor() as editor:
        editor.create_model(CopyScratch)
    return CopyScratch


def _stored(model, fields: list[str]) -> list[tuple]:
    return list(model.objects.order_by("id").values_list(*fields))


def _same(stored: list, expected: np.ndarray, null: np.ndarray) -> None:
    """Stored column values equal the array bit for bit (NaN as NaN), None where ``null``."""
    assert len(stored) == len(expected)
    for k, (value, want, missing) in enumerate(zip(stored, expected.tolist(), null, strict=True)):
        if missing:
            assert value is None, (k, value)
        elif isinstance(want, float) and math.isnan(want):
            assert isinstance(value, float) and math.isnan(value), (k, value)
        else:
            assert value == want and type(value) is type(want), (k, value, want)
            if isinstance(want, float):
                assert math.copysign(1, value) == math.copysign(1, want), (k, value, want)


def _write_and_check(model, columns: dict[str, np.ndarray], nulls: dict[str, np.ndarray]):
    model.objects.all().delete()
    arrays_insert(model, columns, nulls)
    fields = list(columns)
    rows = _stored(model, fields)
    n = len(next(iter(columns.values())))
    for k, field in enumerate(fields):
        null = nulls.get(field, np.zeros(n, bool))
        _same([row[k] for row in rows], columns[field], null)

    # The same rows through query_matrix: float8 columns, so only rows without a null.
    whole = ~np.any([nulls.get(f, np.zeros(n, bool)) for f in fields], axis=0)
    ids = np.array(model.objects.order_by("id").values_list("id", flat=True), dtype=np.int64)
    matrix = query_matrix(
        f"SELECT {', '.join(f'{f}::float8' for f in fields)} FROM {model._meta.db_table} "
        "WHERE id = ANY(%s) ORDER BY id",
        [ids[whole].tolist()],
        len(fields),
    )
    expected = np.stack([columns[f][whole].astype(np.float64) for f in fields], axis=1)
    assert matrix.shape == (int(whole.sum()), len(fields))
    # Bit for bit (-0.0, subnormals), with any NaN equal to any NaN.
    both_nan = np.isnan(matrix) & np.isnan(expected)
    assert (matrix.view(np.int64) == expected.view(np.int64))[~both_nan].all()
    assert (np.isnan(matrix) == np.isnan(expected)).all()


def test_every_width_with_its_extremes_nulls_nan_and_infinities_round_trips(scratch):
    n = len(EDGES["small"])
    columns = {f: np.array(EDGES[f], dtype=dtype) for f, dtype in COLUMNS.items()}
    nulls = {
        "small": np.arange(n) == 3,
        "integer": np.arange(n) % 3 == 0,
        "real": np.arange(n) == n - 1,
        # "big" has no mask: every value present.
    }
    _write_and_check(scratch, columns, nulls)


def test_a_column_entirely_null_and_a_row_entirely_null_round_trip(scratch):
    columns = {f: np.array(EDGES[f][:3], dtype=dtype) for f, dtype in COLUMNS.items()}
    nulls = {
        "small": np.ones(3, bool),
        "integer": np.array([False, True, False]),
        "big": np.array([False, True, False]),
        "real": np.array([False, True, True]),
    }
    _write_and_check(scratch, columns, nulls)
    assert _stored(scratch, list(COLUMNS))[1] == (None, None, None, None)


def test_one_row_and_one_column_round_trip(scratch):
    _write_and_check(scratch, {"big": np.array([-(2**63)], dtype=np.int64)}, {})
    _write_and_check(scratch, {"real": np.array([float("-inf")])}, {})


def test_empty_arrays_insert_nothing_and_an_empty_query_reads_no_row(scratch):
    arrays_insert(scratch, {f: np.array([], dtype=d) for f, d in COLUMNS.items()}, {})
    assert not scratch.objects.exists()
    matrix = query_matrix(
        f"SELECT real, big::float8 FROM {scratch._meta.db_table} WHERE id = ANY(%s)", [[]], 2
    )
    assert matrix.shape == (0, 2) and matrix.dtype == np.float64


def test_a_large_random_batch_round_trips(scratch):
    rng = np.random.default_rng(15)
    n = 20_000
    columns = {
        "small": rng.integers(-(2**15), 2**15, n, dtype=np.int16),
        "integer": rng.integers(-(2**31), 2**31, n, dtype=np.int32),
        "big": rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64, endpoint=True),
        # Any bit pattern is a float8 PostgreSQL stores and returns (NaNs, subnormals included).
        "real": rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64).view(np.float64),
    }
    nulls = {f: rng.random(n) < 0.1 for f in COLUMNS}
    _write_and_check(scratch, columns, nulls)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), n=st.integers(min_value=1, max_value=12))
def test_any_arrays_round_trip(scratch, data, n):
    fields = data.draw(
        st.lists(st.sampled_from(list(COLUMNS)), min_size=1, max_size=4, unique=True)
    )
    columns, nulls = {}, {}
    for field in fields:
        dtype = COLUMNS[field]
        elements = (
            st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)
            if dtype is np.float64
            else None
        )
        columns[field] = data.draw(hnp.arrays(dtype, n, elements=elements))
        if data.draw(st.booleans()):
            nulls[field] = data.draw(hnp.arrays(np.bool_, n))
    _write_and_check(scratch, columns, nulls)


def test_query_matrix_refuses_a_null_or_a_column_that_is_not_float8(scratch):
    arrays_insert(scratch, {"real": np.array([1.0, 2.0])}, {"real": np.array([False, True])})
    table = scratch._meta.db_table
    with pytest.raises(ValueError, match="non-null float8"):
        query_matrix(f"SELECT real FROM {table} ORDER BY id", [], 1)
    with pytest.raises(ValueError, match="non-null float8"):
        query_matrix(f"SELECT 1::int4 FROM {table} ORDER BY id", [], 1)


def test_text_copy_keeps_awkward_text_json_and_nulls(scratch):
    texts = ["plain", "tab\there", "new\nline", "back\\slash \\N", "Straße 😀", "", None]
    documents = [
        {"a": [1, 2.5, None]},
        ["x", {"y": "tab\t\\"}],
        "just a string",
        0,
        {"nested": {"deep": [True, False]}},
        {"unicode": "é😀"},
        None,
    ]
    numbers = [0, -1, 2**63 - 1, -(2**63), None, 7, 8]
    rows = list(zip(texts, documents, numbers, strict=True))
    rows_insert(scratch, ["text", "document", "big"], rows)
    assert _stored(scratch, ["text", "document", "big"]) == rows
