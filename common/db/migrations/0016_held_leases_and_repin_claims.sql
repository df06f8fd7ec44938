-- A restarted worker takes back its leases at start-up (WorkQueue::
-- ReleaseHeld: queue = $1 AND leased_by = $2 AND state = 'ready' AND
-- run_after > now()). Without an index on the holder that statement reads
-- every item not yet due, through work_queue_due: all the items waiting out
-- a back-off, which on a large queue are most of it. leased_by is set only
-- while an item is leased or its lease lapsed without an outcome (every
-- outcome clears it), so this partial index holds the items in flight, a
-- few per worker, whatever the queue's size. `leased_by = $2` implies the
-- predicate, so the planner can use it for any holder.
CREATE INDEX work_queue_leased_by ON work_queue (queue, leased_by)
  WHERE leased_by IS NOT NULL;

-- The tracker's re-pin (a pin the backend lost or failed) sends `POST /pins`
-- too, so it takes the same (CID, backend) claim as the pinner, under its
-- lease on a 'track' item: a claim now names the queue of its claimer's
-- lease (common/db/pin_claims.cc).
ALTER TABLE pin_claims ADD COLUMN queue text NOT NULL DEFAULT 'pin';
