// A loopback STAND-IN for a subgraph on The Graph (graph-node's GraphQL
// endpoint) serving the eip721-subgraph schema from a fixture file; no
// graph-node runs here. It follows graph-node's query rules for what the
// indexer uses:
//   - POST with {"query", "variables", "operationName"?}; the reply is
//     {"data": ...} or {"errors": [{"message"}]} (HTTP 200, like graph-node)
//   - root field `tokens(first, skip, where, orderBy, orderDirection)`:
//     first defaults to 100 and must be 0-1000; skip defaults to 0 and must
//     be 0-5000 (graph-node's limits, with its messages); where supports
//     id, id_gt, id_gte, id_lt, id_lte, id_in; orderBy: id (the default);
//     orderDirection: asc | desc. ids compare as strings, like ID fields.
//   - Token { id tokenID tokenURI mintTime blockNumber blockHash
//     contract { id name symbol supportsEIP721Metadata numTokens }
//     owner { id numTokens } }; only the selected fields are returned, an
//     unknown field or argument is an error. Aliases and __typename work.
//   - `_meta { block { number } }`.
// The fixture is a JSON array of tokens in the reply's shape; its rows are
// served exactly as written, so a fixture may hold malformed rows.
// Test hooks (not graph-node's) live under /_standin/:
//   POST /_standin/fail {"kind": "graphql" | "http", "status": 502,
//                        "after": N, "times": 1}
//     after N more good queries, the next `times` queries fail: a GraphQL
//     error ("kind": "graphql") or an HTTP status with a text body.
//   GET /_standin/requests → {"count": N, "queries": [{"operation",
//     "first", "skip", "where", "orderBy", "orderDirection", "failed"}]}
//   POST /_standin/tokens {"upsert": [Token, ...]}
//     adds rows, or replaces the rows with the same id (as the subgraph
//     would after indexing more blocks); e.g. a changed tokenURI.
//   POST /_standin/token_uri {"id": "0x..._1", "tokenURI": "ipfs://..."}
//     changes one row's tokenURI (null removes it); 404 for an unknown id.
//
// Usage: node subgraph_standin.js --port P --fixture tokens.json
'use strict'

const http = require('http')
const fs = require('fs')

const args = {}
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1]
}
const port = parseInt(args.port, 10)
const tokens = JSON.parse(fs.readFileSync(args.fixture, 'utf8'))
const byId = (a, b) => (String(a.id) < String(b.id) ? -1 : String(a.id) > String(b.id) ? 1 : 0)
tokens.sort(byId)
const MAX_BODY = 1 << 20

const log = []
let failure = null

// ---- GraphQL: the executable subset (one operation, no fragments).
class GqlError extends Error {}

