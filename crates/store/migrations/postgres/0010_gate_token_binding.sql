-- A gate token bound to one repository and a list of environments: the
-- pipeline credential that registers that repository's changes.
ALTER TABLE tokens ADD COLUMN repo TEXT;
ALTER TABLE tokens ADD COLUMN environments TEXT;
