-- A lease's fencing token becomes `generation`, bumped by every lease and by
-- every forced re-queue, so a refresh that lands while a worker holds the
-- item makes that worker's Complete/Reschedule miss (its result is stale)
-- and the item runs again with the new data. `attempts` keeps counting
-- tries for back-off and give-up only.
ALTER TABLE work_queue ADD COLUMN generation bigint NOT NULL DEFAULT 0;
