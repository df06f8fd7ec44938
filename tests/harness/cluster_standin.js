// A loopback STAND-IN for the IPFS Cluster REST API (ipfs-cluster v1,
// api/rest): no cluster peer runs here, so the client is tested against this,
// which answers as the published API does (ipfscluster.io "REST API", the Go
// client in api/rest/client and the types in api/types.go):
//   - auth: with --basic_auth user:pass every request needs it (else 401 with
//     `WWW-Authenticate: Basic realm="Restricted"`); with --token, a bearer
//     token (cluster's JWT); errors are `{"code": N, "message": "..."}`
//   - POST /pins/{cid}?replication-min&replication-max&name&mode&meta-K=V
//     → 200 the Pin object {cid, type:"pin", allocations, max_depth, name,
//     replication_factor_min/max, metadata, ...}; a bad CID or parameter 400
//   - GET /pins/{cid} → 200 GlobalPinInfo {cid, name, allocations, origins,
//     created, metadata, peer_map: {peerID: {peername, ipfs_peer_id, status,
//     timestamp, error, attempt_count, priority_pin}}}; a CID nobody tracks
//     has every peer "unpinned"
//   - GET /pins?cids=a,b&local=false&filter=... → 200, GlobalPinInfo objects
//     streamed one per line (v1 streams instead of a JSON array)
//   - POST /add?cid-version&raw-leaves&chunker&layout&hash&name&meta-K=V&
//     replication-min/max multipart/form-data → 200 AddedOutput objects
//     {name, cid, size, allocations} one per line, the root last. The DAG is
//     built by the real js-ipfs node given with --ipfs_api (as a cluster peer
//     adds through its IPFS daemon), so the CIDs are a real importer's.
//   - request line + headers over 8 KiB → 431 (Go's net/http with cluster's
//     default max_header_bytes of 4096 plus its 4096 bytes of slack); an /add
//     body over --max_add_bytes → 413 (a fronting proxy's body limit)
// --peers N peers (default 3); a pin is allocated to replication-max of them
// (all when -1 or 0), which go pin_queued → pinning → pinned one step per
// read; the others report "remote". Test hooks (not in the API) live under
// /_standin/: POST /_standin/fail {"status", "times", "retry_after",
// "message"} makes the next API requests fail so; POST /_standin/pin_error
// {"cid"} puts every allocated peer of a pin in pin_error; GET
// /_standin/requests counts requests by method and path (and
// "max_cids_per_request" for GET /pins?cids=).
//
// Usage: node cluster_standin.js --port P --ipfs_api URL [--basic_auth U:P]
//        [--token T] [--peers N] [--max_add_bytes N]
'use strict'

const http = require('http')

const args = {}
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1]
}
const port = parseInt(args.port, 10)
const ipfsApi = args.ipfs_api || ''
const basicAuth = args.basic_auth || ''
const token = args.token || ''
const peerCount = parseInt(args.peers || '3', 10)
const maxAddBytes = parseInt(args.max_add_bytes || String(64 << 20), 10)

const peers = []
for (let i = 0; i < peerCount; i++) {
  peers.push({ id: `12D3KooWStandInClusterPeer${i}`, name: `standin-${i}`, ipfs: `12D3KooWStandInIpfs${i}` })
}
const pins = new Map() // cid → { pin, status: Map(peerID → PinInfoShort) }
const requests = { max_cids_per_request: 0 }
const failures = []
let clock = Date.parse('2026-01-01T00:00:00Z')

function send (res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers })
  res.end(body === undefined ? '' : JSON.stringify(body))
}
function fail (res, status, message, headers = {}) {
  send(res, status, { code: status, message }, headers)
}

// CIDv0 (base58btc "Qm…", 46 chars) or CIDv1 in base32 ("b…"), as go-cid
// decodes them; anything else is a 400 like cluster's "error decoding Cid".
function validCid (s) {
  return /^Qm[1-9A-HJ-NP-Za-km-z]{44}$/.test(s) || /^b[a-z2-7]{20,}$/.test(s)
}
function intParam (query, name, dflt) {
  if (!query.has(name) || query.get(name) === '') return dflt
  const v = Number(query.get(name))
  return Number.isInteger(v) ? v : null
}
function pinOptions (query, res) {
  const min = intParam(query, 'replication-min', 0)
  const max = intParam(query, 'replication-max', 0)
  if (min === null) return fail(res, 400, 'parameter replication-min invalid')
  if (max === null) return fail(res, 400, 'parameter replication-max invalid')
  if (max > 0 && min > max) return fail(res, 400, 'replication-min is greater than replication-max')
  const mode = query.get('mode') || 'recursive'
  if (!['recursive', 'direct'].includes(mode)) return fail(res, 400, 'unknown pin mode')
  const metadata = {}
  for (const [k, v] of query) if (k.startsWith('meta-') && k.length > 5) metadata[k.slice(5)] = v
  return { min, max, name: query.get('name') || '', mode, metadata }
}

