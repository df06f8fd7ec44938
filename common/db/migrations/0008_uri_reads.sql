-- Token URI reads leave the indexer's range write (issue 3): a range stores
-- its transfers and new tokens at log speed, and queues each new token on
-- the chain's 'read_uri:<chain_id>' queue. The indexer's URI reader leases
-- those, reads tokenURI/uri in batches at the indexed block, writes the URI
-- and queues the token for extraction. One queue per chain, because a URI is
-- read from that chain's node.
ALTER TABLE work_queue DROP CONSTRAINT work_queue_queue_check;
ALTER TABLE work_queue ADD CONSTRAINT work_queue_queue_check
  CHECK (queue IN ('extract', 'pin', 'track') OR queue ~ '^read_uri:[0-9]+$');

-- A token is recorded at its mint, or, when indexing starts after its mint
-- (--start_block), at the first transfer seen: minted says which.
-- mint_block is then the block it was first seen at (a rollback past it
-- removes it, and re-indexing finds it again).
ALTER TABLE tokens ADD COLUMN minted boolean NOT NULL DEFAULT true;
