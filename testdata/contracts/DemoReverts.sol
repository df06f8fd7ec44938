// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

// An ERC-721 whose tokenURI fails the ways real contracts do, by the last
// digit of the token id, so tests can check the reason recorded for each:
// 1 a custom error with arguments, 2 require with a message, 3 an
// arithmetic overflow (Panic 0x11), 4 a bare revert(); any other id returns
// its stored URI.
contract DemoReverts {
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);

    error NotRevealed(uint256 id, address owner);

    mapping(uint256 => address) private _owners;
    mapping(uint256 => string) private _uris;

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x01ffc9a7 || interfaceId == 0x80ac58cd || interfaceId == 0x5b5e139f;
    }

    function tokenURI(uint256 id) external view returns (string memory) {
        uint256 kind = id % 10;
        if (kind == 1) revert NotRevealed(id, _owners[id]);
        require(kind != 2, "not revealed yet");
        if (kind == 3) {
            uint256 big = type(uint256).max - 1;
            return _uris[big + id];  // overflows: Panic(0x11)
        }
        if (kind == 4) revert();
        return _uris[id];
    }

    function mint(address to, uint256 id, string calldata uri) external {
        require(_owners[id] == address(0), "token exists");
        _owners[id] = to;
        _uris[id] = uri;
        emit Transfer(address(0), to, id);
    }
}
