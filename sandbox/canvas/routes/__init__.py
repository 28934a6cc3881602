"""The Canvas sandbox's routes, one room per area of the API; app.py serves them all.

Each room lists its routes as data, `(method, path, handler name)`: `ROUTES` under /api/v1,
`SITE_ROUTES` outside it (file downloads). A path can have a GET handler in one room and a POST one
in another, since routes are matched per method.
"""

from __future__ import annotations

from typing import ClassVar

from ..institution import Institution
from ..lookups import Lookups
from ..write_jobs import WriteJobs

Route = tuple[str, str, str]


class Room:
    """Handlers for one area of the API over the institution, its lookups and the write jobs."""

    ROUTES: ClassVar[tuple[Route, ...]] = ()
    SITE_ROUTES: ClassVar[tuple[Route, ...]] = ()

    def __init__(self, inst: Institution, find: Lookups, jobs: WriteJobs) -> None:
        self.inst = inst
        self.find = find
        self.jobs = jobs
