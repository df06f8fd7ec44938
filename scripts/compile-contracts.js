#!/usr/bin/env node
// Compiles Solidity sources with the npm solc in tools/node and writes one
// OUT_DIR/<ContractName>.json per contract:
//   { "abi": [...], "bytecode": "0x...", "methodIdentifiers": { "sig": "selector" } }
// Usage: node scripts/compile-contracts.js OUT_DIR SOURCE.sol...
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require(path.join(__dirname, '../tools/node/node_modules/solc'));

function main(argv) {
  if (argv.length < 2) {
    console.error('usage: compile-contracts.js OUT_DIR SOURCE.sol...');
    return 2;
  }
  const [outDir, ...sources] = argv;

  const input = {
    language: 'Solidity',
    sources: {},
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'paris', // no PUSH0: runs on any node the tests start
      outputSelection: {
        '*': { '*': ['abi', 'evm.bytecode.object', 'evm.methodIdentifiers'] },
      },
    },
  };
  for (const file of sources) {
    input.sources[path.basename(file)] = { content: fs.readFileSync(file, 'utf8') };
  }

  // Imports resolve next to the first source (none of ours import today).
  const baseDir = path.dirname(path.resolve(sources[0]));
  const findImports = (p) => {
    try {
      return { contents: fs.readFileSync(path.join(baseDir, p), 'utf8') };
    } catch (e) {
      return { error: `import not found: ${p}` };
    }
  };

  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  for (const e of output.errors || []) {
    console.error(e.formattedMessage || e.message);
  }
  if (errors.length > 0) {
    console.error(`compile-contracts: ${errors.length} error(s)`);
    return 1;
  }

  fs.mkdirSync(outDir, { recursive: true });
  let written = 0;
  for (const [, contracts] of Object.entries(output.contracts || {})) {
    for (const [name, c] of Object.entries(contracts)) {
      const artifact = {
        abi: c.abi,
        bytecode: '0x' + c.evm.bytecode.object,
        methodIdentifiers: c.evm.methodIdentifiers,
      };
      // Write then rename, so a reader never sees half a file.
      const target = path.join(outDir, `${name}.json`);
      fs.writeFileSync(`${target}.tmp`, JSON.stringify(artifact, null, 2) + '\n');
      fs.renameSync(`${target}.tmp`, target);
      written++;
    }
  }
  if (written === 0) {
    console.error('compile-contracts: no contracts in the sources');
    return 1;
  }
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  console.error(`compile-contracts: ${e.message}`);
  process.exitCode = 1;
}
