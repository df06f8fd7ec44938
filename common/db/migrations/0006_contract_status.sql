-- Per-contract progress (Tracker.GetContractStatus, `niftysave stats
-- --contract`): tokens of one contract counted by status and failure reason.
-- The key (chain_id, contract, status) with the reason included lets the
-- count be an index-only scan over that contract's entries, however many
-- other tokens the table holds; the (chain_id, contract, token_id) key would
-- visit every row of the contract in the heap.
CREATE INDEX tokens_contract_status ON tokens (chain_id, contract, status) INCLUDE (reason);

-- The index above also serves every per-contract status filter. The old one
-- on status alone was never scanned (GetStats reads the whole table,
-- ListTokens walks the primary key), and every token insert paid for it.
DROP INDEX tokens_status;
