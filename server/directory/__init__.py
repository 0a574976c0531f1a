"""The server's directory: workers, teams, devices, cases, assignments, keys, audit.

Personal data of workers and routing data live here, in a SQLite file next to (or
apart from) the case store; client records never do (they are envelopes in the case
databases). See docs/adr/007-directory-in-sqlite.md.
"""

from .db import Directory

__all__ = ["Directory"]
