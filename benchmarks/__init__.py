"""``make bench``: throughput and memory of a sync, against the bare MySQL read and the naive client."""
