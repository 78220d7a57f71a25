-- Held for branch gwnames (the agent's gateway settings), which brings the real file of
-- this name: at the merge, take theirs. Here only so that the numbers run without a gap.
SELECT 1;
