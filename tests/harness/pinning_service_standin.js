// A loopback STAND-IN for an IPFS Pinning Service (API v1.0.0,
// ipfs/pinning-services-api-spec): no real pinning service runs here, so the
// client is tested against this, which follows the published spec:
//   - every request needs `Authorization: Bearer <token>`, else 401
//   - POST /pins {cid, name?, origins?, meta?}       → 202 PinStatus
//   - GET /pins?cid&name&match&status&before&after&limit&meta → 200 PinResults
//     (cid: at most 10, else 400; status defaults to "pinned"; limit 1-1000,
//     default 10; results newest first by `created`; `count` is the number of
//     pin objects matching the filters)
//   - GET /pins/{requestid} → 200 PinStatus, 404 when unknown
//   - POST /pins/{requestid} (replace) → 202 PinStatus with a new requestid
//   - DELETE /pins/{requestid} → 202
//   - errors are Failure objects: {"error": {"reason", "details"}}
// Pins move queued → pinning → pinned, one step each time a request reads
// them, so clients see every state. Test hooks (not in the spec) live under
// /_standin/: POST /_standin/fail {"status": 409, "reason": "...",
// "times": 1, "retry_after": 2} makes the next requests fail so;
// GET /_standin/requests counts requests by method and path;
// POST /_standin/outcome {"cid": C, "outcome": "failed"} makes pins of C
// end `failed` instead of `pinned` (the service gave up), and
// {"cid": C, "outcome": "pinned"} makes them, failed ones included, end
// `pinned` (the service found the content later); "outcome": null restores
// the default. POST /_standin/delay {"ms": 500} holds every spec answer
// that long (a slow service); {"ms": 0} restores prompt answers. Each
// POST /pins is also counted per CID, as "POST /pins <cid>" in
// /_standin/requests.
//
// Usage: node pinning_service_standin.js --port P --token T
'use strict'

const http = require('http')
const crypto = require('crypto')

const args = {}
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1]
}
const port = parseInt(args.port, 10)
const token = args.token || ''

const pins = new Map() // requestid → PinStatus
const requests = {}
const failures = [] // queued forced failures
const outcomes = new Map() // cid -> 'failed' | 'pinned' (/_standin/outcome)
let delayMs = 0 // /_standin/delay
let clock = Date.parse('2026-01-01T00:00:00Z')
const STATUSES = ['queued', 'pinning', 'pinned', 'failed']

function send (res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers })
  res.end(text)
}
function fail (res, status, reason, details, headers) {
  send(res, status, { error: { reason, details } }, headers)
}
function advance (pin) {
  const outcome = outcomes.get(pin.pin.cid)
  if (pin.status === 'queued') pin.status = 'pinning'
  else if (pin.status === 'pinning') pin.status = outcome === 'failed' ? 'failed' : 'pinned'
  else if (pin.status === 'failed' && outcome === 'pinned') pin.status = 'pinned'
}
function validPin (body) {
  if (!body || typeof body !== 'object' || typeof body.cid !== 'string' || body.cid === '') return 'cid is required'
  if (body.name !== undefined && (typeof body.name !== 'string' || body.name.length > 255)) return 'name: at most 255 characters'
  if (body.origins !== undefined && (!Array.isArray(body.origins) || body.origins.length > 20)) return 'origins: at most 20'
  if (body.meta !== undefined && (typeof body.meta !== 'object' || Array.isArray(body.meta))) return 'meta: an object of strings'
  return null
}
function newPin (body) {
  clock += 1000 // distinct, increasing `created`
  const pin = {
    requestid: crypto.randomUUID(),
    status: 'queued',
    created: new Date(clock).toISOString(),
    pin: { cid: body.cid, name: body.name, origins: body.origins || [], meta: body.meta || {} },
    delegates: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWStandIn'],
    info: {}
  }
  pins.set(pin.requestid, pin)
  return pin
}

