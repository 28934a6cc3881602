"""Word lists for the synthetic institution: people's names, subjects and course titles."""

from __future__ import annotations

FIRST_NAMES: tuple[str, ...] = (
    "Aaliyah", "Aarav", "Abigail", "Adrian", "Aisha", "Alejandro", "Amara", "Andre", "Anika", "Ava",
    "Benjamin", "Bianca", "Caleb", "Camila", "Chloe", "Daniel", "Daria", "Diego", "Elena", "Elijah",
    "Emeka", "Emily", "Fatima", "Felix", "Gabriel", "Grace", "Hana", "Harper", "Hiroshi", "Ines",
    "Isaac", "Isabella", "Jamal", "Javier", "Jia", "Jonah", "Kai", "Kavya", "Leah", "Liam",
    "Lucia", "Mason", "Maya", "Mei", "Mateo", "Nadia", "Noah", "Nora", "Oliver", "Olivia",
    "Omar", "Priya", "Quinn", "Rafael", "Rosa", "Samuel", "Sofia", "Tariq", "Theo", "Valentina",
    "Wei", "Yara", "Yusuf", "Zara", "Zoe", "Owen", "Ruth", "Sven", "Tomas", "Uma",
)

LAST_NAMES: tuple[str, ...] = (
    "Abara", "Alvarez", "Andersen", "Bauer", "Becker", "Bianchi", "Brooks", "Castillo", "Chen", "Clarke",
    "Cohen", "Costa", "Das", "Dubois", "Edwards", "Eriksen", "Fischer", "Fontaine", "Garcia", "Gupta",
    "Haddad", "Hansen", "Hernandez", "Hoang", "Ibrahim", "Ivanova", "Jensen", "Johnson", "Kaur", "Kim",
    "Kowalski", "Laurent", "Lee", "Lopez", "Mahmoud", "Martin", "Mendes", "Moreau", "Murphy", "Nakamura",
    "Nguyen", "Novak", "Okafor", "Olsen", "Patel", "Petrov", "Quintero", "Ramirez", "Reyes", "Rossi",
    "Sato", "Schmidt", "Silva", "Singh", "Smith", "Sokolov", "Tanaka", "Thompson", "Torres", "Usman",
    "Vargas", "Virtanen", "Wagner", "Walsh", "Wang", "Williams", "Xu", "Yamamoto", "Yilmaz", "Zhang",
)

MIDDLE_INITIALS: tuple[str, ...] = ("A.", "B.", "C.", "D.", "E.", "J.", "K.", "L.", "M.", "R.", "S.", "T.")

SUBJECTS: tuple[tuple[str, str], ...] = (
    ("Mathematics", "MATH"), ("History", "HIST"), ("Biology", "BIOL"), ("Computer Science", "CSCI"),
    ("English", "ENGL"), ("Chemistry", "CHEM"), ("Physics", "PHYS"), ("Psychology", "PSYC"),
    ("Economics", "ECON"), ("Sociology", "SOCI"), ("Philosophy", "PHIL"), ("Statistics", "STAT"),
    ("Nursing", "NURS"), ("Education", "EDUC"), ("Music", "MUSI"), ("Art History", "ARTH"),
    ("Geography", "GEOG"), ("Political Science", "POLS"), ("Anthropology", "ANTH"), ("Linguistics", "LING"),
    ("Accounting", "ACCT"), ("Marketing", "MKTG"), ("Finance", "FINA"), ("Management", "MGMT"),
    ("Civil Engineering", "CIVE"), ("Mechanical Engineering", "MECH"), ("Electrical Engineering", "ELEC"),
    ("Environmental Science", "ENVS"), ("Geology", "GEOL"), ("Astronomy", "ASTR"), ("Spanish", "SPAN"),
    ("French", "FREN"), ("German", "GERM"), ("Japanese", "JAPN"), ("Theatre", "THEA"), ("Film Studies", "FILM"),
    ("Public Health", "PUBH"), ("Kinesiology", "KINE"), ("Social Work", "SOWK"), ("Journalism", "JOUR"),
    ("Architecture", "ARCH"), ("Classics", "CLAS"), ("Religious Studies", "RELS"), ("Data Science", "DATA"),
)

COURSE_TITLES: tuple[str, ...] = (
    "Foundations of {}", "Principles of {}", "Methods in {}", "Topics in {}", "Applied {}",
    "{} in Practice", "Advanced {}", "{} Seminar", "Research Design in {}", "History of {}",
    "{} Laboratory", "Contemporary {}",
)

COURSE_NUMBERS: tuple[int, ...] = (101, 102, 110, 201, 202, 215, 230, 301, 310, 320, 350, 401, 410, 450, 499)

COMMENTS: tuple[str, ...] = (
    "Good work.", "See rubric feedback.", "Well argued; check your citations.", "Late penalty applied.",
    "Excellent.", "Please come to office hours.", "Strong analysis.", "Show your working next time.",
)
