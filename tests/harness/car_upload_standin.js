// A loopback STAND-IN for an nft.storage-style CAR upload service (the
// nft.storage HTTP API, https://nft.storage/api-docs/): no such service runs
// here, so the client is tested against this, which answers as that API
// documents:
//   - POST /upload with `Authorization: Bearer <token>` (else 401) and
//     `Content-Type: application/car`: the body is one CAR v1 file. It is
//     parsed (header {roots, version: 1} in dag-cbor, then sections of
//     varint length, CID, block) and every block is hashed with node's crypto
//     and checked against its CID (sha2-256 or identity); a CAR that does not
//     parse, has no single root or a block that does not match → 400. A body
//     over --max_bytes → 413 (nft.storage's 100 MB request limit). Answer:
//     200 {"ok": true, "value": {"cid", "size", "created", "type", "scope",
//     "pin": {"cid", "name", "meta", "status", "created", "size"}, "files",
//     "deals"}}. A DAG may come in several CARs with the same root (the
//     client splits it): the root is `pinned` only once every block of the
//     DAG (walked through the dag-pb links) has arrived, `pinning` while
//     some are missing.
//   - GET /check/{cid} (public) → 200 {"ok": true, "value": {"cid", "pin":
//     {"cid", "status", "size"}, "deals"}}, 404 when unknown
//   - GET /{cid} (bearer) → 200 {"ok": true, "value": <as /upload>}
//   - errors: {"ok": false, "error": {"name", "message"}}
// CIDs are answered as CIDv1 base32. Test hooks (not in the API) live under
// /_standin/: POST /_standin/fail {"status", "times", "retry_after"} makes
// the next API requests fail so; GET /_standin/requests counts requests by
// method and path; GET /_standin/uploads lists every accepted CAR
// ({root, bytes, blocks}).
//
// Usage: node car_upload_standin.js --port P --token T [--max_bytes N]
'use strict'

const http = require('http')
const crypto = require('crypto')

const args = {}
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1]
}
const port = parseInt(args.port, 10)
const token = args.token || ''
const maxBytes = parseInt(args.max_bytes || '100000000', 10)

const blocks = new Map() // CID bytes (hex, as v1) → block
const roots = new Map() // root (hex, as v1) → { created, name }
const requests = {}
const uploads = []
const failures = []
let clock = Date.parse('2026-01-01T00:00:00Z')

function send (res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}
function fail (res, status, message, headers = {}, name = 'HTTPError') {
  send(res, status, { ok: false, error: { name, message } }, headers)
}

// --- varints, CIDs, base32 / base58 --------------------------------------