function list (res, query) {
  const cids = query.get('cid') ? query.get('cid').split(',') : []
  if (cids.length > 10) return fail(res, 400, 'BAD_REQUEST', 'cid: at most 10 CIDs per request')
  const statuses = (query.get('status') || 'pinned').split(',')
  if (statuses.some(s => !STATUSES.includes(s))) return fail(res, 400, 'BAD_REQUEST', 'status: unknown value')
  let limit = 10
  if (query.has('limit')) {
    limit = Number(query.get('limit'))
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return fail(res, 400, 'BAD_REQUEST', 'limit: 1-1000')
  }
  const dates = {}
  for (const k of ['before', 'after']) {
    if (query.has(k)) {
      dates[k] = Date.parse(query.get(k))
      if (Number.isNaN(dates[k])) return fail(res, 400, 'BAD_REQUEST', `${k}: not a date-time`)
    }
  }
  const name = query.get('name')
  const match = query.get('match') || 'exact'
  let meta = null
  if (query.has('meta')) {
    try { meta = JSON.parse(query.get('meta')) } catch (e) { return fail(res, 400, 'BAD_REQUEST', 'meta: not JSON') }
  }
  const all = [...pins.values()]
  for (const p of all) advance(p)
  const matching = all.filter(p => {
    if (cids.length && !cids.includes(p.pin.cid)) return false
    if (!statuses.includes(p.status)) return false
    const t = Date.parse(p.created)
    if (dates.before !== undefined && !(t < dates.before)) return false
    if (dates.after !== undefined && !(t > dates.after)) return false
    if (name !== null) {
      const n = p.pin.name || ''
      if (match === 'exact' && n !== name) return false
      if (match === 'iexact' && n.toLowerCase() !== name.toLowerCase()) return false
      if (match === 'partial' && !n.includes(name)) return false
      if (match === 'ipartial' && !n.toLowerCase().includes(name.toLowerCase())) return false
    }
    if (meta) for (const [k, v] of Object.entries(meta)) if (p.pin.meta[k] !== v) return false
    return true
  }).sort((a, b) => Date.parse(b.created) - Date.parse(a.created))
  send(res, 200, { count: matching.length, results: matching.slice(0, limit) })
}

async function handle (req, res) {
  const url = new URL(req.url, 'http://127.0.0.1')
  const key = `${req.method} ${url.pathname.replace(/^\/pins\/[^/]+$/, '/pins/{requestid}')}`
  let body = ''
  for await (const chunk of req) body += chunk
  if (url.pathname === '/_standin/fail' && req.method === 'POST') {
    const f = JSON.parse(body)
    for (let i = 0; i < (f.times || 1); i++) failures.push(f)
    return send(res, 200, { queued: failures.length })
  }
  if (url.pathname === '/_standin/outcome' && req.method === 'POST') {
    const o = JSON.parse(body)
    if (o.outcome === 'failed' || o.outcome === 'pinned') outcomes.set(o.cid, o.outcome)
    else outcomes.delete(o.cid)
    return send(res, 200, { outcomes: outcomes.size })
  }
  if (url.pathname === '/_standin/delay' && req.method === 'POST') {
    delayMs = Number(JSON.parse(body).ms) || 0
    return send(res, 200, { ms: delayMs })
  }
  if (url.pathname === '/_standin/requests') return send(res, 200, requests)
  requests[key] = (requests[key] || 0) + 1
  if (key === 'POST /pins') {
    let cid = ''
    try { cid = String(JSON.parse(body).cid) } catch (e) {}
    requests[`${key} ${cid}`] = (requests[`${key} ${cid}`] || 0) + 1
  }
  if (delayMs > 0) await new Promise(resolve => setTimeout(resolve, delayMs))

  if (req.headers.authorization !== `Bearer ${token}`) {
    return fail(res, 401, 'UNAUTHORIZED', 'Authorization: Bearer <token> is missing or not valid')
  }
  if (failures.length) {
    const f = failures.shift()
    return fail(res, f.status, f.reason, f.details || 'forced by the test',
      f.retry_after ? { 'Retry-After': String(f.retry_after) } : {})
  }
  const id = (url.pathname.match(/^\/pins\/([^/]+)$/) || [])[1]
  if (url.pathname === '/pins' && req.method === 'GET') return list(res, url.searchParams)
  if ((url.pathname === '/pins' || id) && req.method === 'POST') {
    let parsed
    try { parsed = JSON.parse(body) } catch (e) { return fail(res, 400, 'BAD_REQUEST', 'body: not JSON') }
    const invalid = validPin(parsed)
    if (invalid) return fail(res, 400, 'BAD_REQUEST', invalid)
    if (id) {
      if (!pins.has(id)) return fail(res, 404, 'NOT_FOUND', 'no such requestid')
      pins.delete(id)
    }
    return send(res, 202, newPin(parsed))
  }
  if (id && req.method === 'GET') {
    const pin = pins.get(id)
    if (!pin) return fail(res, 404, 'NOT_FOUND', 'no such requestid')
    advance(pin)
    return send(res, 200, pin)
  }
  if (id && req.method === 'DELETE') {
    if (!pins.delete(id)) return fail(res, 404, 'NOT_FOUND', 'no such requestid')
    res.writeHead(202)
    return res.end()
  }
  return fail(res, 404, 'NOT_FOUND', `${req.method} ${url.pathname}`)
}

http.createServer((req, res) => {
  handle(req, res).catch(e => fail(res, 500, 'INTERNAL_SERVER_ERROR', String(e)))
}).listen(port, '127.0.0.1', () => {
  console.log(`pinning_service_standin: http://127.0.0.1:${port}`)
})
