// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// Event generators for bench/indexer_bench: many standard transfer events per
// transaction, so a chain with hundreds of thousands of them takes only a few
// hundred transactions. They keep no ownership state (nothing is checked, and
// nothing is stored, which is what makes an event cost about 2,000 gas); the
// logs are byte for byte what a real ERC-721 / ERC-1155 emits, and the
// metadata functions answer the way a real collection does.

// The decimal digits of v, as tokenURI builds them.
function decimalString(uint256 v) pure returns (string memory) {
    if (v == 0) return "0";
    uint256 digits;
    for (uint256 t = v; t != 0; t /= 10) digits++;
    bytes memory out = new bytes(digits);
    for (; v != 0; v /= 10) out[--digits] = bytes1(uint8(48 + (v % 10)));
    return string(out);
}

// ERC-721: Transfer(from, to, tokenId), tokenURI(id) = base + id + ".json".
contract BenchNFT {
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);

    string public name = "Bench NFT";
    string public symbol = "BENCH";
    string private constant BASE =
        "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/";

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 // ERC-165
            || interfaceId == 0x80ac58cd // ERC-721
            || interfaceId == 0x5b5e139f; // ERC-721 metadata
    }

    function tokenURI(uint256 id) external pure returns (string memory) {
        return string.concat(BASE, decimalString(id), ".json");
    }

    // Mints firstId .. firstId + n - 1 to `to`: n Transfer logs.
    function mintBatch(address to, uint256 firstId, uint256 n) external {
        for (uint256 i = 0; i < n; i++) {
            emit Transfer(address(0), to, firstId + i);
        }
    }

    // Moves firstId .. firstId + n - 1 from `from` to `to`: n Transfer logs.
    function transferBatch(address from, address to, uint256 firstId, uint256 n) external {
        for (uint256 i = 0; i < n; i++) {
            emit Transfer(from, to, firstId + i);
        }
    }
}

// ERC-1155: TransferSingle and TransferBatch, uri(id) with the {id} template.
contract BenchMulti {
    event TransferSingle(address indexed operator, address indexed from, address indexed to,
                         uint256 id, uint256 value);
    event TransferBatch(address indexed operator, address indexed from, address indexed to,
                        uint256[] ids, uint256[] values);

    string public name = "Bench Multi";
    string public symbol = "BMULTI";

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 // ERC-165
            || interfaceId == 0xd9b67a26 // ERC-1155
            || interfaceId == 0x0e89341c; // ERC-1155 metadata URI
    }

    function uri(uint256) external pure returns (string memory) {
        return "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/{id}.json";
    }

    // Mints `amount` of each of firstId .. firstId + n - 1 to `to`, one
    // TransferSingle per id.
    function mintSingles(address to, uint256 firstId, uint256 n, uint256 amount) external {
        for (uint256 i = 0; i < n; i++) {
            emit TransferSingle(msg.sender, address(0), to, firstId + i, amount);
        }
    }

    // `logs` TransferBatch logs from `from` to `to`, each moving `perLog`
    // consecutive ids (one unit of each), starting at firstId.
    function transferBatches(address from, address to, uint256 firstId, uint256 logs,
                             uint256 perLog) external {
        uint256 next = firstId;
        for (uint256 l = 0; l < logs; l++) {
            uint256[] memory ids = new uint256[](perLog);
            uint256[] memory values = new uint256[](perLog);
            for (uint256 k = 0; k < perLog; k++) {
                ids[k] = next++;
                values[k] = 1;
            }
            emit TransferBatch(msg.sender, from, to, ids, values);
        }
    }
}

// For bench/pipeline_bench's runs of a million tokens (--computed_uris): a
// token's URI is computed from its id and a few bases set once, and mints are
// events only, so anvil's state stays a few slots however many tokens there
// are (DemoNFT stores an owner and a URI a token, and anvil's cost a block,
// and its memory, grow with that state). Anyone may set the bases.
abstract contract BenchSite {
    string[] private _bases;

    function setBases(string[] calldata bases) external {
        require(bases.length > 0, "no bases");
        delete _bases;
        for (uint256 i = 0; i < bases.length; i++) _bases.push(bases[i]);
    }

    // bases[id % bases.length] + id + ".json"
    function _uri(uint256 id) internal view returns (string memory) {
        require(_bases.length > 0, "no bases");
        return string.concat(_bases[id % _bases.length], decimalString(id), ".json");
    }
}

// ERC-721 with computed URIs: Transfer(0, to, id) for firstId .. firstId + n - 1.
contract BenchSiteNFT is BenchSite {
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);

    string public name = "Bench Site NFT";
    string public symbol = "BSITE";

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 // ERC-165
            || interfaceId == 0x80ac58cd // ERC-721
            || interfaceId == 0x5b5e139f; // ERC-721 metadata
    }

    function tokenURI(uint256 id) external view returns (string memory) {
        return _uri(id);
    }

    function mintBatch(address to, uint256 firstId, uint256 n) external {
        for (uint256 i = 0; i < n; i++) emit Transfer(address(0), to, firstId + i);
    }
}

// ERC-1155 with computed URIs (no {id} template): one TransferSingle of one
// unit for each of firstId .. firstId + n - 1.
contract BenchSiteMulti is BenchSite {
    event TransferSingle(address indexed operator, address indexed from, address indexed to,
                         uint256 id, uint256 value);

    string public name = "Bench Site Multi";
    string public symbol = "BSMULTI";

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 // ERC-165
            || interfaceId == 0xd9b67a26 // ERC-1155
            || interfaceId == 0x0e89341c; // ERC-1155 metadata URI
    }

    function uri(uint256 id) external view returns (string memory) {
        return _uri(id);
    }

    function mintBatch(address to, uint256 firstId, uint256 n) external {
        for (uint256 i = 0; i < n; i++) {
            emit TransferSingle(msg.sender, address(0), to, firstId + i, 1);
        }
    }
}
