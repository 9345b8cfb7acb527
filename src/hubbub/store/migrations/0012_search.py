"""Message search (store/search.py): the index of live messages' tokens, on each engine.

- SQLite: `search_docs` (message id → integer doc id; room, author, time and has_link, to
  filter and order hits) and the FTS5 table `search_fts` (its rowid is the doc id).
- PostgreSQL: `search_docs` with the same columns, a `tsvector` of the same tokens and a GIN
  index over it.
- `search_state`: how far the backfill of messages older than the index got
  (`backfill_after`, an id) and whether it is done.

Existing messages are not indexed here, in this one transaction: the server indexes them in
the background, 500 per transaction, resuming where it stopped (services/search.py), so a
large database is never locked for long. Rolling: the previous release neither reads nor
writes these tables (messages it writes meanwhile are caught by the backfill only if their
id sorts after its position; restart every node on the new release before relying on
search).
"""

from __future__ import annotations

from hubbub.store.engine import Tx

ROLLING = False
# What an entry keeps besides the words: ids and a time to filter and order by, never text.
_ENTRY = (
    "room_id TEXT NOT NULL, author_id TEXT, created_at BIGINT NOT NULL,"
    " has_link BOOLEAN NOT NULL DEFAULT FALSE"
)


def upgrade(tx: Tx) -> None:
    if tx.dialect == "sqlite":
        tx.execute(
            "CREATE TABLE search_docs (doc INTEGER PRIMARY KEY,"
            f" message_id TEXT NOT NULL UNIQUE REFERENCES messages (id), {_ENTRY})"
        )
        # The tokens come from hubbub.textsearch already folded and separated by spaces; the
        # ascii tokenizer splits on those alone (no token holds ASCII punctuation) and keeps
        # every non-ASCII character (CJK pairs, emoji) as it is.
        tx.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5(words, tokenize = 'ascii', detail = full)"
        )
    else:
        tx.execute(
            "CREATE TABLE search_docs (message_id TEXT PRIMARY KEY REFERENCES messages (id),"
            f" {_ENTRY}, words tsvector NOT NULL)"
        )
        tx.execute("CREATE INDEX search_docs_words ON search_docs USING GIN (words)")
    tx.execute("CREATE INDEX search_docs_links ON search_docs (message_id) WHERE has_link = TRUE")
    tx.execute(
        "CREATE TABLE search_state (id INTEGER PRIMARY KEY,"
        " backfill_after TEXT NOT NULL DEFAULT '',"
        " backfill_done BOOLEAN NOT NULL DEFAULT FALSE)"
    )
    tx.execute("INSERT INTO search_state (id) VALUES (1)")
