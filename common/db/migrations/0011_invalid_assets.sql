-- Archived means all of it. An asset URI in the metadata that does not
-- resolve (an unknown scheme, a bad CID, too long) used to be skipped, and a
-- token whose other assets were pinned counted as archived without it. Such
-- an asset is now a resource of kind 'invalid', failed from the start with
-- its reason (uri_invalid) and never pinned; its identity is a hash of the
-- URI as written (normalized 'invalid:<sha256 hex>'), and the text itself
-- stays in token_resources.uri.
ALTER TABLE resources DROP CONSTRAINT resources_kind_check;
ALTER TABLE resources ADD CONSTRAINT resources_kind_check
  CHECK (kind IN ('ipfs', 'ipns', 'arweave', 'http', 'data', 'invalid'));
