"""Account: what happened to each row, the failed rows' log, the report, late failures traced back."""

from __future__ import annotations
