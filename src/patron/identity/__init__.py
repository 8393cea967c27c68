"""Identity resolution: identifiers, the identity graph, matching, merges and their undoing."""

from patron.identity import models as _models  # noqa: F401 - registers the tables
