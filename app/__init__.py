"""GroundGame: an open-source organizing CRM."""

from app.core import emails as _emails  # noqa: F401  (the one rule on which email addresses are accepted)
