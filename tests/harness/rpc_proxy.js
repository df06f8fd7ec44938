// A hostile JSON-RPC proxy for tests: forwards JSON-RPC 2.0 over HTTP POST
// to a real node (anvil) and, when told to, misbehaves the way public RPC
// providers do. Listens on 127.0.0.1 only.
//
// Faults are rules, matched in the order they were added against each
// incoming HTTP request; the first rule that matches is applied and its
// `times` counter (default 1; -1 = forever) is spent. A rule matches when
//   - `method` is unset, or any call in the request (single or batch) has it;
//   - `batch` is unset, or equals whether the request is a batch;
//   - `min_span` is unset, or the request is an eth_getLogs whose
//     toBlock - fromBlock + 1 is at least min_span;
//   - `probability` is unset, or a draw from the rule's own generator
//     (seeded with `seed`, so a run can be replayed) falls below it; a rule
//     that loses its draw lets the request fall through to the next rule.
// Kinds:
//   truncate         the upstream reply cut in half (a consistent
//                    Content-Length: a complete HTTP reply, broken JSON)
//   abort            headers promise the full reply, half is sent, then the
//                    connection is destroyed (a transport error)
//   not_json         200 with an HTML error page
//   shuffle          a batch reply in reverse order (legal: match by id)
//   drop_entry       a batch reply missing its last entry
//   dup_entry        a batch reply whose first entry is repeated with
//                    another call's result, plus an entry with an unknown id
//   status           HTTP `status` (429, 503, ...) with `Retry-After:
//                    retry_after` seconds when retry_after >= 0
//   rpc_error        a JSON-RPC error object for every call, with `message`
//                    and `code` (e.g. -32005 "query returned more than 10000
//                    results", or "response size exceeded")
//   delay            the upstream reply held back `delay_ms`
// Control (not JSON-RPC):
//   POST /_proxy/fault   {kind, method?, batch?, min_span?, probability?,
//                         seed?, times?, ...}
//   POST /_proxy/clear   drops every rule
//   POST /_proxy/reset   clears the counters and the request log
//   GET  /_proxy/stats   {"requests": N, "methods": {m: calls},
//                         "faults": {kind: applied},
//                         "log": [{"t": ms since start, "methods": [...],
//                                  "span": [from, to] | null,
//                                  "fault": kind | null}]}
//
// Usage: node rpc_proxy.js --port P --upstream http://127.0.0.1:Q
'use strict'

const http = require('http')

const args = {}
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1]
}
const port = parseInt(args.port, 10)
const upstream = new URL(args.upstream)
const MAX_BODY = 16 << 20

let rules = []
let stats = null
const started = Date.now()
function resetStats () {
  stats = { requests: 0, methods: {}, faults: {}, log: [] }
}
resetStats()

