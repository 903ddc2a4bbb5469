"""The PostgreSQL + pgvector storage adapter (PERSONA_MCP_DATABASE_URL): many server processes,
on any machines, on one store.

  database.py      the Store (a psycopg pool; writes under one advisory lock; leading the
                   background maintenance)
  dialect.py       the repositories' SQLite SQL as PostgreSQL runs it
  migrate.py       the schema: numbered, transactional, advisory-locked migrations
  words.py         word search: tsvector + GIN, scored with FTS5's BM25
  vector_index.py  pgvector as the vector index (HNSW per embedding model)
  copy.py          every table between PostgreSQL and an SQLite file, with checksums
  state.py         state archives saved from and loaded into PostgreSQL
  transfer.py      `persona-mcp migrate`, both ways

psycopg (the `postgres` extra) is imported only when PostgreSQL is used, so an SQLite-only
install never needs it."""
