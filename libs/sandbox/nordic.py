"""Nordic people, contacts and record timelines shared by the seed-data modules.

Invented but plausible: first and last names per country, e-mail addresses on reserved
``.test`` domains (``anna.lindqvist@example-se.test``), phone numbers in the national
format, and creation/modification times spread over the weeks before an anchor.
"""

from __future__ import annotations

import random
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

FIRST_NAMES = {
    "SE": ("Anna", "Erik", "Maria", "Johan", "Karin", "Lars", "Sara", "Mikael", "Elin", "Nils"),
    "NO": ("Ingrid", "Ola", "Kari", "Lars", "Silje", "Magnus", "Hanne", "Sindre", "Tone", "Eirik"),
    "DK": ("Mette", "Søren", "Camilla", "Mads", "Louise", "Rasmus", "Sofie", "Jesper", "Ida"),
    "FI": ("Aino", "Mikko", "Laura", "Juha", "Elina", "Timo", "Sanna", "Antti", "Heidi"),
}
LAST_NAMES = {
    "SE": ("Lindqvist", "Andersson", "Johansson", "Berg", "Holm", "Nyström", "Sjöberg", "Ek"),
    "NO": ("Hansen", "Johansen", "Larsen", "Haugen", "Dahl", "Bakke", "Solheim", "Lie"),
    "DK": ("Nielsen", "Jensen", "Hansen", "Pedersen", "Kjær", "Møller", "Lund", "Holm"),
    "FI": ("Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Laine", "Heikkinen", "Koskinen"),
}
_PHONE = {"SE": ("+46 70", 7), "NO": ("+47 9", 7), "DK": ("+45 2", 7), "FI": ("+358 40", 7)}
_SPECIAL = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss"})


def entity_rng(company: str, seed: int, entity: str) -> random.Random:
    """A generator per (seed, company, entity): one entity's data never shifts another's."""
    return random.Random(zlib.crc32(f"{seed}:{company}:{entity}".encode()))


def ascii_slug(text: str, sep: str = "-") -> str:
    plain = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    letters = "".join(c for c in plain if c.isascii() and (c.isalnum() or c in " -/"))
    return sep.join(letters.lower().replace("/", " ").split())


def email(local: str, country: str, *, domain: str | None = None) -> str:
    host = domain or f"example-{country.lower()}"
    return f"{ascii_slug(local, '.')}@{host}.test"


def phone(rng: random.Random, country: str) -> str:
    prefix, digits = _PHONE.get(country, _PHONE["SE"])
    number = f"{rng.randrange(10 ** (digits - 1), 10**digits)}"
    return f"{prefix}{number[0]} {number[1:4]} {number[4:]}"


def person(rng: random.Random, country: str) -> str:
    code = country if country in FIRST_NAMES else "SE"
    return f"{rng.choice(FIRST_NAMES[code])} {rng.choice(LAST_NAMES[code])}"


def timeline(
    rng: random.Random, count: int, anchor: datetime, *, days: int = 35
) -> list[tuple[datetime, datetime]]:
    """(created, lastModified) pairs in creation order, all modified before ``anchor``."""
    latest = anchor - timedelta(seconds=60)
    created = sorted(latest - timedelta(seconds=rng.randint(0, days * 86400)) for _ in range(count))
    pairs = []
    for moment in created:
        room = int((latest - moment).total_seconds())
        pairs.append((moment, moment + timedelta(seconds=rng.randint(0, min(room, 5 * 86400)))))
    return pairs


@dataclass
class SeedContext:
    """What a generator needs: one company's rng, country and the records made before."""

    company: str
    country: str
    seed: int
    rng: random.Random
    refs: Callable[[str], list[dict[str, Any]]]
    # True while seeding a whole company; False for one record created through the API.
    seeding: bool = True


# A generator turns (created, lastModified) pairs into that many records' fields; the
# n-th record (first_number + i) takes its numbers from the entity's numbering.
Generator = Callable[[SeedContext, list[tuple[datetime, datetime]], int], list[dict[str, Any]]]
