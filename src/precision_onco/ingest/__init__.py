"""Ingest real-world inputs into the canonical tables (see DESIGN §3)."""