function track (cid, opts) {
  clock += 1000
  const n = opts.max > 0 ? Math.min(opts.max, peers.length) : peers.length
  const allocations = peers.slice(0, n).map(p => p.id)
  const pin = {
    cid,
    type: 'pin',
    allocations,
    max_depth: opts.mode === 'direct' ? 0 : -1,
    reference: null,
    timestamp: new Date(clock).toISOString(),
    replication_factor_min: opts.min,
    replication_factor_max: opts.max,
    name: opts.name,
    mode: opts.mode,
    shard_size: 0,
    user_allocations: null,
    expire_at: '0001-01-01T00:00:00Z',
    metadata: opts.metadata,
    origins: []
  }
  const existing = pins.get(cid)
  const status = new Map()
  for (const p of peers) {
    const before = existing && existing.status.get(p.id)
    status.set(p.id, allocations.includes(p.id)
      ? (before && before !== 'remote' ? before : 'pin_queued')
      : 'remote')
  }
  pins.set(cid, { pin, status })
  return pin
}

function advance (entry) {
  for (const [id, s] of entry.status) {
    if (s === 'pin_queued') entry.status.set(id, 'pinning')
    else if (s === 'pinning') entry.status.set(id, 'pinned')
  }
}

function globalPinInfo (cid) {
  const entry = pins.get(cid)
  if (entry) advance(entry)
  const peerMap = {}
  for (const p of peers) {
    const status = entry ? entry.status.get(p.id) : 'unpinned'
    peerMap[p.id] = {
      peername: p.name,
      ipfs_peer_id: p.ipfs,
      ipfs_peer_addresses: [`/ip4/127.0.0.1/tcp/4001/p2p/${p.ipfs}`],
      status,
      timestamp: new Date(clock).toISOString(),
      error: status === 'pin_error' ? 'context deadline exceeded' : '',
      attempt_count: status === 'pin_error' ? 1 : 0,
      priority_pin: false
    }
  }
  return {
    cid,
    name: entry ? entry.pin.name : '',
    allocations: entry ? entry.pin.allocations : [],
    origins: [],
    created: entry ? entry.pin.timestamp : '0001-01-01T00:00:00Z',
    metadata: entry ? entry.pin.metadata : null,
    peer_map: peerMap
  }
}

function authorized (req) {
  if (basicAuth) return req.headers.authorization === 'Basic ' + Buffer.from(basicAuth).toString('base64')
  if (token) return req.headers.authorization === `Bearer ${token}`
  return true
}

