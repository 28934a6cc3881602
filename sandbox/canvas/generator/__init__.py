"""The seeded generator of a synthetic Canvas institution, in parts: people, courses, gradebook,
submissions. `build_institution(size, seed)` is deterministic."""

from __future__ import annotations

import logging

from ..institution import Institution
from .courses import CourseGenerator
from .gradebook import GradebookGenerator
from .grading import build_grading
from .people import PeopleGenerator
from .seeded import Seeded
from .submissions import SubmissionGenerator

log = logging.getLogger(__name__)


def build_institution(size: str = "small", seed: int = 7) -> Institution:
    """Generate the institution for (size, seed) deterministically.

    Args:
        size: "small", "medium" or "large".
        seed: Any integer; the same (size, seed) always gives the same institution.

    Returns:
        The indexed institution.
    """
    seeded = Seeded(size, seed)
    people = PeopleGenerator(seeded)
    gradebook = GradebookGenerator(seeded, SubmissionGenerator(seeded, people))
    people.build_accounts()
    people.build_terms()
    people.build_users()
    CourseGenerator(seeded, people, gradebook).build_courses()
    inst = seeded.inst
    build_grading(inst)
    inst.next_assignment_id = seeded.ids["assignment"]
    inst.next_submission_id = seeded.ids["submission"]
    inst.index()
    log.info(
        "built %s institution seed=%s: %d courses, %d users", size, seed, len(inst.courses), len(inst.users)
    )
    return inst
