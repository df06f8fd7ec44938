-- The subgraph source (niftysave-indexer --source=subgraph) pages Token rows
-- by key: `where: {id_gt: last_id}, orderBy: id`. last_id is the id of the
-- last row ingested, advanced in the transaction that writes the page, so a
-- restart resumes there and a replayed page changes nothing.
CREATE TABLE subgraph_cursors (
  chain_id   bigint PRIMARY KEY REFERENCES chains ON DELETE CASCADE,
  last_id    text NOT NULL DEFAULT '',
  pages      bigint NOT NULL DEFAULT 0,  -- pages ingested
  rows       bigint NOT NULL DEFAULT 0,  -- rows read, bad ones included
  updated_at timestamptz NOT NULL DEFAULT now()
);
