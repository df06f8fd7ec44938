-- Backfill requests (Indexer.Backfill) become durable and shared across the
-- indexer replicas of a chain (issue 3): a request is split into chunks of at
-- most N blocks, one row each, and any replica leases a chunk, indexes it and
-- advances next_block in the transaction that writes the chunk's records. A
-- finished chunk is deleted, so the table holds only the work still to do.
--
-- Leases follow work_queue: FOR UPDATE SKIP LOCKED, a deadline on the
-- database clock (lease_until), and `generation` bumped by every lease as
-- the fencing token, so a replica whose lease ran out and was taken over can
-- no longer advance, renew or release the chunk.
CREATE TABLE backfill_ranges (
  id          bigserial PRIMARY KEY,
  chain_id    bigint NOT NULL REFERENCES chains ON DELETE CASCADE,
  from_block  bigint NOT NULL CHECK (from_block >= 0),
  to_block    bigint NOT NULL CHECK (to_block >= from_block),
  -- First block not indexed yet; the chunk is done (deleted) past to_block.
  next_block  bigint NOT NULL,
  leased_by   text,
  -- Leasable once this has passed; a new chunk is leasable at once.
  lease_until timestamptz NOT NULL DEFAULT '-infinity',
  generation  bigint NOT NULL DEFAULT 0,
  attempts    integer NOT NULL DEFAULT 0,
  last_error  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CHECK (next_block BETWEEN from_block AND to_block)
);
-- The lease query takes the oldest leasable chunk of a chain (ORDER BY id);
-- the pending count reads a chain's rows up to a cap.
CREATE INDEX backfill_ranges_chain ON backfill_ranges (chain_id, id);

-- One replica per chain follows the head; the others only work backfill
-- chunks. The holder renews before expires_at (database clock); once it has
-- passed, any replica may take over, which bumps `term`.
CREATE TABLE chain_followers (
  chain_id    bigint PRIMARY KEY REFERENCES chains ON DELETE CASCADE,
  holder      text NOT NULL,
  expires_at  timestamptz NOT NULL,
  term        bigint NOT NULL DEFAULT 1,
  acquired_at timestamptz NOT NULL DEFAULT now()
);
