-- Held for the upstream OAuth migration (issue 33), merged separately: this placeholder
-- goes when that one lands, so that the numbers run without a gap.
SELECT 1;
