"""``chatsync report``: a terminal summary of the warehouse, and a self-contained HTML report.

Every figure comes from the analytics views, through SQL transpiled for the destination, so the
report reads DuckDB, Postgres and BigQuery alike. Charts are drawn with matplotlib as inline SVG:
the HTML file has no script and fetches nothing, so it opens offline.
"""
