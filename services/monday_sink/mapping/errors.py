"""What goes wrong with a column mapping, each saying whether a retry can help (never).

PermanentError (chassis)
└── MappingError          a mapping cannot work with its board: names board, column, field
    ├── MappingFileError  the mapping file cannot be read or is invalid: names file, line, key
    └── RecordValueError  one record's value does not fit its column (that record only)
"""

from __future__ import annotations

from chassis.errors import PermanentError

__all__ = ["MappingError", "MappingFileError", "RecordValueError"]


class MappingError(PermanentError):
    """The mapping cannot be used with the board as it is; fix the file or the board."""


class MappingFileError(MappingError):
    """The mapping file cannot be read or is not valid; the message names file, line and key."""


class RecordValueError(MappingError):
    """A record's value cannot be written in its column (a date that is no date, a status
    label the column lacks); the record is refused before any call to monday."""
