"""Which CSV column feeds which contact field."""

from __future__ import annotations

import re
import unicodedata

from app.contacts import fields
from app.core.errors import Unprocessable

TARGETS = fields.IMPORTED

_GUESSES = {
    "first_name": ["first_name", "firstname", "first name", "prenume", "prénom", "prenom", "vorname", "given name"],
    "last_name": ["last_name", "lastname", "last name", "nume", "nom", "surname", "family name", "nachname"],
    "full_name": ["name", "full name", "nume complet", "nom complet"],
    "mobile": [
        "mobile",
        "mobil",
        "cell",
        "gsm",
        "telefon mobil",
        "portable",
        "mobile phone",
        "phone",
        "telefon",
        "téléphone",
        "tel",
        "phone number",
        "numar telefon",
        "număr de telefon",
        "handy",
        "telefonnummer",
    ],
    "home_phone": ["home_phone", "home phone", "telefon fix", "fix", "landline", "téléphone fixe"],
    "email": ["email", "e-mail", "mail", "courriel"],
    "street": ["street", "strada", "rue", "straße", "strasse", "address"],
    "number": ["number", "nr", "numar", "număr", "numéro", "house number", "no"],
    "building": ["building", "bloc", "scara", "entrance", "bâtiment"],
    "postal_code": ["postal_code", "postal code", "zip", "cod postal", "code postal", "plz", "postcode"],
    "city": ["city", "oras", "oraș", "localitate", "ville", "stadt", "town"],
    "country": ["country", "tara", "țară", "pays", "land"],
    "lat": ["lat", "latitude"],
    "lon": ["lon", "lng", "longitude", "long"],
    "birth_year": ["birth_year", "birth year", "an nastere", "year of birth"],
    "birth_date": ["birth_date", "birthdate", "date of birth", "dob", "data nasterii"],
    "gender": ["gender", "sex", "gen"],
    "language": ["language", "limba", "langue"],
    "support_level": ["support_level", "support", "support level", "sustinere"],
    "tags": ["tags", "etichete", "labels"],
    "donor": ["donor", "donator"],
    "volunteer": ["volunteer", "voluntar"],
    "member": ["member", "membru", "membre"],
}


def _norm(h: str) -> str:
    """Case, spacing, underscores, dots and accents aside ("Téléphone" is "telephone", "Tel." is "tel")."""
    h = unicodedata.normalize("NFKD", h.strip().casefold().replace("_", " ").rstrip("."))
    return re.sub(r"\s+", " ", "".join(c for c in h if not unicodedata.combining(c)))


def suggest(headers: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    used: set[str] = set()
    for target, names in _GUESSES.items():
        for h in headers:
            if h not in used and _norm(h) in {_norm(n) for n in names}:
                out[target] = h
                used.add(h)
                break
    return out


def validate(mapping: dict[str, str], headers: list[str], custom_keys: set[str]) -> dict[str, int]:
    """target → column index. 422 for an unknown target, a column not in the file, or an ambiguous header."""
    if not mapping:
        raise Unprocessable(
            "The mapping is empty.", details=[{"field": "mapping", "message": "map at least one column"}]
        )
    errors = []
    out: dict[str, int] = {}
    for target, header in mapping.items():
        if not fields.is_importable(target) or (target.startswith(fields.CUSTOM) and target[7:] not in custom_keys):
            errors.append({"field": f"mapping.{target}", "message": "unknown contact field"})
            continue
        positions = [i for i, h in enumerate(headers) if h == header]
        if not positions:
            errors.append({"field": f"mapping.{target}", "message": f"unknown column {header!r} (not in the file)"})
        elif len(positions) > 1:
            errors.append({"field": f"mapping.{target}", "message": f"column {header!r} appears twice in the header"})
        else:
            out[target] = positions[0]
    if errors:
        raise Unprocessable("Invalid mapping.", details=errors)
    return out
