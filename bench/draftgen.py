"""Synthetic strategy drafts for the benchmarks: a document and its overnight redraft.

Deterministic (a seeded ``random.Random``, nothing else), so a figure measured on one
machine can be measured again on another on the same text. The shape follows the drafts
Plenary is for: a title and a short preamble, 8-12 numbered chapters of 2-5 subsections,
paragraphs of 40-150 words (one line each, as editors save soft-wrapped text), now and
then a bullet list, and a recurring "What we will do" subsection, since real drafts
repeat headings.

    from draftgen import document, redraft
    v1 = document(20_000, seed=1)
    v2 = redraft(v1, seed=2)

The redraft is what a writing team does overnight: about one section in ten edited (a
few words or a sentence in 1-3 paragraphs), 1-2 sections added, one removed, one moved
to another chapter, one heading renamed.
"""

from __future__ import annotations

import random

from plenary.domain.diff import split_sections

CHAPTERS = [
    "Why things must change",
    "Access to urgent care",
    "Our workforce",
    "Care closer to home",
    "Mental health crisis care",
    "Children and young people",
    "Ambulance and emergency departments",
    "Discharge and flow",
    "Digital and data",
    "Money and estates",
    "Working with partners",
    "Prevention and public health",
    "Inequalities",
    "Governance and delivery",
]
TOPICS = [
    "same day access",
    "the single point of contact",
    "urgent treatment centres",
    "NHS 111 and clinical triage",
    "community pharmacies",
    "recruitment and retention",
    "training and career routes",
    "virtual wards",
    "frailty services",
    "crisis cafes",
    "school nursing",
    "handover delays",
    "weekend discharge",
    "shared care records",
    "capital investment",
    "the voluntary sector",
    "carers",
    "housing and health",
    "measuring outcomes",
    "patient transport",
    "out of hours GP cover",
    "falls prevention",
    "health checks",
    "interpreting services",
]
SUBJECTS = [
    "residents",
    "patients",
    "carers",
    "clinicians",
    "GP practices",
    "the ambulance service",
    "community teams",
    "the council",
    "hospital trusts",
    "the voluntary sector",
    "pharmacists",
    "social workers",
    "the integrated care board",
    "staff",
    "young people",
    "older people",
]
VERBS = [
    "need",
    "will get",
    "should expect",
    "have asked for",
    "will share",
    "will be offered",
    "told us they want",
    "will work with",
    "depend on",
    "will plan",
]
OBJECTS = [
    "a clear route into urgent care",
    "an answer on the same day",
    "care closer to home",
    "a named contact",
    "shorter waits in emergency departments",
    "joined up records",
    "support after discharge",
    "time to care",
    "fair access across every district",
    "a single telephone number",
    "reliable transport",
    "advice in their own language",
    "a safe place in a crisis",
    "more appointments in the evening",
    "better information about services",
    "stable funding for three years",
]
TAILS = [
    "by the end of next year",
    "in every neighbourhood",
    "within existing budgets",
    "as the room asked on day one",
    "starting with the areas of greatest need",
    "with clear measures of progress",
    "so that nobody falls between services",
    "and we will report on it every quarter",
    "without adding to waiting lists",
    "in partnership with local people",
]
OPENERS = [
    "In the room we heard that",
    "Our evidence shows that",
    "Over the next three years",
    "Most importantly,",
    "Working together,",
    "At present,",
    "For the first time,",
    "As a system,",
]
ADJECTIVES = [
    "local",
    "integrated",
    "reliable",
    "timely",
    "safe",
    "fair",
    "flexible",
    "joined-up",
    "specialist",
    "community",
    "digital",
    "preventive",
    "rapid",
    "affordable",
    "accessible",
    "accountable",
    "sustainable",
    "urgent",
    "planned",
    "seasonal",
    "overnight",
    "regional",
    "neighbourhood",
    "dedicated",
    "trained",
    "experienced",
    "multilingual",
    "shared",
    "proactive",
    "coordinated",
    "consistent",
    "realistic",
    "ambitious",
    "modest",
    "visible",
]
NOUNS = [
    "appointments",
    "clinics",
    "beds",
    "wards",
    "pathways",
    "referrals",
    "assessments",
    "triage",
    "handovers",
    "prescriptions",
    "vaccinations",
    "screening",
    "rehabilitation",
    "reablement",
    "hospices",
    "homes",
    "hostels",
    "shelters",
    "interpreters",
    "volunteers",
    "apprenticeships",
    "rotas",
    "contracts",
    "budgets",
    "tariffs",
    "buildings",
    "vehicles",
    "ambulances",
    "dispatchers",
    "paramedics",
    "midwives",
    "therapists",
    "dentists",
    "opticians",
    "pharmacists",
    "counsellors",
    "advocates",
    "librarians",
    "wardens",
    "landlords",
    "employers",
    "schools",
    "colleges",
    "universities",
    "charities",
    "churches",
    "mosques",
    "temples",
    "markets",
    "libraries",
    "records",
    "dashboards",
    "audits",
    "surveys",
    "complaints",
    "compliments",
    "incidents",
    "reviews",
    "targets",
    "milestones",
    "outcomes",
    "measures",
    "indicators",
    "standards",
    "protocols",
    "guidelines",
    "procedures",
    "equipment",
    "medicines",
    "dressings",
    "oxygen",
    "monitors",
    "scanners",
    "telephones",
    "tablets",
    "kiosks",
]
PLACES = [
    "in the north of the city",
    "along the river corridor",
    "on the outer estates",
    "in the town centre",
    "near the railway station",
    "in rural villages",
    "at the district hospital",
    "in the new health hub",
    "across the three boroughs",
    "at weekends and bank holidays",
]
VOCABULARY = sorted({w for phrase in SUBJECTS + OBJECTS + TAILS for w in phrase.split()})
RENAME_WORDS = ["Improving", "Rethinking", "Strengthening", "Investing in", "Delivering"]


