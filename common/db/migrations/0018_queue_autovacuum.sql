-- The work queue is a churn table: every lease moves its items to the back
-- of the due index and every outcome deletes or moves them again, so dead
-- index entries pile up at the front, where the next lease starts reading.
-- bench/queue_bench.sh, draining 1,000,000 items: with no vacuum during the
-- drain, lease p50 drifted from 3.4 to 5.5 ms; with a vacuum every few
-- seconds it stayed at 3.6-4.3 ms. The default threshold (20% of the rows
-- changed) lets 200,000 dead entries gather in a queue of a million; vacuum
-- after 1%, and without cost-based sleeps.
ALTER TABLE work_queue SET (
  autovacuum_vacuum_scale_factor = 0.01,
  autovacuum_vacuum_insert_scale_factor = 0.01,
  autovacuum_analyze_scale_factor = 0.01,
  autovacuum_vacuum_cost_delay = 0
);
