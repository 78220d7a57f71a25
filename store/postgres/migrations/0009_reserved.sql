-- An unused number (it was held for work merged at the same time); kept so that the
-- numbers run without a gap.
SELECT 1;
