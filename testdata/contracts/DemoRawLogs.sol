// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// Emits whatever log a test asks for (any topic count, any data), so tests
// can send the indexer ERC-2309 ranges, ERC-4906 refreshes and malformed
// events. name() returns bytes32, as some early contracts did; tokenURI
// returns the stored bytes as they are (not necessarily UTF-8).
contract DemoRawLogs {
    mapping(uint256 => string) private _uris;
    string private _defaultUri = "ipfs://bafkreirawlogs";

    function name() external pure returns (bytes32) {
        return "Raw Logs";
    }

    function symbol() external pure returns (string memory) {
        return "RAW";
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 || interfaceId == 0x80ac58cd || interfaceId == 0x49064906;
    }

    function tokenURI(uint256 id) external view returns (string memory) {
        if (bytes(_uris[id]).length > 0) return _uris[id];
        return _defaultUri;
    }

    function setTokenURI(uint256 id, string calldata uri) external {
        _uris[id] = uri;
    }

    // ERC-2309 in bulk: `logs` ConsecutiveTransfer mints to `to` in one
    // transaction, `perLog` ids each from `firstId` on: a hostile
    // collection's shape, millions of tokens from one call.
    function consecutiveMints(address to, uint256 firstId, uint256 perLog, uint256 logs) external {
        bytes32 topic = keccak256("ConsecutiveTransfer(uint256,uint256,address,address)");
        for (uint256 i = 0; i < logs; i++) {
            uint256 fromId = firstId + i * perLog;
            uint256 toId = fromId + perLog - 1;
            assembly {
                mstore(0, toId)
                log4(0, 32, topic, fromId, 0, to)
            }
        }
    }

    function rawLog(uint8 topicCount, bytes32 t0, bytes32 t1, bytes32 t2, bytes32 t3, bytes memory data) external {
        assembly {
            let p := add(data, 32)
            let len := mload(data)
            switch topicCount
            case 0 { log0(p, len) }
            case 1 { log1(p, len, t0) }
            case 2 { log2(p, len, t0, t1) }
            case 3 { log3(p, len, t0, t1, t2) }
            default { log4(p, len, t0, t1, t2, t3) }
        }
    }
}
