-- PostgreSQL's change feed moved out of its write transactions; SQLite's was always the
-- process's own (store.Publishing). Kept so that the numbers match.
SELECT 1;