function readBody (req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    req.on('data', c => {
      size += c.length
      if (size > MAX_BODY) {
        reject(new Error('request too large'))
        req.destroy()
        return
      }
      chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function sendJson (res, status, value, headers = {}) {
  const text = JSON.stringify(value)
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers
  })
  res.end(text)
}

function forward (body) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      hostname: upstream.hostname,
      port: upstream.port,
      path: upstream.pathname,
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Length': body.length }
    }, res => {
      const chunks = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

function quantity (v) {
  if (typeof v !== 'string' || !/^0x[0-9a-fA-F]+$/.test(v)) return null
  return parseInt(v, 16)
}

// [from, to] of an eth_getLogs call, or null.
function logsSpan (calls) {
  for (const c of calls) {
    if (c && c.method === 'eth_getLogs' && Array.isArray(c.params) && c.params[0]) {
      const from = quantity(c.params[0].fromBlock)
      const to = quantity(c.params[0].toBlock)
      if (from !== null && to !== null) return [from, to]
    }
  }
  return null
}

// mulberry32: a small seeded generator, so faults with a probability fall
// on the same requests when a run is replayed with the same seed.
function seededRandom (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function matches (rule, calls, isBatch, span) {
  if (rule.times === 0) return false
  if (rule.method !== undefined && !calls.some(c => c && c.method === rule.method)) return false
  if (rule.batch !== undefined && rule.batch !== isBatch) return false
  if (rule.min_span !== undefined) {
    if (span === null || span[1] - span[0] + 1 < rule.min_span) return false
  }
  if (rule.probability !== undefined && rule.random() >= rule.probability) return false
  return true
}

async function handleRpc (req, res) {
  const body = await readBody(req)
  let parsed
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch (e) {
    return sendJson(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } })
  }
  const isBatch = Array.isArray(parsed)
  const calls = isBatch ? parsed : [parsed]
  const span = logsSpan(calls)
  stats.requests++
  for (const c of calls) {
    const m = c && typeof c.method === 'string' ? c.method : '?'
    stats.methods[m] = (stats.methods[m] || 0) + 1
  }
  const rule = rules.find(r => matches(r, calls, isBatch, span))
  if (rule && rule.times > 0) rule.times--
  const kind = rule ? rule.kind : null
  if (kind) stats.faults[kind] = (stats.faults[kind] || 0) + 1
  stats.log.push({ t: Date.now() - started, methods: calls.map(c => c && c.method), span, fault: kind })

  switch (kind) {
    case 'status': {
      const headers = {}
      if (rule.retry_after !== undefined && rule.retry_after >= 0) headers['Retry-After'] = String(rule.retry_after)
      return sendJson(res, rule.status || 503, { error: 'proxy says ' + (rule.status || 503) }, headers)
    }
    case 'not_json': {
      const html = '<html><body><h1>502 Bad Gateway</h1></body></html>'
      res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(html) })
      return res.end(html)
    }
    case 'rpc_error': {
      const error = { code: rule.code !== undefined ? rule.code : -32005, message: rule.message || 'query returned more than 10000 results' }
      const replies = calls.map(c => ({ jsonrpc: '2.0', id: c ? c.id : null, error }))
      return sendJson(res, 200, isBatch ? replies : replies[0])
    }
  }

  const reply = await forward(body)
  if (kind === 'delay') await new Promise(resolve => setTimeout(resolve, rule.delay_ms || 1000))
  let out = reply.body
  if (kind === 'truncate' || kind === 'abort') {
    const half = out.subarray(0, Math.floor(out.length / 2))
    if (kind === 'truncate') {
      res.writeHead(reply.status, { 'Content-Type': 'application/json', 'Content-Length': half.length })
      return res.end(half)
    }
    res.writeHead(reply.status, { 'Content-Type': 'application/json', 'Content-Length': out.length })
    res.write(half)
    return setTimeout(() => res.socket && res.socket.destroy(), 20)
  }
  if ((kind === 'shuffle' || kind === 'drop_entry' || kind === 'dup_entry') && isBatch) {
    let items
    try {
      items = JSON.parse(out.toString('utf8'))
    } catch (e) {
      items = null
    }
    if (Array.isArray(items)) {
      if (kind === 'shuffle') items.reverse()
      if (kind === 'drop_entry') items.pop()
      if (kind === 'dup_entry' && items.length > 0) {
        const other = items.length > 1 ? items[items.length - 1] : items[0]
        items.push({ ...other, id: items[0].id })
        items.push({ jsonrpc: '2.0', id: 987654321, result: '0x' })
      }
      out = Buffer.from(JSON.stringify(items))
    }
  }
  res.writeHead(reply.status, { 'Content-Type': 'application/json', 'Content-Length': out.length })
  res.end(out)
}

async function handle (req, res) {
  const url = new URL(req.url, 'http://127.0.0.1')
  if (url.pathname === '/_proxy/stats' && req.method === 'GET') return sendJson(res, 200, stats)
  if (url.pathname === '/_proxy/fault' && req.method === 'POST') {
    const rule = JSON.parse((await readBody(req)).toString('utf8'))
    if (typeof rule.kind !== 'string') return sendJson(res, 400, { error: 'kind is required' })
    if (rule.times === undefined) rule.times = 1
    rule.random = seededRandom(rule.seed || 1)
    rules.push(rule)
    return sendJson(res, 200, { rules: rules.length })
  }
  if (url.pathname === '/_proxy/clear' && req.method === 'POST') {
    rules = []
    return sendJson(res, 200, {})
  }
  if (url.pathname === '/_proxy/reset' && req.method === 'POST') {
    resetStats()
    return sendJson(res, 200, {})
  }
  if (req.method === 'POST') return handleRpc(req, res)
  return sendJson(res, 405, { error: 'POST JSON-RPC here' })
}

http.createServer((req, res) => {
  handle(req, res).catch(e => {
    if (!res.headersSent) sendJson(res, 502, { error: String(e) })
    else res.destroy()
  })
}).listen(port, '127.0.0.1', () => console.log(`rpc proxy on 127.0.0.1:${port} → ${upstream.href}`))
