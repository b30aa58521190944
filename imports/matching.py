"""Which project image a label file means: by file name, and by content for uploaded images.

A label file names its images (a path, a file name, or, for YOLO, the stem its label file is
named after). Candidates, in order:

1. an image uploaded with the labels, by its file name (or stem): it was ingested first, and
   if its bytes were already in the project (same SHA-256), it is that image: re-importing a
   dataset never duplicates images;
2. the project's image with that export name (exports/names.py: names are unique by stem, so
   an export's labels find their images again, renamed ones included);
3. the project's image uploaded under that name, when only one was;
4. the same by stem (the name without its extension), when the file gives only a stem or no
   image has the full name.

Names compare without case and without folders. A name that several images share and that
nothing above settles is reported, never guessed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from exports.names import base_name, label_stem, project_export_names
from imports.formats.types import ImageRef
from projects.models import Image, Project

AMBIGUOUS = -2


@dataclass
class ProjectImages:
    """Lookups of one project's images (ids by name; -2 where a name is shared)."""

    by_name: dict[str, int] = field(default_factory=dict)
    by_stem: dict[str, int] = field(default_factory=dict)
    uploaded_by_name: dict[str, int] = field(default_factory=dict)
    uploaded_by_stem: dict[str, int] = field(default_factory=dict)
    ids: set[int] = field(default_factory=set)
    size: dict[int, tuple[int, int]] = field(default_factory=dict)

    def uploaded(self, name: str, image_id: int) -> None:
        """An image file that came with the labels, stored (or found by content) as image_id."""
        base = base_name(name).casefold()
        _put(self.uploaded_by_name, base, image_id)
        _put(self.uploaded_by_stem, label_stem(base), image_id)

    def find(self, ref: ImageRef) -> int:
        """The image id, -1 when no image matches, AMBIGUOUS when several do."""
        if ref.concord_id is not None:
            return ref.concord_id if ref.concord_id in self.ids else -1
        base = base_name(ref.name).casefold()
        stem = base if ref.stem_only else label_stem(base)
        lookups = [(self.uploaded_by_stem, stem)] if ref.stem_only else [
            (self.uploaded_by_name, base), (self.by_name, base)]  # fmt: skip
        if ref.stem_only:
            lookups.append((self.by_stem, stem))
        else:
            lookups += [(self.uploaded_by_stem, stem), (self.by_stem, stem)]
        for table, key in lookups:
            found = table.get(key)
            if found is not None:
                return found
        return -1


def _put(table: dict, key: str, image_id: int) -> None:
    if table.get(key, image_id) != image_id:
        table[key] = AMBIGUOUS
    else:
        table[key] = image_id


def project_images_index(*, project: Project) -> ProjectImages:
    """Name lookups of every image of the project: two streamed reads, ~1 s per 100,000."""
    index = ProjectImages()
    names = project_export_names(project=project)
    by_original: dict[str, set[int]] = defaultdict(set)
    stems: dict[str, set[int]] = defaultdict(set)
    rows = Image.objects.filter(project=project).values_list(
        "pk", "original_name", "width", "height"
    )
    for pk, original, width, height in rows.iterator(chunk_size=5000):
        index.ids.add(pk)
        index.size[pk] = (width, height)
        export_name, export_stem = names.of(pk, original)
        index.by_name[export_name.casefold()] = pk
        index.by_stem[export_stem.casefold()] = pk
        base = base_name(original).casefold()
        by_original[base].add(pk)
        stems[label_stem(base)].add(pk)
    # An uploaded name that is not anyone's export name counts when it is one image's alone.
    for table, found in ((index.by_name, by_original), (index.by_stem, stems)):
        for key, ids in found.items():
            if key not in table:
                table[key] = next(iter(ids)) if len(ids) == 1 else AMBIGUOUS
    return index
