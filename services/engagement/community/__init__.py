"""Organisations and Communities of Practice (CoPs): their rules and views (``models``, no I/O),
their SQL (``store``), the JSON API (``api``) and the console's and residents' pages (``pages``)."""
