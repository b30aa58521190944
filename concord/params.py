"""Query and form parameters that a request cannot use: one error, and the parsers that raise it.

A ParamError names the parameter and says what it accepts. The API answers it as a JSON 400
(concord.exceptions), pages as the 400 page (concord.middleware.BadInputMiddleware); it is a
Django BadRequest, so anything else that meets it answers 400 too, never 500.
"""

from collections.abc import Mapping

from django.core.exceptions import BadRequest

# The largest id any table has (BigAutoField); a longer number is not an id of anything.
ID_MAX = 2**63 - 1
NUL = "\x00"


class ParamError(BadRequest):
    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param = param
        self.message = message


def id_value(raw) -> int | None:
    """`raw` as an id if it is one written in ASCII digits (no sign, space, '²' or '٣'), else None.

    str.isdigit() alone is not enough: it accepts '²', which int() refuses, and int() accepts
    '٣', ' 7' and '+7', which no client means as an id.
    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 0 < raw <= ID_MAX else None
    if not isinstance(raw, str) or not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        return None
    value = int(raw)
    return value if 0 < value <= ID_MAX else None


def id_param(params: Mapping, name: str) -> int | None:
    """The id in `params[name]`; None when absent or empty; ParamError when it is not an id."""
    raw = params.get(name)
    if raw in (None, ""):
        return None
    value = id_value(raw)
    if value is None:
        raise ParamError(name, f"{name} must be an id (a whole number such as 42); got {raw!r}.")
    return value


def nul_check(params: Mapping, *, where: str) -> None:
    """Refuse a NUL character in any name or value: PostgreSQL cannot store or compare text
    with one, and no person types it."""
    lists = params.lists() if hasattr(params, "lists") else ((k, [v]) for k, v in params.items())
    for name, values in lists:
        if NUL in name or any(isinstance(v, str) and NUL in v for v in values):
            shown = name.replace(NUL, "\\x00")
            raise ParamError(
                shown,
                f"The {where} {shown!r} contains a NUL character (\\x00); remove it and send "
                "the request again.",
            )
