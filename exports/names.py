"""File names in exports: the name the image was uploaded with, made unique within the project.

The rule, which the data card and the API docs repeat:

- the uploaded name's last path component (a zip member's folders and a Windows path's
  backslashes are dropped), control characters replaced by "_";
- an extension is added from the stored file ("<name>.jpg") when the uploaded name has none, and
  a name with nothing usable becomes "image.<ext>";
- names are unique by their stem (the part before the last dot, compared without case), because
  label files (YOLO .txt, VOC .xml) are named by the stem: the image with the lowest id keeps its
  name (an uploaded name that had no extension yields to one that had), every other image with
  the same stem gets its id as a prefix, "<id>_<name>". Names are
  decided over the whole project, so an image keeps its name from one export to the next
  whatever the filters.

`ExportNames.of(id, original_name, stored)` answers (file name, label stem). Most names are the
plain base name; only the exceptions (renamed or prefixed) are kept in `renamed`, which
PostgreSQL's writers receive as a literal (exports/sql_text.py `_with_file_names`).
"""

import posixpath
import re
from dataclasses import dataclass, field

from django.db import connections

from projects.models import Image, Project

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def base_name(original_name: str) -> str:
    """The uploaded name's last path component (what PostgreSQL computes with split_part)."""
    return original_name.replace("\\", "/").rpartition("/")[2]


def label_stem(file_name: str) -> str:
    """What label files are named by: the file name before its last dot."""
    return file_name.rpartition(".")[0] or file_name


def _has_extension(name: str) -> bool:
    head, dot, tail = name.rpartition(".")
    return bool(dot and head and tail)


@dataclass
class ExportNames:
    """Export file names of a project's images; only names that differ from the base name are held."""

    renamed: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (file name, stem)

    def of(self, image_id: int, original_name: str) -> tuple[str, str]:
        found = self.renamed.get(image_id)
        if found is not None:
            return found
        name = base_name(original_name)
        return name, label_stem(name)


def project_export_names(*, project: Project, using: str | None = None) -> ExportNames:
    """Decide every image's export name: one streamed read of the project's names, in id order.

    Only what a later image could collide with is kept (the taken stems, casefolded), so the
    read stays small for 100,000 images; stored names are read for the few without an extension.
    """
    connection = connections[using or Image.objects.db]
    taken: set[str] = set()
    renamed: dict[int, tuple[str, str]] = {}
    later: list[tuple[int, str]] = []
    bare: list[int] = []  # no usable extension in the uploaded name: take the stored file's
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, original_name FROM {Image._meta.db_table} WHERE project_id = %s ORDER BY id",
            [project.pk],
        )
        while rows := cursor.fetchmany(5000):
            for pk, original in rows:
                base = base_name(original)
                name = _CONTROL.sub("_", base)
                if name in ("", ".", ".."):
                    name = "image"
                if not _has_extension(name):
                    bare.append(pk)
                    renamed[pk] = (name, "")  # completed below
                    continue
                key = label_stem(name).casefold()
                if key in taken:
                    later.append((pk, name))
                    continue
                taken.add(key)
                if name != base:
                    renamed[pk] = (name, label_stem(name))
    if bare:
        stored = dict(Image.objects.using(using).filter(pk__in=bare).values_list("pk", "file"))
        for pk in bare:
            ext = posixpath.splitext(stored[pk])[1].lower()
            name = renamed.pop(pk)[0] + ext
            key = label_stem(name).casefold()
            if key in taken:
                later.append((pk, name))
            else:
                taken.add(key)
                renamed[pk] = (name, label_stem(name))
    for pk, name in sorted(later):
        candidate, n = f"{pk}_{name}", 1
        while label_stem(candidate).casefold() in taken:  # "<id>_<name>" was itself uploaded
            candidate, n = f"{pk}_{n}_{name}", n + 1
        taken.add(label_stem(candidate).casefold())
        renamed[pk] = (candidate, label_stem(candidate))
    return ExportNames(renamed)
