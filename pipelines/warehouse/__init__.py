"""Operations on the loaded warehouse, on every destination: queries, analytics views, reset, forget, suppressions."""
