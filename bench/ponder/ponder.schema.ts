// What the reference indexer stores: one row per token moved (an ERC-1155
// TransferBatch is one row per id, as in niftysave's `transfers`), and the
// tokens with their current ERC-721 owner (and URI when PONDER_READ_URIS=1).
import { onchainTable } from "ponder";

export const transferEvent = onchainTable("transfer_event", (t) => ({
  id: t.text().primaryKey(),
  blockNumber: t.bigint().notNull(),
  contract: t.hex().notNull(),
  tokenId: t.bigint().notNull(),
  from: t.hex().notNull(),
  to: t.hex().notNull(),
  amount: t.bigint().notNull(),
  standard: t.text().notNull(),
}));

export const token = onchainTable("token", (t) => ({
  id: t.text().primaryKey(), // contract-tokenId
  contract: t.hex().notNull(),
  tokenId: t.bigint().notNull(),
  standard: t.text().notNull(),
  owner: t.hex(),
  uri: t.text(),
}));
