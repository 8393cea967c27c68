"""The customer 360: golden record, traits and the timeline across channels."""

from patron.profiles import models as _models  # noqa: F401 - registers the tables
