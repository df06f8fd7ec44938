-- niftysave schema v1. Addresses and hashes are bytea everywhere; token ids
-- are numeric(78) (uint256). Statuses are text with CHECK constraints so a
-- later migration can add one without an enum rewrite.

CREATE TABLE chains (
  chain_id    bigint PRIMARY KEY,
  name        text NOT NULL,
  next_block  bigint NOT NULL,          -- cursor: first block not indexed yet
  head_block  bigint,                   -- latest head the indexer saw
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE contracts (
  chain_id    bigint NOT NULL REFERENCES chains,
  address     bytea NOT NULL CHECK (length(address) = 20),
  standard    text NOT NULL CHECK (standard IN ('erc721', 'erc1155')),
  name        text,
  symbol      text,
  first_block bigint NOT NULL,
  PRIMARY KEY (chain_id, address)
);

-- One row per piece of content, however many tokens link it and through
-- whichever gateway: keyed by the normalised URI's hash (data: URIs are too
-- long for a btree key).
CREATE TABLE resources (
  id           bigserial PRIMARY KEY,
  uri_hash     bytea NOT NULL UNIQUE,
  normalized   text NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('ipfs', 'ipns', 'arweave', 'http', 'data')),
  cid          text,                    -- CIDv1 base32 for ipfs resources
  path         text NOT NULL DEFAULT '',
  status       text NOT NULL DEFAULT 'queued'
               CHECK (status IN ('queued', 'pinning', 'pinned', 'failed')),
  reason       text,
  detail       text,
  pinned_cid   text,                    -- root CID pinned for this resource
  size         bigint,
  content_type text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resources_pinned_cid ON resources (pinned_cid);

CREATE TABLE tokens (
  id          bigserial PRIMARY KEY,
  chain_id    bigint NOT NULL,
  contract    bytea NOT NULL,
  token_id    numeric(78) NOT NULL CHECK (token_id >= 0),
  token_uri   text,
  owner       bytea,
  mint_block  bigint,
  mint_tx     bytea,
  burned      boolean NOT NULL DEFAULT false,
  status      text NOT NULL DEFAULT 'queued'
              CHECK (status IN ('queued', 'extracted', 'archived', 'failed')),
  reason      text,
  detail      text,
  metadata_resource_id bigint REFERENCES resources,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (chain_id, contract, token_id),
  FOREIGN KEY (chain_id, contract) REFERENCES contracts
);
CREATE INDEX tokens_status ON tokens (status);

CREATE TABLE transfers (
  chain_id     bigint NOT NULL,
  block_number bigint NOT NULL,
  block_hash   bytea NOT NULL,
  log_index    integer NOT NULL,
  tx_hash      bytea NOT NULL,
  contract     bytea NOT NULL,
  token_id     numeric(78) NOT NULL,
  from_address bytea NOT NULL,
  to_address   bytea NOT NULL,
  PRIMARY KEY (chain_id, block_number, log_index)
);

-- The original bytes of a metadata document (never re-serialised) and its
-- parsed form.
CREATE TABLE metadata (
  resource_id  bigint PRIMARY KEY REFERENCES resources,
  sha256       bytea NOT NULL,
  size         integer NOT NULL,
  content_type text,
  raw          bytea NOT NULL,
  doc          jsonb,
  fetched_at   timestamptz NOT NULL DEFAULT now()
);

-- Which resources a token needs archived, and where its metadata named them.
-- role 'metadata' is the token URI itself (json_path '').
CREATE TABLE token_resources (
  token_pk    bigint NOT NULL REFERENCES tokens ON DELETE CASCADE,
  json_path   text NOT NULL,
  resource_id bigint NOT NULL REFERENCES resources,
  role        text NOT NULL CHECK (role IN ('metadata', 'asset')),
  uri         text NOT NULL,            -- as written in the metadata
  PRIMARY KEY (token_pk, json_path)
);
CREATE INDEX token_resources_resource ON token_resources (resource_id);

-- Links (external_url, ...) and inline content (image_data) found in the
-- metadata: recorded, not archived.
CREATE TABLE token_links (
  token_pk  bigint NOT NULL REFERENCES tokens ON DELETE CASCADE,
  json_path text NOT NULL,
  role      text NOT NULL CHECK (role IN ('link', 'inline')),
  value     text NOT NULL,
  PRIMARY KEY (token_pk, json_path)
);

-- One pin per (CID, backend).
CREATE TABLE pins (
  id          bigserial PRIMARY KEY,
  cid         text NOT NULL,
  backend     text NOT NULL,
  request_id  text,
  status      text NOT NULL DEFAULT 'queued'
              CHECK (status IN ('queued', 'pinning', 'pinned', 'failed')),
  reason      text,
  detail      text,
  checks      integer NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (cid, backend)
);

-- The durable work queues. A row is work to do; leasing pushes run_after to
-- the lease deadline, so an expired lease is simply due again and one partial
-- index serves every lease. `attempts` doubles as the fencing token: a worker
-- whose lease expired cannot complete or reschedule the item.
CREATE TABLE work_queue (
  queue       text NOT NULL CHECK (queue IN ('extract', 'pin', 'track')),
  item_id     bigint NOT NULL,
  state       text NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'dead')),
  attempts    integer NOT NULL DEFAULT 0,
  run_after   timestamptz NOT NULL DEFAULT now(),
  leased_by   text,
  last_error  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (queue, item_id)
);
CREATE INDEX work_queue_due ON work_queue (queue, run_after) WHERE state = 'ready';
