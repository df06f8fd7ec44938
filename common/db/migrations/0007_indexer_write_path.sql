-- Indexer write path (issue 3): fewer per-row costs on the tokens insert,
-- which writes every minted token once.

-- The tokens → contracts foreign key fired one trigger (an index probe and a
-- row lock on contracts) per inserted token: about half the insert's time.
-- Both writers keep the rule themselves: the indexer and the subgraph source
-- insert a token's contract row in the same transaction, before its tokens,
-- and a rollback deletes a contract only when no token refers to it.
ALTER TABLE tokens DROP CONSTRAINT tokens_chain_id_contract_fkey;

-- A rollback to block B finds the tokens minted after B (mint_block > B) and
-- those whose URI was set after B (uri_block > B). One index serves both:
-- greatest() is above B in either case, so each query filters
-- greatest(mint_block, uri_block) > B first and the exact column after.
DROP INDEX tokens_mint_block;
DROP INDEX tokens_uri_block;
CREATE INDEX tokens_changed_block
  ON tokens (chain_id, (greatest(mint_block, uri_block)));
