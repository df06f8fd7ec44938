-- One index on tokens leads with (chain_id, contract): the token key.
--
-- Every lookup of tokens by key (the extractor's hand-off, the indexer's
-- transfer and URI joins, GetTokenStatus) passes its keys as arrays and
-- probes tokens once a key. For such a probe Postgres cannot know how many
-- keys share a contract, estimates (chain_id, contract) alone to match about
-- one row, and so costs tokens_contract_status (chain_id, contract, status)
-- the same as the key itself. When it took the former, each probe read every
-- token of the contract and filtered on token_id: bench/pipeline_bench.sh at
-- 50,000 tokens spent 42-66 s of Postgres's ~160 s in the extractor's
-- hand-off lookup (0.9 s a call for 1,000 keys, growing with the collection),
-- and a 100,000-token collection would cost 100,000 reads a key.
--
-- The key now carries status and reason (INCLUDE), so the per-contract count
-- (GetContractStatus) and the funnel's token count stay index-only scans, and
-- tokens_contract_status goes: no index but the key can serve an equality on
-- (chain_id, contract), and every token write maintains one index fewer.
-- ON CONFLICT (chain_id, contract, token_id) infers the new index (its key
-- columns are the conflict target).
CREATE UNIQUE INDEX tokens_key ON tokens (chain_id, contract, token_id)
  INCLUDE (status, reason);
ALTER TABLE tokens DROP CONSTRAINT tokens_chain_id_contract_token_id_key;
DROP INDEX tokens_contract_status;
