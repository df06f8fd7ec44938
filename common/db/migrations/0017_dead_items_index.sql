-- Parked ('dead') items by queue and id: a hand-off revives the dead among
-- its ids with a read bounded by the parked items whatever the plan
-- (common/db/work_queue.cc, kRevive), and the dead counts and listings read
-- only parked items.
CREATE INDEX work_queue_dead ON work_queue (queue, item_id) WHERE state = 'dead';
