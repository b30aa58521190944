"""On PostgreSQL the database writes COCO and YOLO text; it must be byte for byte the Python writers'.

Each test runs both paths on the same rows (`text_in_database=True` / `False`) and compares bytes,
on data chosen to reach every rule both sides implement: unicode, quotes, backslashes and control
characters in names, extensions from the stored or the original name, float printing (exponents,
whole numbers), YOLO rounding at exact ties, clipping at and past the image edge.
"""

import io
import json
import random
import zipfile

import pytest

from exports.coco import coco_pieces
from exports.names import project_export_names
from exports.params import ExportSpec
from exports.selectors import ExportQuery
from exports.sql_text import _copy_rows, _json_string, _with_file_names, _yolo_label_file
from exports.yolo import yolo_chunks, yolo_lines
from projects.models import Image
from quality.models import ImageAgreement
from quality.services.assessment import images_assess
from tests.exports.conftest import label
from tests.factories import ImageFactory, MembershipFactory, UserFactory

NAMES = [
    "plain.png",
    "Straße café 😀.JPG",
    'C:\\photos\\he said "hi".png',
    "dir/sub/.hidden",
    "no_extension",
    "..dots..everywhere..",
    "a\nb\tc\x7f\x01.png",
    "x" * 120 + ".png",
    "___.png",
    "archive.tar.GZ",
    "ÉTÉ.PNG",
    "",
]
STORED = [
    "projects/1/images/ab/abc.jpg",
    "projects/1/images/ab/abc",
    "projects/1/images/ab/.jpg",
    "projects/1.d/images/file",
    "projects/1/images/ab/ABC.PNG",
    "projects/1/images/ab/abc.JPÉG",
    "projects/1/images/ab/abc..",
]


pytestmark = pytest.mark.postgresql(
    reason="PostgreSQL writes the export text (COPY); every other database uses the Python writers"
)


@pytest.fixture(autouse=True)
def _database(db):
    pass


def _sql_values(sql: str, params: list, types: list[str]) -> list[tuple]:
    return list(_copy_rows(Image.objects.db, sql, params, types))


def test_file_names_match_project_export_names_for_awkward_and_colliding_names(project):
    names = NAMES + ["plain.PNG", "PLAIN.jpg", "1_plain.png", "sub/plain.webp", "x.tar.gz"]
    images = []
    for n, name in enumerate(names):
        image = ImageFactory(project=project, original_name=name)
        Image.objects.filter(pk=image.pk).update(file=STORED[n % len(STORED)])
        images.append(image)
    export_names = project_export_names(project=project)
    assert export_names.renamed  # collisions, control characters, missing extensions
    rows = f"SELECT id, original_name, file FROM projects_image WHERE project_id = {project.pk}"
    sql = (
        f"SELECT id, file_name, label_stem FROM {_with_file_names(rows, export_names)} AS n"
        " ORDER BY id"
    )
    got = _sql_values(sql, [], ["int8", "text", "text"])
    expected = [(i.pk, *export_names.of(i.pk, i.original_name)) for i in images]
    assert got == expected
    stems = [stem.casefold() for _, _, stem in got]
    assert len(set(stems)) == len(stems)
    by_id = {pk: name for pk, name, _ in got}
    assert by_id[images[0].pk] == "plain.png"  # the first keeps its uploaded name
    assert by_id[images[len(NAMES)].pk] == f"{images[len(NAMES)].pk}_plain.PNG"


def test_json_strings_match_json_dumps():
    texts = NAMES + ['q"uote', "back\\slash", "\b\f\r", "😀𝄞", "\u2028", "~ DEL\x7f", "plain ascii"]
    sql = (
        f"SELECT {_json_string('t')} FROM unnest(%s::text[]) WITH ORDINALITY AS u (t, n) ORDER BY n"
    )
    got = [text for (text,) in _sql_values(sql, [texts], ["text"])]
    assert got == [json.dumps(text) for text in texts]


@pytest.mark.parametrize(("width", "height"), [(640, 480), (1000, 1000), (1280, 720), (7, 3)])
def test_yolo_lines_round_like_python_at_ties_and_near_them(width, height):
    rng = random.Random(width)
    boxes = []
    for _ in range(4000):
        # Half pixels over power-of-two sizes give exact ties (5 / 640 = 0.0078125); three
        # decimals over 1000 give decimal halves at the seventh place, a hair off in binary.
        x, y = rng.randrange(2 * width) / 2, rng.randrange(2 * height) / 2
        boxes.append((x, y, rng.randrange(1, 2 * width) / 2, rng.randrange(1, 2 * height) / 2))
        x, y = rng.randrange(width * 1000) / 1000, rng.randrange(height * 1000) / 1000
        boxes.append((x, y, rng.randrange(1, 50_000) / 1000, rng.randrange(1, 50_000) / 1000))
        boxes.append((rng.uniform(0, width), rng.uniform(0, height), rng.random(), rng.random()))
    boxes += [(0.0, 0.0, float(width), float(height)), (float(width), 0.0, 5.0, 5.0)]
    boxes += [(width - 1e-9, 0.0, 1.0, 1.0)]
    rows = [(k, 7, *box) for k, box in enumerate(boxes)]
    source = (
        "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::float8[], %s::float8[],"
        " %s::float8[], %s::float8[]) AS t (k, class_id, x, y, w, h)"
    )
    sql = (
        f"SELECT lf.text FROM (SELECT {width} AS width, {height} AS height) AS i"
        f" CROSS JOIN LATERAL ({_yolo_label_file(source, ['k'], [3, 7])}) AS lf"
    )
    (got,) = _sql_values(sql, [list(column) for column in zip(*rows, strict=True)], ["text"])
    expected = yolo_lines(
        [(1, class_id, x, y, w, h) for _, class_id, x, y, w, h in rows], width, height, {7: 1}
    )
    assert got[0] == expected
    assert "0.007812" in expected or width not in (640, 1280)  # an exact tie was among them


