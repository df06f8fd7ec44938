-- Contract families (issue 12): contracts whose tokens need more than the
-- standards' tokenURI(id) / uri(id). Zora's Media contract is the first:
-- tokenURI(id) is the content itself, tokenMetadataURI(id) the metadata
-- JSON, and the sha256 of each is on chain. The indexer detects a family once
-- per contract from its code (services/indexer/contract_family.h) and reads
-- its tokens' extra fields with their URI; the extractor fetches the metadata
-- from metadata_uri, archives the token URI as an asset, and checks the bytes
-- it fetched against the hashes. A name, not a fixed list, so the next
-- family needs no migration.
ALTER TABLE contracts
  ADD COLUMN family text NOT NULL DEFAULT 'standard'
    CHECK (family ~ '^[a-z0-9_]{1,32}$');

-- Set by a family's read, NULL for the standards. A hash is NULL when the
-- contract committed to none (Zora's zero hash).
ALTER TABLE tokens
  ADD COLUMN metadata_uri text,
  ADD COLUMN content_sha256 bytea CHECK (length(content_sha256) = 32),
  ADD COLUMN metadata_sha256 bytea CHECK (length(metadata_sha256) = 32);

-- True when the extractor checked the bytes it fetched for this link against
-- the token's on-chain sha256 and they matched (a mismatch fails the token
-- with reason hash_mismatch).
ALTER TABLE token_resources
  ADD COLUMN verified boolean NOT NULL DEFAULT false;