function readVarint (buf, pos) {
  let value = 0
  let shift = 0
  for (let i = 0; i < 9; i++) {
    if (pos.at >= buf.length) throw new Error('truncated varint')
    const b = buf[pos.at++]
    value += (b & 0x7f) * 2 ** shift
    if ((b & 0x80) === 0) return value
    shift += 7
  }
  throw new Error('varint too long')
}
function varint (n) {
  const out = []
  while (n >= 0x80) { out.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80) }
  out.push(n)
  return Buffer.from(out)
}
// Reads a binary CID at pos: {version, codec, mhCode, digest, bytesV1}.
function readCid (buf, pos) {
  const start = pos.at
  if (buf[start] === 0x12 && buf[start + 1] === 0x20) { // CIDv0: a bare multihash
    if (start + 34 > buf.length) throw new Error('truncated CIDv0')
    const mh = buf.subarray(start, start + 34)
    pos.at += 34
    return { version: 0, codec: 0x70, mhCode: 0x12, digest: mh.subarray(2), bytesV1: Buffer.concat([Buffer.from([1, 0x70]), mh]) }
  }
  const version = readVarint(buf, pos)
  if (version !== 1) throw new Error(`CID version ${version}`)
  const codec = readVarint(buf, pos)
  const mhCode = readVarint(buf, pos)
  const len = readVarint(buf, pos)
  if (pos.at + len > buf.length) throw new Error('truncated CID digest')
  const digest = buf.subarray(pos.at, pos.at + len)
  pos.at += len
  return { version, codec, mhCode, digest, bytesV1: Buffer.from(buf.subarray(start, pos.at)) }
}
const B32 = 'abcdefghijklmnopqrstuvwxyz234567'
function base32 (bytes) {
  let out = ''
  let bits = 0
  let value = 0
  for (const b of bytes) {
    value = (value << 8) | b
    bits += 8
    while (bits >= 5) { out += B32[(value >>> (bits - 5)) & 31]; bits -= 5 }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31]
  return out
}
function unbase32 (text) {
  const out = []
  let bits = 0
  let value = 0
  for (const c of text) {
    const v = B32.indexOf(c)
    if (v < 0) throw new Error('not base32')
    value = (value << 5) | v
    bits += 5
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 0xff); bits -= 8 }
  }
  return Buffer.from(out)
}
const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
function unbase58 (text) {
  let n = 0n
  for (const c of text) {
    const v = B58.indexOf(c)
    if (v < 0) throw new Error('not base58')
    n = n * 58n + BigInt(v)
  }
  let hex = n.toString(16)
  if (hex.length % 2) hex = '0' + hex
  let zeros = 0
  while (text[zeros] === '1') zeros++
  return Buffer.concat([Buffer.alloc(zeros), Buffer.from(hex, 'hex')])
}
// CID text (CIDv0 "Qm…" or CIDv1 base32 "b…") → CIDv1 bytes (hex), or null.
function cidKeyFromText (text) {
  try {
    const bytes = /^Qm/.test(text) ? unbase58(text) : text[0] === 'b' ? unbase32(text.slice(1)) : null
    if (!bytes) return null
    const pos = { at: 0 }
    const cid = readCid(bytes, pos)
    return pos.at === bytes.length ? cid.bytesV1.toString('hex') : null
  } catch (e) { return null }
}
const cidText = hex => 'b' + base32(Buffer.from(hex, 'hex'))

// --- the CAR header (dag-cbor) --------------------------------------------

// Decodes the small subset of dag-cbor a CAR v1 header uses.
function cbor (buf, pos) {
  const first = buf[pos.at++]
  if (first === undefined) throw new Error('truncated header')
  const major = first >> 5
  let arg = first & 31
  if (arg === 24) arg = buf[pos.at++]
  else if (arg === 25) { arg = buf.readUInt16BE(pos.at); pos.at += 2 } else if (arg === 26) { arg = buf.readUInt32BE(pos.at); pos.at += 4 } else if (arg > 26) throw new Error('unsupported cbor length')
  switch (major) {
    case 0: return arg
    case 2: { const b = buf.subarray(pos.at, pos.at + arg); if (b.length !== arg) throw new Error('truncated bytes'); pos.at += arg; return b }
    case 3: { const s = buf.subarray(pos.at, pos.at + arg).toString('utf8'); pos.at += arg; return s }
    case 4: { const a = []; for (let i = 0; i < arg; i++) a.push(cbor(buf, pos)); return a }
    case 5: { const m = {}; for (let i = 0; i < arg; i++) { const k = cbor(buf, pos); if (typeof k !== 'string') throw new Error('non-string key'); m[k] = cbor(buf, pos) } return m }
    case 6: {
      if (arg !== 42) throw new Error(`cbor tag ${arg}`)
      const b = cbor(buf, pos)
      if (!Buffer.isBuffer(b) || b[0] !== 0) throw new Error('bad CID in header')
      return { cid: b.subarray(1) }
    }
    default: throw new Error(`cbor major type ${major}`)
  }
}

