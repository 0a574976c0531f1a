"""The directory's SQL for PostgreSQL: pure text work, no I/O.

The directory's queries are written with sqlite3's `?` placeholders; psycopg wants
`%s`, and a literal `%` there must be doubled. Quoted strings and identifiers are
copied as they are (a `?` inside one is not a placeholder).
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4096)
def to_pyformat(sql: str) -> str:
    """`sql` with `?` placeholders as `%s` and every `%` as `%%`."""
    out: list[str] = []
    quote = ""
    for ch in sql:
        if ch == "%":
            out.append("%%")
        elif quote:
            out.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


def is_postgres_url(target: object) -> bool:
    """Whether a configured directory names a PostgreSQL server, not a file."""
    return str(target).startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """`url` without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user = credentials.partition(":")[0]
    return f"{scheme}{sep}{user}@{host}"


def upsert(table: str, columns: tuple[str, ...], key: tuple[str, ...]) -> str:
    """An INSERT of every column of `table` that replaces the row with the same `key`
    (sqlite3's `INSERT OR REPLACE`, in the SQL both backends take)."""
    names, marks = ", ".join(columns), ", ".join("?" * len(columns))
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    return (
        f"INSERT INTO {table} ({names}) VALUES ({marks})"
        f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )
