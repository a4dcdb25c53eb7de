"""The Arrow columns of a Snowflake result as the values the sync sends (docs/sources.md, the Snowflake
contract): the shared conversion (:mod:`airflow_provider_cio.sources.arrow_values`) with Snowflake's advice for
BINARY values.

The connector hands a result over as Arrow tables (``fetch_arrow_batches``): TIMESTAMP_NTZ as a naive
timestamp, TIMESTAMP_LTZ and TIMESTAMP_TZ as aware ones, a NUMBER of scale 0 as an integer (or a 38-digit
decimal), a scaled NUMBER as a decimal, VARIANT as JSON text.
"""

from __future__ import annotations

from airflow_provider_cio.sources import arrow_values
from airflow_provider_cio.sync.account.outcomes import BINARY_VALUE
from airflow_provider_cio.sync.convert.values import Unsendable

BINARY_REFUSED = Unsendable(
    BINARY_VALUE, "holds binary data (BINARY); convert it in the query, e.g. HEX_ENCODE(col) or BASE64_ENCODE(col)"
)


class ArrowValues(arrow_values.ArrowValues):
    """Converts the Arrow tables of one Snowflake result, a block at a time; a BINARY value fails its row with
    Snowflake's functions to convert it in the query.

    :param columns: the result's columns in neutral types, in the order of the tables' columns.
    :param rules: the sync's value rules (its time zone reads TIMESTAMP_NTZ and DATE values).
    """

    binary_refused = BINARY_REFUSED
