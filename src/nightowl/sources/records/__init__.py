"""Shared record readers: how the bytes of an export become records, kept apart from what a
vendor's fields mean. A vendor module (``sources/<vendor>.py``) holds only its format check
(``sniff``) and its field mapping, the way a plaso parser plugin does; it picks one reader here.

Which reader a new vendor should use:

* Sign-in JSON with many flat-ish records (NDJSON, pages, arrays): :mod:`.json_duckdb`. Write a
  :class:`~.json_duckdb.JsonFormat` (the JSON paths you read and a SQL mapping that ends with
  :data:`.sql.BOOKKEEPING_SQL`) and return ``read_json_records`` / ``stage_json_records`` from the
  source's ``read`` / ``stage``. Example: ``okta.py``. For large clean NDJSON exports add
  ``normalize_read`` / ``read_paths`` and an ``insert_clean`` (:mod:`.json_fast`, DuckDB's own
  ``read_json`` straight into the store). Example: ``entra_graph.py``.
* Nested, irregular records for a table of their own (audit trails, inventories):
  :mod:`.json_python` (``json_records`` + ``read_rows`` with a Python mapper returning a row dict,
  an ignore reason, or raising ``RecordError``). Example: ``entra_accounts.py``.
* CSV: :mod:`.csv_rows` (``keyed_records`` for a Python mapper, ``line_records`` for row dicts,
  ``rows_as_json`` to feed CSV rows through a DuckDB ``JsonFormat``). Example: ``entra_portal_csv.py``.
* Line-based text logs: :func:`nightowl.sources.base.bounded_lines`. Example: ``sshd.py``.
* Times: :mod:`.times` (one function per way exports write a time); value coercions:
  :mod:`.fields`; SQL literals and bookkeeping: :mod:`.sql`.

Every reader reports each record it cannot use to the :class:`~nightowl.sources.base.Tally`
(ignored with a reason, or quarantined with its position), so none is lost silently.
"""
