"""The database shell: tables, engines and the transactional log append."""
