// The reference indexer's configuration for bench/indexer_bench.sh. The bench
// driver passes the chain and the contracts in the environment:
//   PONDER_RPC_URL        anvil's JSON-RPC URL
//   PONDER_CHAIN_ID       its chain id
//   PONDER_ERC721         ERC-721 contract addresses, comma-separated
//   PONDER_ERC1155        ERC-1155 contract addresses, comma-separated
//   DATABASE_URL          the Postgres database Ponder writes to
import { createConfig } from "ponder";
import { http, type Address } from "viem";
import { erc1155Abi, erc721Abi } from "./abis";

function addresses(name: string): Address[] {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value.split(",").map((a) => a.trim() as Address);
}

export default createConfig({
  database: { kind: "postgres", connectionString: process.env.DATABASE_URL },
  networks: {
    bench: {
      chainId: Number(process.env.PONDER_CHAIN_ID ?? 31337),
      transport: http(process.env.PONDER_RPC_URL),
      // The default (50 requests/s) is meant for hosted RPC providers; the
      // local node is not rate-limited, so Ponder may go as fast as it can.
      maxRequestsPerSecond: 100_000,
    },
  },
  contracts: {
    Erc721: {
      network: "bench",
      abi: erc721Abi,
      address: addresses("PONDER_ERC721"),
      startBlock: 0,
    },
    Erc1155: {
      network: "bench",
      abi: erc1155Abi,
      address: addresses("PONDER_ERC1155"),
      startBlock: 0,
    },
  },
});
