-- Poison work is parked, never looped. An item whose lease keeps running out
-- without an outcome (its handler crashes the process, hangs, throws, or
-- cannot write what it found) used to come back every lease period for
-- ever. The lease now counts such losses in a row here and parks the item
-- ('dead', reason lease_expired) at the queue's limit; every outcome clears
-- leased_by, so only consecutive losses count.
ALTER TABLE work_queue ADD COLUMN lost_leases integer NOT NULL DEFAULT 0;
