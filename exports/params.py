"""What an export asks for: one parser shared by the API, the data card and `manage.py export`.

Every bad value raises ExportParamError naming the parameter and the values it accepts, so the
API can answer 400 and the command can exit with the same sentence.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from concord.params import ParamError, id_value
from exports.splits import SplitSpec

FORMATS = ("coco", "yolo", "voc", "csv")
LAYOUTS = ("file", "datumaro")
SOURCES = ("consensus", "adjudicated", "raw", "gold")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ExportParamError(ParamError):
    """A bad export parameter (the API answers it as any ParamError: a JSON 400)."""


@dataclass(frozen=True)
class ExportSpec:
    format: str = "coco"
    source: str = "consensus"
    min_agreement: float | None = None
    exclude_flagged: bool = False
    classes: tuple[str, ...] = ()  # names or ids as given; resolved against the project
    complete_only: bool = True
    include_images: bool = False
    # Keep images whose every labeler's label set was made under this instruction version or a
    # later one (checked against the project's versions by ExportQuery).
    min_instruction_version: int | None = None
    # coco: "file" (one JSON) or "datumaro" (annotations/instances_<subset>.json)
    layout: str = "file"
    split: SplitSpec | None = None

    def as_query(self) -> dict:
        """The filters as they were applied, for the data card and file headers."""
        split = self.split.as_query() if self.split else {}
        return {
            "format": self.format,
            "source": self.source,
            "min_agreement": self.min_agreement,
            "exclude_flagged": self.exclude_flagged,
            "classes": list(self.classes),
            "complete_only": self.complete_only,
            "include_images": self.include_images,
            "min_instruction_version": self.min_instruction_version,
            **({"layout": self.layout} if self.format == "coco" else {}),
            **split,
        }


def export_spec_parse(params: Mapping[str, str], *, default_format: str = "coco") -> ExportSpec:
    """Build an ExportSpec from query parameters (or command options as strings)."""
    fmt = _choice(params, "format", FORMATS, default_format)
    source = _choice(params, "source", SOURCES, "consensus")
    min_agreement = None
    raw = _get(params, "min_agreement")
    if raw not in (None, ""):
        try:
            min_agreement = float(raw)
        except ValueError:
            min_agreement = -1.0
        if not 0.0 <= min_agreement <= 1.0:
            raise ExportParamError(
                "min_agreement",
                f"min_agreement must be a number from 0 to 1 (the image agreement score); got {raw!r}.",
            )
    min_version = None
    raw = _get(params, "min_instruction_version")
    if raw not in (None, ""):
        min_version = id_value(raw)
        if min_version is None:
            raise ExportParamError(
                "min_instruction_version",
                f"min_instruction_version must be a version number of the instructions (1, 2, "
                f"...); got {raw!r}.",
            )
    classes_raw = _get(params, "classes") or ""
    classes = tuple(part.strip() for part in classes_raw.split(",") if part.strip())
    layout = _choice(params, "layout", LAYOUTS, "file")
    if layout != "file" and fmt != "coco":
        raise ExportParamError("layout", "layout applies to format=coco only.")
    split = _split(params, fmt)
    return ExportSpec(
        format=fmt,
        layout=layout,
        split=split,
        source=source,
        min_agreement=min_agreement,
        exclude_flagged=_bool(params, "exclude_flagged", False),
        classes=classes,
        complete_only=_bool(params, "complete_only", True),
        include_images=_bool(params, "include_images", False),
        min_instruction_version=min_version,
    )


def _split(params: Mapping[str, str], fmt: str) -> SplitSpec | None:
    raw = _get(params, "split")
    seed_raw = _get(params, "split_seed")
    if raw in (None, ""):
        if seed_raw not in (None, ""):
            raise ExportParamError("split_seed", "split_seed needs split (e.g. split=0.8,0.1,0.1).")
        return None
    if fmt == "csv":
        raise ExportParamError("split", "split applies to coco, yolo and voc exports.")
    message = (
        "split must be two or three fractions for train,val[,test] that add up to 1, "
        f"e.g. 0.8,0.1,0.1; got {params.get('split')!r}."
    )
    try:
        fractions = [float(part) for part in raw.split(",")]
    except ValueError:
        raise ExportParamError("split", message) from None
    if (
        len(fractions) not in (2, 3)
        or any(not 0.0 <= f <= 1.0 for f in fractions)
        or abs(sum(fractions) - 1.0) > 1e-6
    ):
        raise ExportParamError("split", message)
    seed = 0
    if seed_raw not in (None, ""):
        if not (seed_raw.isascii() and seed_raw.isdigit()) or len(seed_raw) > 18:
            raise ExportParamError(
                "split_seed",
                f"split_seed must be a whole number >= 0; got {params.get('split_seed')!r}.",
            )
        seed = int(seed_raw)
    return SplitSpec(tuple(fractions + [0.0] * (3 - len(fractions))), seed)


def _get(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    return None if value is None else str(value).strip()


def _choice(params, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = _get(params, name)
    if value in (None, ""):
        return default
    value = value.lower()
    if value not in allowed:
        raise ExportParamError(
            name, f"{name} must be one of {', '.join(allowed)}; got {params.get(name)!r}."
        )
    return value


def _bool(params, name: str, default: bool) -> bool:
    value = _get(params, name)
    if value is None:
        return default
    value = value.lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False if value else default
    raise ExportParamError(
        name, f"{name} must be 1 or 0 (true or false); got {params.get(name)!r}."
    )
