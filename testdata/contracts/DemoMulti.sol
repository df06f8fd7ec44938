// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// A deliberately small ERC-1155 for the integration tests: anyone may mint,
// transfers need no approval (the sender must be `from`), there are no
// receiver hooks (tests send to plain accounts), and setURI emits URI.
contract DemoMulti {
    event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value);
    event TransferBatch(address indexed operator, address indexed from, address indexed to, uint256[] ids, uint256[] values);
    event URI(string value, uint256 indexed id);

    string public name = "Demo Multi";
    string public symbol = "DMULTI";

    string private _defaultUri = "ipfs://bafkreidemomulti/{id}.json";
    mapping(uint256 => string) private _uris;
    mapping(uint256 => mapping(address => uint256)) private _balances;

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 // ERC-165
            || interfaceId == 0xd9b67a26 // ERC-1155
            || interfaceId == 0x0e89341c; // ERC-1155 metadata URI
    }

    function balanceOf(address owner, uint256 id) external view returns (uint256) {
        return _balances[id][owner];
    }

    // The per-token URI when one was set, else the shared {id} template.
    function uri(uint256 id) external view returns (string memory) {
        if (bytes(_uris[id]).length > 0) return _uris[id];
        return _defaultUri;
    }

    function setURI(uint256 id, string calldata newUri) external {
        _uris[id] = newUri;
        emit URI(newUri, id);
    }

    function mint(address to, uint256 id, uint256 amount) external {
        require(to != address(0), "mint to zero address");
        _balances[id][to] += amount;
        emit TransferSingle(msg.sender, address(0), to, id, amount);
    }

    function mintBatch(address to, uint256[] calldata ids, uint256[] calldata amounts) external {
        require(to != address(0), "mint to zero address");
        require(ids.length == amounts.length, "length mismatch");
        for (uint256 i = 0; i < ids.length; i++) {
            _balances[ids[i]][to] += amounts[i];
        }
        emit TransferBatch(msg.sender, address(0), to, ids, amounts);
    }

    // One of each id to `to`, each with its own URI (set without a URI
    // event, as collections that fix a token's URI at mint do): one
    // transaction mints many tokens with distinct metadata (the pipeline
    // benchmark's ERC-1155 collections).
    function mintBatchWithUris(address to, uint256[] calldata ids, string[] calldata uris) external {
        require(to != address(0), "mint to zero address");
        require(ids.length == uris.length, "length mismatch");
        uint256[] memory amounts = new uint256[](ids.length);
        for (uint256 i = 0; i < ids.length; i++) {
            _balances[ids[i]][to] += 1;
            _uris[ids[i]] = uris[i];
            amounts[i] = 1;
        }
        emit TransferBatch(msg.sender, address(0), to, ids, amounts);
    }

    function safeTransferFrom(address from, address to, uint256 id, uint256 amount, bytes calldata) external {
        require(msg.sender == from, "not the owner");
        require(_balances[id][from] >= amount, "insufficient balance");
        _balances[id][from] -= amount;
        _balances[id][to] += amount;
        emit TransferSingle(msg.sender, from, to, id, amount);
    }

    function burn(address from, uint256 id, uint256 amount) external {
        require(msg.sender == from, "not the owner");
        require(_balances[id][from] >= amount, "insufficient balance");
        _balances[id][from] -= amount;
        emit TransferSingle(msg.sender, from, address(0), id, amount);
    }
}
