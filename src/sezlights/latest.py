"""``months.end: latest``: the newest month every configured source has complete.

Run by the ``find_latest_month`` job (a checkpoint: the month list is planned from what
it writes), never while the workflow is parsed. Each source first finds its own newest
complete month (:meth:`sezlights.sources.Source.latest_month`, over the tiles its grid's
pixel index says the zones need); the oldest of those is then checked with every other
source, and if one lacks it, the month before, and so on. Every search gives up after
:data:`sezlights.sources.MAX_SKIPPED` months.
"""

from __future__ import annotations

from collections.abc import Mapping

from .errors import MissingFileError, UserError
from .months import from_index, month_index
from .sources import MAX_SKIPPED, Source


def latest_month(
    found: Mapping[str, Source], needed: Mapping[str, list[str]], first: str
) -> tuple[str, list[str]]:
    """The newest month, not before ``first``, that every source in ``found`` lists
    completely for the tiles ``needed[name]``, and one line per newer month skipped."""
    sessions = {name: src.session() for name, src in found.items()}
    own, notes = {}, []
    for name, src in found.items():
        own[name], skipped = src.latest_month(sessions[name], needed[name], first)
        notes += [f"{name}: {line}" for line in skipped]
    oldest = max([first] + [s.first_month for s in found.values()], key=month_index)
    start = min(month_index(m) for m in own.values())
    i, skipped = start, 0
    while True:
        month = from_index(i)
        lacking = []
        for name, src in found.items():
            if own[name] == month:
                continue  # its own search found this month complete
            try:
                why = src.complete(
                    src.list_month(sessions[name], month, needed[name]), needed[name]
                )
            except MissingFileError as exc:
                why = str(exc).split("; ")[0]
            if why:
                lacking.append(f"{name} {why}")
        if not lacking:
            return month, notes
        notes.append(f"skipped {month}: " + "; ".join(lacking))
        skipped += 1
        i -= 1
        if skipped >= MAX_SKIPPED or i < month_index(oldest):
            raise UserError(
                f"months.end latest: none of the {skipped} months from {from_index(start)} back "
                f"has every file the zones need from {' and '.join(found)} (looked back to "
                f"{from_index(i + 1)}, at most {MAX_SKIPPED} months); " + "; ".join(notes[-3:])
            )