// Parses and verifies a whole CAR: {root (hex v1), blocks: [[hex, block]]}.
function parseCar (buf) {
  const pos = { at: 0 }
  const headerLen = readVarint(buf, pos)
  const headerEnd = pos.at + headerLen
  if (headerLen === 0 || headerEnd > buf.length) throw new Error('truncated header')
  const header = cbor(buf, pos)
  if (pos.at !== headerEnd) throw new Error('header length mismatch')
  if (!header || header.version !== 1 || !Array.isArray(header.roots) || Object.keys(header).length !== 2) {
    throw new Error('header must be {roots, version: 1}')
  }
  if (header.roots.length !== 1) throw new Error('exactly one root is required')
  const rp = { at: 0 }
  const root = readCid(header.roots[0].cid, rp).bytesV1.toString('hex')
  const out = []
  while (pos.at < buf.length) {
    const len = readVarint(buf, pos)
    const end = pos.at + len
    if (len === 0 || end > buf.length) throw new Error('truncated section')
    const cid = readCid(buf, pos)
    if (pos.at > end) throw new Error('CID longer than its section')
    const block = buf.subarray(pos.at, end)
    pos.at = end
    if (cid.mhCode === 0x12) {
      const sum = crypto.createHash('sha256').update(block).digest()
      if (cid.digest.length !== 32 || !sum.equals(cid.digest)) throw new Error(`block ${cidText(cid.bytesV1.toString('hex'))} does not hash to its CID`)
    } else if (cid.mhCode === 0x00) {
      if (!Buffer.from(cid.digest).equals(block)) throw new Error('identity block does not match its CID')
    } else {
      throw new Error(`unsupported multihash 0x${cid.mhCode.toString(16)}`)
    }
    if (cid.codec !== 0x70 && cid.codec !== 0x55) throw new Error(`unsupported codec 0x${cid.codec.toString(16)}`)
    out.push([cid.bytesV1.toString('hex'), Buffer.from(block)])
  }
  return { root, blocks: out }
}

// The CIDs a dag-pb node links to (PBNode field 2: PBLink, its field 1 Hash).
function links (block) {
  const out = []
  const pos = { at: 0 }
  while (pos.at < block.length) {
    const key = readVarint(block, pos)
    const wire = key & 7
    if (wire !== 2) throw new Error('dag-pb: unexpected wire type')
    const len = readVarint(block, pos)
    const end = pos.at + len
    if ((key >> 3) === 2) {
      const link = block.subarray(pos.at, end)
      const lp = { at: 0 }
      while (lp.at < link.length) {
        const k = readVarint(link, lp)
        if ((k & 7) === 2) {
          const l = readVarint(link, lp)
          if ((k >> 3) === 1) out.push(readCid(link.subarray(lp.at, lp.at + l), { at: 0 }).bytesV1.toString('hex'))
          lp.at += l
        } else if ((k & 7) === 0) readVarint(link, lp)
        else throw new Error('dag-pb link: unexpected wire type')
      }
    }
    pos.at = end
  }
  return out
}

// pinned: every block reachable from the root is here; pinning: the root
// is here but not all of its DAG; queued: known only from a CAR header.
function pinStatus (root) {
  if (!blocks.has(root)) return 'queued'
  const seen = new Set()
  const stack = [root]
  while (stack.length) {
    const c = stack.pop()
    if (seen.has(c)) continue
    seen.add(c)
    const block = blocks.get(c)
    if (!block) return 'pinning'
    if (Buffer.from(c, 'hex')[1] === 0x70) stack.push(...links(block))
  }
  return 'pinned'
}
// Bytes of the DAG's blocks that have arrived.
function dagSize (root) {
  let size = 0
  const seen = new Set()
  const stack = [root]
  while (stack.length) {
    const c = stack.pop()
    if (seen.has(c) || !blocks.has(c)) continue
    seen.add(c)
    size += blocks.get(c).length
    if (Buffer.from(c, 'hex')[1] === 0x70) stack.push(...links(blocks.get(c)))
  }
  return size
}
function pinObject (root) {
  const r = roots.get(root)
  return { cid: cidText(root), name: r.name, meta: {}, status: pinStatus(root), created: r.created, size: dagSize(root) }
}
function uploadObject (root) {
  const r = roots.get(root)
  return {
    cid: cidText(root),
    size: dagSize(root),
    created: r.created,
    type: 'application/car',
    scope: 'default',
    pin: pinObject(root),
    files: [],
    deals: []
  }
}

