"""``chatsync explore``: a local, read-only web app to read, search, filter and export conversations.

Every request opens its own short-lived read-only connection, so a load never waits long for the
explorer, and a page asked for while a load holds DuckDB's file answers "warehouse busy" (503) and
retries by itself.
"""
