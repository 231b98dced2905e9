"""Which Visma field goes in which column of a monday board, and in what JSON shape.

monday has no finance objects: every board is the customer's own, so the sink needs to be
told (or to work out) where a supplier invoice's number, amount and due date go. A tenant's
mapping file (`spec`) pairs fields and columns by title, by position or by an explicit
table; `bind` checks it against the board's real columns when the sink starts; the bound
mapping renders each record's fields into `column_values` (`values`).

    mappings = load_mappings("mapping.yaml")
    bound = bind(await client.board("1000000001"), mappings.board("1000000001"))
    bound.render({"reference_number": "INV-1", "amount": "99.50"}, visma_id="c1/...")
"""

from monday_sink.mapping.binding import BoardShape, BoundColumn, BoundMapping, ColumnShape, bind
from monday_sink.mapping.errors import MappingError, MappingFileError, RecordValueError
from monday_sink.mapping.fields import VISMA_FIELDS, VISMA_ID, FieldKind, normalised
from monday_sink.mapping.spec import (
    BoardSpec,
    MappingFile,
    MatchBy,
    load_mappings,
    parse_mappings,
)

__all__ = [
    "VISMA_FIELDS",
    "VISMA_ID",
    "BoardShape",
    "BoardSpec",
    "BoundColumn",
    "BoundMapping",
    "ColumnShape",
    "FieldKind",
    "MappingError",
    "MappingFile",
    "MappingFileError",
    "MatchBy",
    "RecordValueError",
    "bind",
    "load_mappings",
    "normalised",
    "parse_mappings",
]
