"""Fixed vocabularies the generator draws from: names, colleges, departments, assignment-group kinds."""

from __future__ import annotations

from typing import NamedTuple

FIRST_NAMES = (
    "Aaliyah Aaron Abigail Adrian Aiden Alejandro Alexis Alice Amara Amir Ana Andre Anika Arjun Ava "
    "Benjamin Bianca Brandon Caleb Camila Carlos Chen Chloe Daniel Daniela David Deja Diego Dmitri "
    "Elena Eli Elijah Emily Emma Ethan Fatima Felix Gabriel Grace Hana Hannah Hiroshi Ian Imani Isaac "
    "Isabella Jack Jamal Jasmine Javier Jayden Jia Jordan Jose Joshua Julia Kai Kayla Keisha Kenji "
    "Layla Leah Leo Liam Lucas Lucia Luis Maya Mei Mia Michael Mohammed Naomi Nathan Nia Noah Olivia "
    "Omar Priya Rafael Rahul Riley Rosa Ryan Samuel Santiago Sara Sofia Tariq Thomas Valentina "
    "Victoria William Xavier Yara Yusuf Zara Zoe"
).split()

LAST_NAMES = (
    "Abbott Adams Ahmed Alvarez Anderson Baker Banerjee Bennett Brooks Brown Campbell Carter Castillo "
    "Chang Chen Clark Collins Cooper Cruz Davis Diaz Edwards Evans Fischer Flores Foster Garcia Gonzalez "
    "Gray Green Gupta Hall Harris Hernandez Hill Hughes Ibrahim Jackson James Johnson Jones Kelly Khan "
    "Kim Kowalski Lee Lewis Lopez Martin Martinez Mendoza Miller Mitchell Moore Morales Morgan Murphy "
    "Nguyen Novak Okafor Ortiz Park Patel Perez Peterson Phillips Price Ramirez Reed Reyes Richardson "
    "Rivera Roberts Robinson Rodriguez Rossi Russell Sanchez Santos Schmidt Scott Shah Singh Smith "
    "Sullivan Tanaka Taylor Thomas Thompson Torres Tran Turner Walker Wang Ward Watson White Williams "
    "Wilson Wong Wright Yamamoto Young Zhang"
).split()


class Department(NamedTuple):
    """A department: its name, subject code and course titles by catalog number."""

    name: str
    subject: str
    titles: tuple[tuple[int, str], ...]


class College(NamedTuple):
    """A college (sub-account) and its departments."""

    name: str
    code: str
    departments: tuple[Department, ...]


def _dept(name: str, subject: str, titles: str) -> Department:
    parsed = []
    for item in titles.split(";"):
        number, title = item.strip().split(" ", 1)
        parsed.append((int(number), title))
    return Department(name, subject, tuple(parsed))