def document(words: int = 20_000, seed: int = 1) -> str:
    """A strategy draft of about ``words`` words."""
    rng = random.Random(seed)
    chapters = rng.sample(CHAPTERS, rng.randint(8, 12))
    shape = [rng.randint(2, 5) for _ in chapters]
    # Subsections take a full share of the words, the preamble and chapter intros half.
    per_section = max(40, int(words / (sum(shape) + (len(chapters) + 1) / 2)))
    parts = [f"# Urgent and emergency care strategy {rng.randint(2025, 2030)}\n\n"]
    parts.append(_body(rng, per_section // 2))
    topics = list(TOPICS)
    rng.shuffle(topics)
    for n, (title, subsections) in enumerate(zip(chapters, shape, strict=True), 1):
        parts.append(f"## {n}. {title}\n\n")
        parts.append(_body(rng, per_section // 2))
        for m in range(1, subsections + 1):
            if rng.random() < 0.15:
                heading = "What we will do"
            else:
                heading = topics.pop() if topics else f"Theme {n}.{m}"
                heading = heading[0].upper() + heading[1:]
            parts.append(f"### {n}.{m} {heading}\n\n")
            parts.append(_body(rng, per_section))
    return "".join(parts).rstrip() + "\n"


def redraft(doc: str, seed: int = 2) -> str:
    """The next version of ``doc``, as a writing team would redraft it overnight."""
    rng = random.Random(seed)
    sections = [s.text.rstrip() + "\n\n" for s in split_sections(doc)]
    levels = [s.level for s in split_sections(doc)]
    subsections = [k for k, level in enumerate(levels) if level == 3]
    picked = rng.sample(subsections, 3)
    removed, moved, renamed = picked
    others = [k for k in range(1, len(sections)) if k not in picked]
    for k in rng.sample(others, max(1, len(sections) // 10)):
        sections[k] = _edited(rng, sections[k])
    sections[renamed] = _renamed(rng, sections[renamed])
    text_moved = sections[moved]
    sections[removed] = sections[moved] = ""
    # Moved to another chapter: after a chapter intro at least three sections away.
    targets = [k for k, level in enumerate(levels) if level == 2 and abs(k - moved) > 3]
    target = rng.choice(targets) if targets else len(sections) - 1
    sections[target] += text_moved
    for _ in range(rng.randint(1, 2)):
        k = rng.choice(subsections)
        new_topic = rng.choice(TOPICS)
        heading = f"### New: {new_topic[0].upper()}{new_topic[1:]}\n\n"
        sections[k] += heading + _body(rng, rng.randint(120, 300))
    return "".join(sections).rstrip() + "\n"


# A section's subjects, verbs, nouns, adjectives, places.
Topic = tuple[list[str], list[str], list[str], list[str], list[str]]


def _topic(rng: random.Random) -> Topic:
    """A section's own vocabulary: sections of a real draft are about different things,
    so two of them share their function words and little else."""
    return (
        rng.sample(SUBJECTS, 5),
        rng.sample(VERBS, 4),
        rng.sample(NOUNS, 10),
        rng.sample(ADJECTIVES, 8),
        rng.sample(PLACES, 3),
    )


def _sentence(rng: random.Random, topic: Topic | None = None) -> str:
    subjects, verbs, nouns, adjectives, places = topic or (
        SUBJECTS,
        VERBS,
        NOUNS,
        ADJECTIVES,
        PLACES,
    )
    who, does = rng.choice(subjects), rng.choice(verbs)
    if rng.random() < 0.15:
        s = f"{who} {does} {rng.choice(OBJECTS)}"
    else:
        s = f"{who} {does} {rng.choice(adjectives)} {rng.choice(nouns)} {rng.choice(places)}"
    if rng.random() < 0.2:
        s += f" {rng.choice(TAILS)}"
    if rng.random() < 0.2:
        s = f"{rng.choice(OPENERS)} {s}"
    return s[0].upper() + s[1:] + "."


def _paragraph(rng: random.Random, words: int, topic: Topic) -> str:
    out: list[str] = []
    while sum(len(s.split()) for s in out) < words:
        out.append(_sentence(rng, topic))
    return " ".join(out)


def _bullets(rng: random.Random, topic: Topic) -> str:
    return "\n".join(f"- {_sentence(rng, topic)}" for _ in range(rng.randint(3, 6)))


def _body(rng: random.Random, words: int) -> str:
    """Paragraphs of 40-150 words, and sometimes a bullet list, to about ``words``."""
    topic = _topic(rng)
    blocks: list[str] = []
    count = 0
    while count < words:
        if blocks and rng.random() < 0.12:
            block = _bullets(rng, topic)
        else:
            block = _paragraph(rng, min(rng.randint(40, 150), max(40, words - count)), topic)
        blocks.append(block)
        count += len(block.split())
    return "\n\n".join(blocks) + "\n\n"


def _edited(rng: random.Random, section: str) -> str:
    """A few words or a sentence changed in 1-3 of the section's paragraphs."""
    blocks = section.split("\n\n")
    body = [k for k in range(1, len(blocks)) if blocks[k].strip()]
    if not body:
        return section
    for k in rng.sample(body, min(len(body), rng.randint(1, 3))):
        words = blocks[k].split(" ")
        if rng.random() < 0.5:
            for _ in range(rng.randint(1, 4)):
                w = rng.randrange(len(words))
                words[w] = rng.choice(VOCABULARY)
            blocks[k] = " ".join(words)
        else:
            blocks[k] = blocks[k] + " " + _sentence(rng)
    return "\n\n".join(blocks)


def _renamed(rng: random.Random, section: str) -> str:
    heading, _, rest = section.partition("\n")
    hashes, number, title = heading.split(" ", 2)
    return f"{hashes} {number} {rng.choice(RENAME_WORDS)} {title[0].lower()}{title[1:]}\n{rest}"
