"""SQLite's search index becomes a postings table (store/postings.py) instead of FTS5.

Before SQLite 3.42, FTS5 keeps a removed document's tokens until its segments merge, so
every delete and edit merged the whole index in its transaction (the redaction rule): a cost
in proportion to the index's size, holding the single writer. A postings table
`(token, room, at, doc)` removes a message with a few b-tree deletes, and is read newest
first in each room a searcher may read, so a common word no longer costs a walk of all its
matches.

The index is rebuilt, not converted: `search_docs` is emptied (and gains the tokens) and the
server's resumable backfill (services/search.py) indexes every message again, 500 per
transaction; until it is done, searches miss older messages. Nothing changes on
PostgreSQL. Rolling: no (the previous release writes FTS5, which is gone).
"""

from __future__ import annotations

from hubbub.store.engine import Tx

ROLLING = False


def upgrade(tx: Tx) -> None:
    if tx.dialect != "sqlite":
        return
    tx.execute("DROP TABLE search_fts")
    tx.execute("DROP TABLE search_docs")
    tx.execute(
        "CREATE TABLE search_docs (doc INTEGER PRIMARY KEY,"
        " message_id TEXT NOT NULL UNIQUE REFERENCES messages (id),"
        " room_id TEXT NOT NULL, room INTEGER NOT NULL, author_id TEXT, created_at BIGINT NOT NULL,"
        " has_link BOOLEAN NOT NULL DEFAULT FALSE, words TEXT NOT NULL DEFAULT '')"
    )
    tx.execute("CREATE INDEX search_docs_links ON search_docs (message_id) WHERE has_link = TRUE")
    # A query naming one author (from:) may walk their documents newest first; the room
    # is in the index so that rooms the searcher cannot see are skipped without a lookup.
    tx.execute("CREATE INDEX search_docs_author ON search_docs (author_id, created_at, room_id)")
    # A query without words (filters, exclusions) walks each room's documents newest first.
    tx.execute("CREATE INDEX search_docs_room ON search_docs (room, created_at)")
    # Rooms by number: postings carry a small integer, not the room's id.
    tx.execute("CREATE TABLE search_rooms (room INTEGER PRIMARY KEY, room_id TEXT NOT NULL UNIQUE)")
    tx.execute(
        "CREATE TABLE search_postings (token TEXT NOT NULL, room INTEGER NOT NULL,"
        " at BIGINT NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY (token, room, at, doc))"
        " WITHOUT ROWID"
    )
    tx.execute("DELETE FROM search_state")
    tx.execute("INSERT INTO search_state (id) VALUES (1)")
