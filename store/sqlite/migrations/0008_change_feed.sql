-- The change feed of PostgreSQL (triggers that NOTIFY) has no SQLite counterpart: one
-- process sees its own writes. This keeps the migration numbers of both backends alike.
SELECT 1;