function lex (src) {
  const out = []
  let i = 0
  while (i < src.length) {
    const c = src[i]
    if (' \t\r\n,\ufeff'.includes(c)) { i++; continue }
    if (c === '#') { while (i < src.length && src[i] !== '\n') i++; continue }
    if ('!$():=@[]{}|'.includes(c)) { out.push({ t: 'p', v: c }); i++; continue }
    if (src.startsWith('...', i)) throw new GqlError('fragments are not supported by this stand-in')
    let m = /^[_A-Za-z][_0-9A-Za-z]*/.exec(src.slice(i))
    if (m) { out.push({ t: 'name', v: m[0] }); i += m[0].length; continue }
    m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(src.slice(i))
    if (m) { out.push({ t: 'num', v: Number(m[0]), int: !m[2] && !m[3] }); i += m[0].length; continue }
    if (c === '"') {
      let s = ''
      i++
      while (i < src.length && src[i] !== '"') {
        if (src[i] === '\\') {
          const e = src[i + 1]
          if (e === 'u') { s += String.fromCharCode(parseInt(src.substr(i + 2, 4), 16)); i += 6; continue }
          s += { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' }[e] || e
          i += 2
          continue
        }
        s += src[i++]
      }
      if (src[i] !== '"') throw new GqlError('Syntax Error: unterminated string')
      i++
      out.push({ t: 'str', v: s })
      continue
    }
    throw new GqlError(`Syntax Error: unexpected character "${c}"`)
  }
  return out
}

function parse (src) {
  const toks = lex(src)
  let k = 0
  const peek = () => toks[k]
  const isP = v => toks[k] && toks[k].t === 'p' && toks[k].v === v
  const expectP = v => { if (!isP(v)) throw new GqlError(`Syntax Error: expected "${v}"`); k++ }
  const name = () => {
    if (!peek() || peek().t !== 'name') throw new GqlError('Syntax Error: expected a name')
    return toks[k++].v
  }
  function value () {
    const t = peek()
    if (!t) throw new GqlError('Syntax Error: expected a value')
    if (isP('$')) { k++; return { variable: name() } }
    if (isP('[')) {
      k++
      const list = []
      while (!isP(']')) list.push(value())
      k++
      return { list }
    }
    if (isP('{')) {
      k++
      const obj = {}
      while (!isP('}')) { const n = name(); expectP(':'); obj[n] = value() }
      k++
      return { object: obj }
    }
    k++
    if (t.t === 'num') return { literal: t.v, int: t.int }
    if (t.t === 'str') return { literal: t.v }
    if (t.t === 'name') {
      if (t.v === 'true') return { literal: true }
      if (t.v === 'false') return { literal: false }
      if (t.v === 'null') return { literal: null }
      return { enum: t.v }
    }
    throw new GqlError('Syntax Error: unexpected token')
  }
  function selectionSet () {
    expectP('{')
    const fields = []
    while (!isP('}')) {
      let alias = name()
      let field = alias
      if (isP(':')) { k++; field = name() }
      const fargs = {}
      if (isP('(')) {
        k++
        while (!isP(')')) { const n = name(); expectP(':'); fargs[n] = value() }
        k++
      }
      const sub = isP('{') ? selectionSet() : null
      fields.push({ alias, field, args: fargs, sub })
    }
    k++
    return fields
  }
  const vars = []
  let opName = null
  if (peek() && peek().t === 'name') {
    const op = name()
    if (op !== 'query') throw new GqlError(`only queries are supported, not ${op}`)
    if (peek() && peek().t === 'name') opName = name()
    if (isP('(')) {
      k++
      while (!isP(')')) {
        expectP('$')
        const n = name()
        expectP(':')
        while (!isP('$') && !isP(')') && !isP('=')) k++ // the type
        let def
        if (isP('=')) { k++; def = value() }
        vars.push({ name: n, def })
      }
      k++
    }
  }
  const sel = selectionSet()
  if (k !== toks.length) throw new GqlError('Syntax Error: one operation per request')
  return { vars, sel, opName }
}

function resolve (v, variables) {
  if (v.variable !== undefined) {
    if (!(v.variable in variables)) return undefined
    return variables[v.variable]
  }
  if (v.list) return v.list.map(x => resolve(x, variables))
  if (v.object) {
    const o = {}
    for (const [n, x] of Object.entries(v.object)) o[n] = resolve(x, variables)
    return o
  }
  if (v.enum !== undefined) return v.enum
  return v.literal
}

const FIELDS = {
  Token: { id: null, tokenID: null, tokenURI: null, mintTime: null, blockNumber: null, blockHash: null, contract: 'Contract', owner: 'Owner' },
  Contract: { id: null, name: null, symbol: null, supportsEIP721Metadata: null, numTokens: null },
  Owner: { id: null, numTokens: null }
}

function project (row, sel, type) {
  if (row === null || row === undefined) return null
  const out = {}
  for (const f of sel) {
    if (f.field === '__typename') { out[f.alias] = type; continue }
    if (!(f.field in FIELDS[type])) throw new GqlError(`Type \`${type}\` has no field \`${f.field}\``)
    const sub = FIELDS[type][f.field]
    if (sub && !f.sub) throw new GqlError(`Field \`${f.field}\` must have a selection of subfields`)
    if (!sub && f.sub) throw new GqlError(`Field \`${f.field}\` must not have a selection since type is scalar`)
    const v = row[f.field] === undefined ? null : row[f.field]
    out[f.alias] = sub ? project(v, f.sub, sub) : v
  }
  return out
}

function intArg (v, what, def, max) {
  if (v === undefined || v === null) return def
  if (!Number.isInteger(v)) throw new GqlError(`Invalid value provided for argument \`${what}\``)
  if (v < 0 || v > max) throw new GqlError(`The \`${what}\` argument must be between 0 and ${max}, but is ${v}`)
  return v
}

function queryTokens (fargs, record) {
  for (const a of Object.keys(fargs)) {
    if (!['first', 'skip', 'where', 'orderBy', 'orderDirection', 'block'].includes(a)) throw new GqlError(`Unknown argument \`${a}\` on field \`Query.tokens\``)
  }
  record.first = fargs.first === undefined ? null : fargs.first
  record.skip = fargs.skip === undefined ? null : fargs.skip
  record.where = fargs.where === undefined ? null : fargs.where
  record.orderBy = fargs.orderBy === undefined ? null : fargs.orderBy
  record.orderDirection = fargs.orderDirection === undefined ? null : fargs.orderDirection
  const first = intArg(fargs.first, 'first', 100, 1000)
  const skip = intArg(fargs.skip, 'skip', 0, 5000)
  const orderBy = fargs.orderBy || 'id'
  if (orderBy !== 'id') throw new GqlError(`this stand-in orders by id only, not ${orderBy}`)
  const dir = fargs.orderDirection || 'asc'
  if (dir !== 'asc' && dir !== 'desc') throw new GqlError(`Invalid value provided for argument \`orderDirection\``)
  let rows = tokens
  const where = fargs.where || {}
  for (const [key, v] of Object.entries(where)) {
    const s = v === null ? null : (Array.isArray(v) ? v.map(String) : String(v))
    const id = r => String(r.id)
    if (key === 'id') rows = rows.filter(r => id(r) === s)
    else if (key === 'id_gt') rows = rows.filter(r => id(r) > s)
    else if (key === 'id_gte') rows = rows.filter(r => id(r) >= s)
    else if (key === 'id_lt') rows = rows.filter(r => id(r) < s)
    else if (key === 'id_lte') rows = rows.filter(r => id(r) <= s)
    else if (key === 'id_in') rows = rows.filter(r => s.includes(id(r)))
    else throw new GqlError(`Type \`Token_filter\` has no field \`${key}\``)
  }
  if (dir === 'desc') rows = rows.slice().reverse()
  return rows.slice(skip, skip + first)
}

function execute (body, record) {
  if (!body || typeof body.query !== 'string') throw new GqlError('the request has no query')
  const doc = parse(body.query)
  record.operation = doc.opName
  // graph-node (like any GraphQL server) runs the operation operationName
  // names; this stand-in holds one operation per document.
  if (body.operationName !== undefined && body.operationName !== null &&
      body.operationName !== doc.opName) {
    throw new GqlError(`Unknown operation named "${body.operationName}"`)
  }
  const given = body.variables && typeof body.variables === 'object' ? body.variables : {}
  const variables = {}
  for (const v of doc.vars) {
    if (v.name in given) variables[v.name] = given[v.name]
    else if (v.def) variables[v.name] = resolve(v.def, {})
  }
  const data = {}
  for (const f of doc.sel) {
    const fargs = {}
    for (const [n, v] of Object.entries(f.args)) fargs[n] = resolve(v, variables)
    if (f.field === 'tokens') {
      if (!f.sub) throw new GqlError('Field `tokens` must have a selection of subfields')
      data[f.alias] = queryTokens(fargs, record).map(r => project(r, f.sub, 'Token'))
    } else if (f.field === '_meta') {
      data[f.alias] = { block: { number: 1000, hash: null }, deployment: 'QmStandIn', hasIndexingErrors: false }
    } else {
      throw new GqlError(`Type \`Query\` has no field \`${f.field}\``)
    }
  }
  return data
}

// ---- HTTP

function send (res, status, value, type = 'application/json') {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}

function readBody (req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    req.on('data', c => {
      size += c.length
      if (size > MAX_BODY) { reject(new Error('too large')); req.destroy(); return }
      chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

async function handle (req, res) {
  const url = new URL(req.url, 'http://127.0.0.1')
  if (url.pathname === '/_standin/requests') return send(res, 200, { count: log.length, queries: log })
  if (url.pathname === '/_standin/fail' && req.method === 'POST') {
    failure = JSON.parse(await readBody(req))
    failure.after = failure.after || 0
    failure.times = failure.times === undefined ? 1 : failure.times
    return send(res, 200, {})
  }
  if (url.pathname === '/_standin/tokens' && req.method === 'POST') {
    const upsert = JSON.parse(await readBody(req)).upsert
    if (!Array.isArray(upsert)) return send(res, 400, { error: 'upsert must be an array' })
    for (const row of upsert) {
      const at = tokens.findIndex(r => String(r.id) === String(row.id))
      if (at >= 0) tokens[at] = row
      else tokens.push(row)
    }
    tokens.sort(byId)
    return send(res, 200, { count: tokens.length })
  }
  if (url.pathname === '/_standin/token_uri' && req.method === 'POST') {
    const change = JSON.parse(await readBody(req))
    const row = tokens.find(r => String(r.id) === String(change.id))
    if (!row) return send(res, 404, { error: `no token ${change.id}` })
    row.tokenURI = change.tokenURI === undefined ? null : change.tokenURI
    return send(res, 200, {})
  }
  if (req.method !== 'POST') return send(res, 405, 'POST GraphQL queries here', 'text/plain')
  const text = await readBody(req)
  const record = { failed: false }
  log.push(record)
  if (failure && failure.times > 0) {
    if (failure.after > 0) {
      failure.after--
    } else {
      failure.times--
      record.failed = true
      try { execute(JSON.parse(text), record) } catch (e) {} // record what it asked
      if (failure.kind === 'http') return send(res, failure.status || 502, 'Bad Gateway', 'text/plain')
      return send(res, 200, { errors: [{ message: failure.message || 'indexing_error: store error: canceling statement due to statement timeout' }] })
    }
  }
  let body
  try {
    body = JSON.parse(text)
  } catch (e) {
    return send(res, 400, { errors: [{ message: 'The request body is not valid JSON' }] })
  }
  try {
    return send(res, 200, { data: execute(body, record) })
  } catch (e) {
    if (!(e instanceof GqlError)) throw e
    record.error = e.message
    return send(res, 200, { errors: [{ message: e.message }] })
  }
}

http.createServer((req, res) => {
  handle(req, res).catch(e => { if (!res.headersSent) send(res, 500, { errors: [{ message: String(e) }] }) })
}).listen(port, '127.0.0.1', () => console.log(`subgraph stand-in on 127.0.0.1:${port}, ${tokens.length} tokens`))
