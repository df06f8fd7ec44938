// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// A deliberately small ERC-721 for the integration tests: anyone may mint,
// token URIs are stored strings that tests may overwrite, and tokenURI of a
// token that does not exist (or was burned) reverts, as the standard says.
contract DemoNFT {
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event Approval(address indexed owner, address indexed approved, uint256 indexed tokenId);

    string public name = "Demo NFT";
    string public symbol = "DEMO";

    mapping(uint256 => address) private _owners;
    mapping(address => uint256) private _balances;
    mapping(uint256 => string) private _uris;

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 // ERC-165
            || interfaceId == 0x80ac58cd // ERC-721
            || interfaceId == 0x5b5e139f; // ERC-721 metadata
    }

    function balanceOf(address owner) external view returns (uint256) {
        require(owner != address(0), "zero address");
        return _balances[owner];
    }

    function ownerOf(uint256 id) public view returns (address) {
        address owner = _owners[id];
        require(owner != address(0), "nonexistent token");
        return owner;
    }

    function tokenURI(uint256 id) external view returns (string memory) {
        require(_owners[id] != address(0), "nonexistent token");
        return _uris[id];
    }

    function setTokenURI(uint256 id, string calldata uri) external {
        require(_owners[id] != address(0), "nonexistent token");
        _uris[id] = uri;
    }

    function mint(address to, uint256 id, string calldata uri) public {
        require(to != address(0), "mint to zero address");
        require(_owners[id] == address(0), "token exists");
        _owners[id] = to;
        _balances[to] += 1;
        _uris[id] = uri;
        emit Transfer(address(0), to, id);
    }

    function mintBatch(address to, uint256[] calldata ids, string[] calldata uris) external {
        require(ids.length == uris.length, "length mismatch");
        for (uint256 i = 0; i < ids.length; i++) {
            mint(to, ids[i], uris[i]);
        }
    }

    function transferFrom(address from, address to, uint256 id) external {
        require(ownerOf(id) == from, "from is not the owner");
        require(msg.sender == from, "not the owner");
        require(to != address(0), "transfer to zero address");
        _balances[from] -= 1;
        _balances[to] += 1;
        _owners[id] = to;
        emit Transfer(from, to, id);
    }

    function burn(uint256 id) external {
        address owner = ownerOf(id);
        require(msg.sender == owner, "not the owner");
        _balances[owner] -= 1;
        delete _owners[id];
        delete _uris[id];
        emit Transfer(owner, address(0), id);
    }
}