@pytest.fixture
def awkward(dataset, lead, labeler_a, labeler_b):
    """More images in the dataset's project: awkward names, labelers and numbers."""
    project, car, truck = dataset.project, dataset.car, dataset.truck
    odd = UserFactory(username='lábeler "ü" 😀')
    MembershipFactory(project=project, user=odd, role="labeler")
    images = []
    for n, name in enumerate(NAMES):
        image = ImageFactory(project=project, original_name=name)
        Image.objects.filter(pk=image.pk).update(file=STORED[n % len(STORED)])
        images.append(image)
    boxes = [
        (car, 0.00001, 2.5, 10.0, 20.0),  # COCO prints 1e-05
        (truck, 5.0 - 2.5, 100.0, 5.0, 7.0),  # YOLO centre 5/640 = 0.0078125, an exact tie
        (car, 600.25, 470.125, 80.0, 60.0),  # past the right and bottom edges: clipped
        (truck, 123.457, 45.5, 0.1, 0.2),  # decimal halves at the seventh place
    ]
    for n, image in enumerate(images):
        mine = boxes[: n % 5]
        label(image, labeler_a, mine)
        label(image, labeler_b if n % 3 else odd, mine)
    outside = ImageFactory(project=project, original_name="outside.png")
    label(outside, labeler_a, [(car, 640.0, 10.0, 5.0, 5.0)])  # nothing inside: YOLO drops it
    label(outside, labeler_b, [(car, 640.0, 10.0, 5.0, 5.0)])
    images_assess(image_ids=[i.pk for i in [*images, outside]])
    for n, image in enumerate(images):
        ImageAgreement.objects.filter(image=image).update(score=[0.1 + 0.2, 1.0, 0.5, 1e-5][n % 4])
    return dataset


SPECS = [
    {},
    {"source": "adjudicated"},
    {"source": "raw"},
    {"source": "raw", "complete_only": False},
    {"classes": ("truck",)},
    {"source": "raw", "classes": ("car",)},
    {"min_agreement": 0.4, "exclude_flagged": True},
    {"complete_only": False},
]


def _coco(project, spec: ExportSpec, in_database: bool):
    query = ExportQuery(project=project, spec=spec, text_in_database=in_database)
    steps = []
    pieces = coco_pieces(query, info={"fixed": True}, progress=steps.append)
    body = b"".join(p if isinstance(p, bytes) else p.encode() for p in pieces)
    return body, len(steps)


def _yolo(project, spec: ExportSpec, in_database: bool):
    query = ExportQuery(project=project, spec=spec, text_in_database=in_database)
    steps = []
    body = b"".join(yolo_chunks(query, readme="r", progress=steps.append))
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        entries = [(i.filename, i.compress_type, archive.read(i)) for i in archive.infolist()]
    return entries, len(steps)


@pytest.mark.parametrize("params", SPECS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_database_text_equals_python_text_for_coco_and_yolo(awkward, params):
    project = awkward.project
    coco_spec = ExportSpec(format="coco", **params)
    in_db, in_python = _coco(project, coco_spec, True), _coco(project, coco_spec, False)
    assert in_db == in_python
    assert json.loads(in_db[0])["images"]  # the comparison is not between two empty files
    yolo_spec = ExportSpec(format="yolo", **params)
    assert _yolo(project, yolo_spec, True) == _yolo(project, yolo_spec, False)


@pytest.mark.parametrize(("source", "images"), [("consensus", 4), ("raw", 5)])
def test_database_text_equals_python_text_for_yolo_with_images(dataset, source, images):
    spec = ExportSpec(format="yolo", source=source, include_images=True)
    in_db = _yolo(dataset.project, spec, True)
    assert in_db == _yolo(dataset.project, spec, False)
    folder = "images/" if source == "consensus" else "labeler_a/images/"
    assert sum(name.startswith(folder) for name, _, _ in in_db[0]) == images
    assert in_db[1] == images  # one step of progress per image


def test_an_export_abandoned_halfway_leaves_the_transaction_usable(db):
    """A client that goes away stops the COPY (psycopg cancels it); a caller's transaction lives on."""
    # A nested loop streams its rows (a lone generate_series would be materialised first).
    endless = "SELECT a::int8 * 100000 + b FROM generate_series(0, 9999) AS a, generate_series(1, 99999) AS b"
    rows = _copy_rows(Image.objects.db, endless, [], ["int8"])
    assert next(rows) == (1,)
    rows.close()  # what closing the response does to the stream
    assert not Image.objects.exists()  # the test's transaction still answers
