-- A refresh is never cut off (issue 12). An ERC-4906 BatchMetadataUpdate
-- over more tokens than one write may queue (a 10k+ reveal, or
-- (0, type(uint256).max)) used to refresh only the lowest ids and record
-- refresh_too_large. The range write now queues the first chunk and leaves
-- the rest here; the follower queues the next chunk per step, by token id
-- through the tokens index (never walking the numeric range), each chunk in
-- its own transaction, so a restart resumes at next_id. A rollback past the
-- event's block drops it.
CREATE TABLE pending_refreshes (
  id         bigserial PRIMARY KEY,
  chain_id   bigint NOT NULL,
  contract   bytea NOT NULL,
  next_id    numeric(78) NOT NULL,  -- the lowest token id not queued yet
  to_id      numeric(78) NOT NULL,
  block      bigint NOT NULL,       -- the event's block
  queued     bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_refreshes_chain ON pending_refreshes (chain_id, id);
