-- Exactly one remote pin request per (CID, backend) (issue 13). The pinner
-- used to look for an existing pin, call the backend, then record the pin,
-- with nothing fencing the window: two replicas working resources that share
-- a root CID could each send `POST /pins`, which a Pinning Service does not
-- treat as idempotent. Before calling a backend the pinner now claims the
-- (CID, backend) here in its own short transaction. The claim belongs to the
-- claimer's lease on its 'pin' queue item (item_id, generation): it is live
-- while that lease is (renewed or not), so a claimer that crashed, hung or
-- lost its lease is taken over as soon as its lease has run out. Recording
-- the pin drops the claim in the same transaction; a failed request drops it
-- at once.
CREATE TABLE pin_claims (
  cid         text NOT NULL,
  backend     text NOT NULL,
  item_id     bigint NOT NULL,  -- the claimer's 'pin' queue item
  generation  bigint NOT NULL,  -- and its lease
  claimed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (cid, backend)
);
