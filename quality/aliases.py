"""Labelers as other labelers may see them: "labeler A", "labeler B"... never their usernames.

Labeling is blind, but leads write text that every labeler reads (worked examples in the
instructions, the note of a dismissed flag), and that text may name labelers.
"""

import re

from annotations.models import Annotation


def labeler_aliases(*, image_ids) -> dict[int, dict[str, str]]:
    """Per image: username -> "labeler A", "labeler B"... for everyone who labeled it, in
    username order (one query)."""
    rows = (
        Annotation.objects.filter(image_id__in=list(image_ids), kind=Annotation.Kind.LABEL)
        .values_list("image_id", "labeler__username")
        .distinct()
    )
    names: dict[int, list[str]] = {image_id: [] for image_id in image_ids}
    for image_id, username in rows:
        names[image_id].append(username)
    return {
        image_id: {name: f"labeler {_letters(n)}" for n, name in enumerate(sorted(usernames))}
        for image_id, usernames in names.items()
    }


def names_replaced(text: str, aliases: dict[str, str]) -> str:
    """Every occurrence of each name (any case, longest first, in one pass) replaced by its alias.

    For text a person wrote, where the names are not marked: no word-boundary guess, so names
    that start or end with punctuation ("+kim", "lee.") go too. A name inside a longer word is
    replaced as well: a garbled word is harmless, a leaked name is not.
    """
    if not aliases or not text:
        return text
    folded = {name.casefold(): alias for name, alias in aliases.items()}
    pattern = "|".join(re.escape(name) for name in sorted(aliases, key=len, reverse=True))
    return re.sub(
        pattern, lambda m: folded.get(m.group(0).casefold(), "a labeler"), text, flags=re.IGNORECASE
    )


def _letters(n: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: spreadsheet column names."""
    letters = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