COLLEGES: tuple[College, ...] = (
    College(
        "College of Arts and Sciences",
        "CAS",
        (
            _dept(
                "Mathematics",
                "MATH",
                "101 College Algebra; 151 Calculus I; 152 Calculus II; 221 Linear Algebra; 231 Discrete Mathematics; 310 Probability",
            ),
            _dept(
                "English",
                "ENGL",
                "101 Composition I; 102 Composition II; 210 World Literature; 245 Creative Writing; 320 Shakespeare; 350 Modern Poetry",
            ),
            _dept(
                "History",
                "HIST",
                "101 World History I; 102 World History II; 201 US History to 1877; 202 US History since 1877; 330 History of Science",
            ),
            _dept(
                "Biology",
                "BIOL",
                "110 Principles of Biology; 120 Organismal Biology; 210 Genetics; 240 Microbiology; 315 Ecology; 330 Cell Biology",
            ),
        ),
    ),
    College(
        "College of Engineering",
        "COE",
        (
            _dept(
                "Computer Science",
                "CS",
                "101 Introduction to Programming; 201 Data Structures; 220 Computer Organization; 310 Algorithms; 340 Databases; 350 Operating Systems",
            ),
            _dept(
                "Electrical and Computer Engineering",
                "ECE",
                "110 Circuits I; 210 Signals and Systems; 230 Digital Logic; 320 Embedded Systems; 340 Electromagnetics",
            ),
            _dept(
                "Mechanical Engineering",
                "ME",
                "101 Engineering Graphics; 211 Statics; 212 Dynamics; 301 Thermodynamics; 320 Fluid Mechanics",
            ),
            _dept(
                "Civil Engineering",
                "CE",
                "201 Surveying; 240 Structural Analysis; 310 Transportation Engineering; 330 Geotechnics; 350 Hydraulics",
            ),
        ),
    ),
    College(
        "College of Business",
        "BUS",
        (
            _dept(
                "Accounting",
                "ACCT",
                "201 Financial Accounting; 202 Managerial Accounting; 310 Cost Accounting; 330 Auditing; 340 Taxation",
            ),
            _dept(
                "Economics",
                "ECON",
                "101 Principles of Microeconomics; 102 Principles of Macroeconomics; 301 Econometrics; 320 Labor Economics",
            ),
            _dept(
                "Management",
                "MGMT",
                "201 Principles of Management; 301 Organizational Behavior; 330 Operations Management; 410 Strategy",
            ),
            _dept(
                "Marketing",
                "MKTG",
                "201 Principles of Marketing; 310 Consumer Behavior; 320 Digital Marketing; 410 Marketing Research",
            ),
        ),
    ),
    College(
        "College of Health Sciences",
        "CHS",
        (
            _dept(
                "Nursing",
                "NURS",
                "101 Foundations of Nursing; 210 Health Assessment; 220 Pharmacology; 310 Adult Health; 330 Community Health",
            ),
            _dept(
                "Public Health",
                "PH",
                "101 Introduction to Public Health; 210 Epidemiology; 220 Biostatistics; 310 Global Health",
            ),
            _dept(
                "Kinesiology",
                "KIN",
                "101 Foundations of Kinesiology; 210 Exercise Physiology; 230 Biomechanics; 320 Motor Learning",
            ),
            _dept(
                "Nutrition",
                "NUTR",
                "101 Human Nutrition; 210 Food Science; 310 Clinical Nutrition; 320 Community Nutrition",
            ),
        ),
    ),
    College(
        "College of Education",
        "EDU",
        (
            _dept(
                "Curriculum and Instruction",
                "EDCI",
                "201 Foundations of Education; 310 Classroom Management; 320 Literacy Methods; 410 Student Teaching Seminar",
            ),
            _dept(
                "Educational Psychology",
                "EPSY",
                "210 Learning and Development; 310 Assessment; 320 Educational Statistics",
            ),
            _dept(
                "Special Education",
                "SPED",
                "201 Exceptional Learners; 310 Inclusive Practices; 320 Behavior Support",
            ),
            _dept(
                "Educational Technology",
                "EDTC",
                "201 Technology in the Classroom; 310 Instructional Design; 320 Online Learning",
            ),
        ),
    ),
    College(
        "College of Fine Arts",
        "CFA",
        (
            _dept(
                "Music", "MUS", "101 Music Theory I; 102 Music Theory II; 210 Music History; 220 Ear Training"
            ),
            _dept("Art", "ART", "101 Drawing I; 110 Design Foundations; 210 Painting; 230 Photography"),
            _dept(
                "Theatre", "THEA", "101 Introduction to Theatre; 210 Acting I; 230 Stagecraft; 310 Directing"
            ),
            _dept("Dance", "DANC", "101 Dance Appreciation; 210 Modern Dance; 220 Choreography"),
        ),
    ),
    College(
        "College of Natural Resources",
        "CNR",
        (
            _dept(
                "Environmental Science",
                "ENVS",
                "101 Environmental Science; 210 Climate Change; 310 Environmental Policy",
            ),
            _dept("Geology", "GEOL", "101 Physical Geology; 210 Mineralogy; 310 Hydrogeology"),
            _dept("Forestry", "FOR", "201 Forest Ecology; 310 Silviculture; 320 Wildland Fire"),
            _dept(
                "Agriculture",
                "AGRI",
                "101 Introduction to Agriculture; 210 Soil Science; 310 Crop Production",
            ),
        ),
    ),
    College(
        "College of Social Sciences",
        "CSS",
        (
            _dept(
                "Psychology",
                "PSYC",
                "101 Introduction to Psychology; 210 Developmental Psychology; 220 Research Methods; 310 Cognitive Psychology; 330 Social Psychology",
            ),
            _dept(
                "Sociology", "SOC", "101 Introduction to Sociology; 210 Social Problems; 310 Social Theory"
            ),
            _dept(
                "Political Science",
                "POLS",
                "101 American Government; 210 Comparative Politics; 310 International Relations",
            ),
            _dept(
                "Anthropology",
                "ANTH",
                "101 Cultural Anthropology; 210 Archaeology; 310 Linguistic Anthropology",
            ),
        ),
    ),
)


class GroupKind(NamedTuple):
    """A kind of assignment group: item label, typical points, submission types, rule odds."""

    name: str
    item: str
    points: tuple[float, ...]
    submission_types: tuple[str, ...]
    share: int  # relative number of assignments the group gets


GROUP_KINDS: tuple[GroupKind, ...] = (
    GroupKind("Homework", "Homework", (10.0, 10.0, 20.0), ("online_upload", "online_text_entry"), 4),
    GroupKind("Quizzes", "Quiz", (10.0, 15.0, 20.0), ("online_quiz",), 3),
    GroupKind("Exams", "Exam", (100.0, 100.0, 50.0), ("on_paper",), 1),
    GroupKind("Labs", "Lab", (25.0, 20.0), ("online_upload",), 3),
    GroupKind("Projects", "Project", (50.0, 100.0), ("online_upload", "online_url"), 1),
    GroupKind("Participation", "Participation", (5.0, 10.0), ("none",), 2),
    GroupKind("Discussions", "Discussion", (10.0, 5.0), ("discussion_topic",), 3),
    GroupKind("Readings", "Reading Response", (5.0, 10.0), ("online_text_entry",), 3),
)

SUBMISSION_TYPE_FOR = {
    "online_upload": "online_upload",
    "online_text_entry": "online_text_entry",
    "online_url": "online_url",
    "online_quiz": "online_quiz",
    "discussion_topic": "discussion_topic",
    "external_tool": "basic_lti_launch",
}

# Submission types that never produce a student submission (graded directly by the teacher).
NO_SUBMISSION_TYPES = frozenset({"on_paper", "none", "external_tool"})
