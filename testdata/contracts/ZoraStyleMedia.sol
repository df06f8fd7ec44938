// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// The read surface of Zora's Media contract (mainnet
// 0xabEFBc9fD2F806065b4f3C237d4b59D9A97Bcac7), written for the tests:
// tokenURI(id) is the content itself, tokenMetadataURI(id) the metadata, and
// the sha256 of each is on chain. Like Zora, ids count up from 0 and every read
// of a token that does not exist reverts. The hashes are whatever the minter
// says, so a test can mint a token whose content does not match its hash.
contract ZoraStyleMedia {
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);

    string public name = "Zora Style Media";
    string public symbol = "ZSM";

    uint256 private _nextId;
    mapping(uint256 => address) private _owners;
    mapping(address => uint256) private _balances;
    mapping(uint256 => string) private _contentUris;
    mapping(uint256 => string) private _metadataUris;
    mapping(uint256 => bytes32) public tokenContentHashes;
    mapping(uint256 => bytes32) public tokenMetadataHashes;

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
        return _contentUris[id];
    }

    function tokenMetadataURI(uint256 id) external view returns (string memory) {
        require(_owners[id] != address(0), "nonexistent token");
        return _metadataUris[id];
    }

    function mint(
        address to,
        string calldata contentURI,
        string calldata metadataURI,
        bytes32 contentHash,
        bytes32 metadataHash
    ) external returns (uint256 id) {
        require(to != address(0), "mint to zero address");
        id = _nextId++;
        _owners[id] = to;
        _balances[to] += 1;
        _contentUris[id] = contentURI;
        _metadataUris[id] = metadataURI;
        tokenContentHashes[id] = contentHash;
        tokenMetadataHashes[id] = metadataHash;
        emit Transfer(address(0), to, id);
    }

    function burn(uint256 id) external {
        address owner = ownerOf(id);
        require(msg.sender == owner, "not the owner");
        _balances[owner] -= 1;
        delete _owners[id];
        delete _contentUris[id];
        delete _metadataUris[id];
        delete tokenContentHashes[id];
        delete tokenMetadataHashes[id];
        emit Transfer(owner, address(0), id);
    }
}