async function readBody (req, limit) {
  const chunks = []
  let size = 0
  for await (const chunk of req) {
    size += chunk.length
    if (size > limit) return null
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

// POST /add: the multipart body goes to the IPFS daemon unchanged, with the
// importer options cluster passes to its adder.
async function add (req, res, query) {
  const opts = pinOptions(query, res)
  if (!opts) return
  const layout = query.get('layout') || ''
  if (!['', 'balanced', 'trickle'].includes(layout)) return fail(res, 400, 'layout parameter invalid')
  const cidVersion = intParam(query, 'cid-version', 0)
  if (cidVersion !== 0 && cidVersion !== 1) return fail(res, 400, 'parameter cid-version invalid')
  for (const b of ['raw-leaves', 'wrap-with-directory', 'progress', 'stream-channels', 'shard']) {
    if (query.has(b) && !['true', 'false', '1', '0', 't', 'f'].includes(query.get(b))) {
      return fail(res, 400, `parameter ${b} invalid`)
    }
  }
  const chunker = query.get('chunker') || 'size-262144'
  if (!/^size-[1-9][0-9]{0,7}$/.test(chunker)) return fail(res, 400, 'chunker parameter invalid')
  if (!/^multipart\/form-data; *boundary=/.test(req.headers['content-type'] || '')) {
    return fail(res, 400, 'request Content-Type isn\'t multipart/form-data')
  }
  const declared = Number(req.headers['content-length'] || '0')
  if (declared > maxAddBytes) { req.resume(); return fail(res, 413, 'request body too large') }
  const body = await readBody(req, maxAddBytes)
  if (body === null) return fail(res, 413, 'request body too large')
  const truthy = v => ['true', '1', 't'].includes(v)
  const ipfsQuery = new URLSearchParams({
    'cid-version': String(cidVersion),
    'raw-leaves': String(truthy(query.get('raw-leaves') || 'false')),
    chunker,
    trickle: String(layout === 'trickle'),
    'wrap-with-directory': String(truthy(query.get('wrap-with-directory') || 'false')),
    hash: query.get('hash') || 'sha2-256',
    // go-cid prints CIDv1 in base32, as a cluster peer answers
    'cid-base': cidVersion === 1 ? 'base32' : 'base58btc',
    pin: 'true',
    progress: 'false'
  })
  const lines = await new Promise((resolve, reject) => {
    const r = http.request(`${ipfsApi}/api/v0/add?${ipfsQuery}`, {
      method: 'POST',
      headers: { 'Content-Type': req.headers['content-type'], 'Content-Length': body.length }
    }, ipfsRes => {
      let text = ''
      ipfsRes.setEncoding('utf8')
      ipfsRes.on('data', d => { text += d })
      ipfsRes.on('end', () => ipfsRes.statusCode === 200 ? resolve(text) : reject(new Error(`ipfs add: HTTP ${ipfsRes.statusCode} ${text}`)))
    })
    r.on('error', reject)
    r.end(body)
  })
  const outputs = lines.split('\n').filter(l => l.trim()).map(l => JSON.parse(l))
  if (!outputs.length) return fail(res, 500, 'ipfs add returned nothing')
  const root = outputs[outputs.length - 1]
  const pin = track(root.Hash, { ...opts, name: opts.name || root.Name })
  res.writeHead(200, { 'Content-Type': 'application/json', Trailer: 'X-Stream-Error' })
  for (const o of outputs) {
    res.write(JSON.stringify({
      name: o.Name,
      cid: o.Hash,
      size: Number(o.Size),
      allocations: o === root ? pin.allocations : []
    }) + '\n')
  }
  res.addTrailers({ 'X-Stream-Error': '' })
  res.end()
}

async function handle (req, res) {
  const url = new URL(req.url, 'http://127.0.0.1')
  const path = url.pathname
  if (path === '/_standin/fail' && req.method === 'POST') {
    const f = JSON.parse((await readBody(req, 1 << 16)).toString())
    for (let i = 0; i < (f.times || 1); i++) failures.push(f)
    return send(res, 200, { queued: failures.length })
  }
  if (path === '/_standin/pin_error' && req.method === 'POST') {
    const { cid } = JSON.parse((await readBody(req, 1 << 16)).toString())
    const entry = pins.get(cid)
    if (!entry) return fail(res, 404, 'not tracked')
    for (const id of entry.pin.allocations) entry.status.set(id, 'pin_error')
    return send(res, 200, {})
  }
  if (path === '/_standin/requests') return send(res, 200, requests)

  const key = `${req.method} ${path.replace(/^\/pins\/[^/]+$/, '/pins/{cid}')}`
  requests[key] = (requests[key] || 0) + 1
  if (!authorized(req)) {
    req.resume()
    return fail(res, 401, 'Unauthorized', basicAuth ? { 'WWW-Authenticate': 'Basic realm="Restricted"' } : {})
  }
  if (failures.length) {
    const f = failures.shift()
    req.resume()
    return fail(res, f.status, f.message || 'forced by the test',
      f.retry_after ? { 'Retry-After': String(f.retry_after) } : {})
  }
  const cid = (path.match(/^\/pins\/([^/]+)$/) || [])[1]
  if (path === '/add' && req.method === 'POST') return add(req, res, url.searchParams)
  req.resume()
  if (path === '/pins' && req.method === 'GET') {
    const cids = url.searchParams.get('cids') ? url.searchParams.get('cids').split(',') : null
    if (cids) {
      requests.max_cids_per_request = Math.max(requests.max_cids_per_request, cids.length)
      for (const c of cids) if (!validCid(c)) return fail(res, 400, `error decoding Cid: ${c}`)
    }
    res.writeHead(200, { 'Content-Type': 'application/json', Trailer: 'X-Stream-Error' })
    for (const c of cids || [...pins.keys()]) res.write(JSON.stringify(globalPinInfo(c)) + '\n')
    res.addTrailers({ 'X-Stream-Error': '' })
    return res.end()
  }
  if (cid && !validCid(cid)) return fail(res, 400, `error decoding Cid: ${cid}`)
  if (cid && req.method === 'POST') {
    const opts = pinOptions(url.searchParams, res)
    if (!opts) return
    return send(res, 200, track(cid, opts))
  }
  if (cid && req.method === 'GET') return send(res, 200, globalPinInfo(cid))
  if (cid && req.method === 'DELETE') {
    const entry = pins.get(cid)
    if (!entry) return fail(res, 404, 'cid is not part of the global state')
    pins.delete(cid)
    return send(res, 200, entry.pin)
  }
  return fail(res, 404, `${req.method} ${path}: not found`)
}

http.createServer({ maxHeaderSize: 8192 }, (req, res) => {
  handle(req, res).catch(e => { if (!res.headersSent) fail(res, 500, String(e)); else res.end() })
}).listen(port, '127.0.0.1', () => {
  console.log(`cluster_standin: http://127.0.0.1:${port}`)
})
