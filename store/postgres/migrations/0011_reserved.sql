-- Held for the integrator's migration 0011 (issue 19, the change feed), written at the same
-- time as 0012: replace this file with it when merging.
SELECT 1;
