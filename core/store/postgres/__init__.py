"""The PostgreSQL + pgvector storage adapter (issue 27), for many server processes on one store.

Its first part is the schema and its migrations (migrate.py); the repositories follow. Needs the
`postgres` extra (psycopg 3); nothing else in core imports this package."""
