-- Issue 12: a token whose URI read reverted while it was burned was recorded
-- 'failed' with 'token_uri_revert' for good, and a later mint of it never
-- read its URI again. The indexer now records such a read as
-- 'token_burned' and reads the URI again at every mint; this brings the
-- rows written before it in line, once:
-- - tokens recorded that way and alive now (minted again since) are queued
--   on their chain's URI-read queue;
-- - those still burned get the reason the indexer now writes.
-- Only the RPC source writes 'token_uri_revert', and it runs the URI reader
-- that follows the queue. Running this twice changes nothing more.
INSERT INTO work_queue (queue, item_id)
SELECT 'read_uri:' || chain_id, id FROM tokens
WHERE status = 'failed' AND reason = 'token_uri_revert' AND NOT burned
ORDER BY id
ON CONFLICT (queue, item_id) DO UPDATE
SET state = 'ready', attempts = 0, lost_leases = 0, leased_by = NULL,
    run_after = now(),
    generation = work_queue.generation + 1, updated_at = now();

UPDATE tokens
SET reason = 'token_burned',
    detail = 'burned: its next mint reads it again (' || detail || ')',
    updated_at = now()
WHERE status = 'failed' AND reason = 'token_uri_revert' AND burned;