async function handle (req, res) {
  const url = new URL(req.url, 'http://127.0.0.1')
  const path = url.pathname
  if (path === '/_standin/fail' && req.method === 'POST') {
    let body = ''
    for await (const chunk of req) body += chunk
    const f = JSON.parse(body)
    for (let i = 0; i < (f.times || 1); i++) failures.push(f)
    return send(res, 200, { queued: failures.length })
  }
  if (path === '/_standin/requests') return send(res, 200, requests)
  if (path === '/_standin/uploads') return send(res, 200, uploads)

  const key = `${req.method} ${path.replace(/^\/check\/[^/]+$/, '/check/{cid}').replace(/^\/(?!check|upload)[^/]+$/, '/{cid}')}`
  requests[key] = (requests[key] || 0) + 1
  const isCheck = /^\/check\/[^/]+$/.test(path) && req.method === 'GET'
  if (!isCheck && req.headers.authorization !== `Bearer ${token}`) {
    req.resume()
    return fail(res, 401, 'API Key is missing, make sure the `Authorization` header has a value in the following format `Bearer {token}`.', {}, 'Unauthorized')
  }
  if (failures.length) {
    const f = failures.shift()
    req.resume()
    return fail(res, f.status, f.message || 'forced by the test',
      f.retry_after ? { 'Retry-After': String(f.retry_after) } : {})
  }
  if (path === '/upload' && req.method === 'POST') {
    const type = (req.headers['content-type'] || '').split(';')[0].trim()
    if (type !== 'application/car') {
      req.resume()
      return fail(res, 400, 'this stand-in accepts only Content-Type: application/car', {}, 'Error')
    }
    if (Number(req.headers['content-length'] || '0') > maxBytes) {
      req.resume()
      return fail(res, 413, `request body over ${maxBytes} bytes`, { Connection: 'close' })
    }
    const chunks = []
    let size = 0
    for await (const chunk of req) {
      size += chunk.length
      if (size > maxBytes) {
        req.resume()
        return fail(res, 413, `request body over ${maxBytes} bytes`, { Connection: 'close' })
      }
      chunks.push(chunk)
    }
    let car
    try { car = parseCar(Buffer.concat(chunks)) } catch (e) { return fail(res, 400, `invalid CAR: ${e.message}`, {}, 'Error') }
    for (const [c, b] of car.blocks) blocks.set(c, b)
    clock += 1000
    if (!roots.has(car.root)) roots.set(car.root, { created: new Date(clock).toISOString(), name: `Upload at ${new Date(clock).toISOString()}` })
    uploads.push({ root: cidText(car.root), bytes: size, blocks: car.blocks.length })
    return send(res, 200, { ok: true, value: uploadObject(car.root) })
  }
  req.resume()
  const checked = (path.match(/^\/check\/([^/]+)$/) || [])[1]
  const status = (path.match(/^\/([^/]+)$/) || [])[1]
  const text = checked || (req.method === 'GET' && status !== 'upload' ? status : null)
  if (text) {
    const root = cidKeyFromText(text)
    if (!root) return fail(res, 400, `invalid CID: ${text.slice(0, 100)}`, {}, 'Error')
    if (!roots.has(root)) return fail(res, 404, 'NFT not found')
    if (checked) return send(res, 200, { ok: true, value: { cid: cidText(root), pin: { cid: cidText(root), status: pinStatus(root), size: dagSize(root) }, deals: [] } })
    return send(res, 200, { ok: true, value: uploadObject(root) })
  }
  return fail(res, 404, `${req.method} ${path}: not found`)
}

http.createServer((req, res) => {
  handle(req, res).catch(e => { if (!res.headersSent) fail(res, 500, String(e)); else res.end() })
}).listen(port, '127.0.0.1', () => {
  console.log(`car_upload_standin: http://127.0.0.1:${port}`)
})
