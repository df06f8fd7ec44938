-- Tracker v2: tokens can end `partial`; failed pins are re-pinned a bounded
-- number of times and re-checked at a low rate for ever after.

-- `partial`: the metadata and some assets are pinned, other assets failed
-- (the rule is in common/db/rollup.cc).
ALTER TABLE tokens DROP CONSTRAINT tokens_status_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_status_check
  CHECK (status IN ('queued', 'extracted', 'partial', 'archived', 'failed'));

ALTER TABLE pins
  -- New pin requests the tracker made after the backend reported the pin
  -- failed (capped by --max_repins).
  ADD COLUMN repins integer NOT NULL DEFAULT 0 CHECK (repins >= 0),
  -- The pin's own place on the re-check back-off: +1 per check that found it
  -- not pinned yet, back to 0 after a re-pin. Independent of the queue's
  -- attempt counter, which also counts budget deferrals and lost leases.
  ADD COLUMN recheck_step integer NOT NULL DEFAULT 0 CHECK (recheck_step >= 0),
  -- When the tracker looks at the pin next (NULL once pinned), so an
  -- operator sees it without reading work_queue.
  ADD COLUMN next_check_at timestamptz;
