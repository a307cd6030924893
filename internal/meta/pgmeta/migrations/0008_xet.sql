-- Xet storage (reserved: filled by the Xet CAS work).
SELECT 1;
