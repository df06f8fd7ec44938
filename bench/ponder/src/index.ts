// Indexing functions in the shape of Ponder's own ERC-721 example: each
// Transfer upserts the token's owner and inserts a transfer row. With
// PONDER_READ_URIS=1 a mint also reads tokenURI(id) / uri(id), the work
// niftysave-indexer does for every mint.
import { ponder } from "ponder:registry";
import { token, transferEvent } from "ponder:schema";
import { zeroAddress } from "viem";
import { erc1155Abi, erc721Abi } from "../abis";

const readUris = process.env.PONDER_READ_URIS === "1";

ponder.on("Erc721:Transfer", async ({ event, context }) => {
  const { from, to, tokenId } = event.args;
  const contract = event.log.address;
  const id = `${contract}-${tokenId}`;
  if (from === zeroAddress) {
    const uri = readUris
      ? await context.client.readContract({
          abi: erc721Abi,
          address: contract,
          functionName: "tokenURI",
          args: [tokenId],
        })
      : null;
    await context.db
      .insert(token)
      .values({ id, contract, tokenId, standard: "erc721", owner: to, uri })
      .onConflictDoUpdate({ owner: to });
  } else {
    await context.db
      .insert(token)
      .values({ id, contract, tokenId, standard: "erc721", owner: to })
      .onConflictDoUpdate({ owner: to });
  }
  await context.db.insert(transferEvent).values({
    id: `${event.block.number}-${event.log.logIndex}`,
    blockNumber: event.block.number,
    contract,
    tokenId,
    from,
    to,
    amount: 1n,
    standard: "erc721",
  });
});

async function erc1155Moved(
  context: any,
  event: any,
  ids: readonly bigint[],
  values: readonly bigint[],
) {
  const { from, to } = event.args;
  const contract = event.log.address;
  for (let k = 0; k < ids.length; k++) {
    const tokenId = ids[k]!;
    if (from === zeroAddress) {
      const uri = readUris
        ? await context.client.readContract({
            abi: erc1155Abi,
            address: contract,
            functionName: "uri",
            args: [tokenId],
          })
        : null;
      await context.db
        .insert(token)
        .values({
          id: `${contract}-${tokenId}`,
          contract,
          tokenId,
          standard: "erc1155",
          uri,
        })
        .onConflictDoNothing();
    }
    await context.db.insert(transferEvent).values({
      id: `${event.block.number}-${event.log.logIndex}-${k}`,
      blockNumber: event.block.number,
      contract,
      tokenId,
      from,
      to,
      amount: values[k]!,
      standard: "erc1155",
    });
  }
}

ponder.on("Erc1155:TransferSingle", async ({ event, context }) => {
  await erc1155Moved(context, event, [event.args.id], [event.args.value]);
});

ponder.on("Erc1155:TransferBatch", async ({ event, context }) => {
  await erc1155Moved(context, event, event.args.ids, event.args.values);
});
