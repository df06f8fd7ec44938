-- Indexer v2: block hashes of the recent window (reorg detection), ERC-1155
-- balances, transfers that move several tokens per log (TransferBatch,
-- ERC-2309 ranges) or an amount, per-contract probes, and the errors the
-- indexer recorded instead of stopping.

-- Only blocks that carry indexed logs, plus the last block of every indexed
-- range: enough to check each new range's parent and to find the common
-- ancestor after a reorg. Older rows are pruned past the window.
CREATE TABLE blocks (
  chain_id    bigint NOT NULL REFERENCES chains ON DELETE CASCADE,
  number      bigint NOT NULL,
  hash        bytea NOT NULL CHECK (length(hash) = 32),
  parent_hash bytea NOT NULL CHECK (length(parent_hash) = 32),
  PRIMARY KEY (chain_id, number)
);

ALTER TABLE transfers
  ADD COLUMN batch_index integer NOT NULL DEFAULT 0,
  ADD COLUMN standard text NOT NULL DEFAULT 'erc721'
    CHECK (standard IN ('erc721', 'erc1155')),
  ADD COLUMN amount numeric(78) NOT NULL DEFAULT 1 CHECK (amount >= 0),
  DROP CONSTRAINT transfers_pkey,
  ADD PRIMARY KEY (chain_id, block_number, log_index, batch_index);
CREATE INDEX transfers_token ON transfers (chain_id, contract, token_id);

ALTER TABLE tokens
  ADD COLUMN standard text NOT NULL DEFAULT 'erc721'
    CHECK (standard IN ('erc721', 'erc1155')),
  -- The block of the mint or event that set token_uri: a reorg past it
  -- makes the indexer read the URI again.
  ADD COLUMN uri_block bigint;
CREATE INDEX tokens_mint_block ON tokens (chain_id, mint_block);
CREATE INDEX tokens_uri_block ON tokens (chain_id, uri_block);

-- ERC-165 interface ids (8 hex digits) the contract said it supports, read
-- once when the contract is first seen, with name() and symbol().
ALTER TABLE contracts
  ADD COLUMN interfaces text[] NOT NULL DEFAULT '{}',
  ADD COLUMN probe_error text;

-- Sums of the ERC-1155 transfers indexed. Negative only when indexing began
-- after a holder's first transfers.
CREATE TABLE erc1155_balances (
  chain_id bigint NOT NULL,
  contract bytea NOT NULL,
  token_id numeric(78) NOT NULL,
  owner    bytea NOT NULL,
  balance  numeric(78) NOT NULL,
  PRIMARY KEY (chain_id, contract, token_id, owner)
);

-- What the indexer skipped or capped, with a reason (range_too_large,
-- refresh_too_large, reorg_beyond_window, ...), kept for operators.
CREATE TABLE indexer_errors (
  id           bigserial PRIMARY KEY,
  chain_id     bigint NOT NULL,
  block_number bigint NOT NULL,
  log_index    integer,
  reason       text NOT NULL,
  detail       text,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX indexer_errors_block ON indexer_errors (chain_id, block_number);
