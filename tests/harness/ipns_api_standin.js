// A loopback STAND-IN for the one kubo RPC call the fetchers use to resolve
// IPNS names: POST /api/v0/name/resolve (https://docs.ipfs.tech/reference/
// kubo/rpc/#api-v0-name-resolve). The js-ipfs node of the test bed serves
// name/resolve, but it runs offline and js-ipfs refuses name/publish while
// offline, so no name it could resolve can be made; this answers as kubo
// documents, from records the test sets:
//   - only POST (any other method → 405, as kubo's RPC);
//   - `arg` (required; "<name>" or "/ipns/<name>[/path]", else 400
//     {"Message": "argument \"name\" is required", "Code": 1,
//     "Type": "error"}); `recursive` (default true), `nocache`,
//     `dht-record-count`, `dht-timeout`, `stream` accepted;
//   - 200 {"Path": "/ipfs/<cid>[/path]"}: with recursive=true a record whose
//     value is /ipns/<other> is followed (at most 32 steps, as kubo's
//     DefaultDepthLimit); with recursive=false the first value is answered
//     as it is; a path after the name is appended to the answer;
//   - an unknown name, or a recursion over the limit → 500 {"Message":
//     "could not resolve name", "Code": 0, "Type": "error"}.
// Test hooks (not in the API) live under /_standin/: POST /_standin/records
// {"name", "value"} sets a record; POST /_standin/raw {"status", "body"}
// makes the next name/resolve answer exactly that; GET /_standin/requests
// counts requests by "METHOD /path".
//
// Usage: node ipns_api_standin.js --port P
'use strict'

const http = require('http')

const args = {}
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1]
}
const port = parseInt(args.port, 10)

const records = new Map() // name → value ("/ipfs/..." or "/ipns/...")
const requests = {}
let raw = null

function send (res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' })
  res.end(typeof body === 'string' ? body : JSON.stringify(body))
}
function error (res, status, message, code) {
  send(res, status, { Message: message, Code: code, Type: 'error' })
}
function bool (value, dflt) {
  if (value === null || value === '') return dflt
  return value === 'true' || value === '1'
}

function resolve (res, url) {
  if (raw !== null) {
    const answer = raw
    raw = null
    return send(res, answer.status, answer.body)
  }
  const arg = url.searchParams.get('arg')
  if (!arg) return error(res, 400, 'argument "name" is required', 1)
  const recursive = bool(url.searchParams.get('recursive'), true)
  let [name, ...rest] = arg.replace(/^\/ipns\//, '').split('/')
  const suffix = rest.length ? '/' + rest.join('/') : ''
  let value = records.get(name)
  for (let depth = 1; recursive && value && value.startsWith('/ipns/'); ++depth) {
    if (depth >= 32) return error(res, 500, 'could not resolve name', 0)
    const [next, ...more] = value.slice('/ipns/'.length).split('/')
    const tail = more.length ? '/' + more.join('/') : ''
    name = next
    value = records.has(name) ? records.get(name) + tail : undefined
  }
  if (!value) return error(res, 500, 'could not resolve name', 0)
  send(res, 200, { Path: value + suffix })
}

function readBody (req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1')
  const key = `${req.method} ${url.pathname}`
  requests[key] = (requests[key] || 0) + 1
  try {
    if (url.pathname === '/_standin/requests') return send(res, 200, requests)
    if (url.pathname === '/_standin/records' && req.method === 'POST') {
      const record = JSON.parse(await readBody(req))
      records.set(record.name, record.value)
      return send(res, 200, {})
    }
    if (url.pathname === '/_standin/raw' && req.method === 'POST') {
      raw = JSON.parse(await readBody(req))
      return send(res, 200, {})
    }
    if (url.pathname === '/api/v0/name/resolve') {
      if (req.method !== 'POST') return error(res, 405, 'method not allowed', 0)
      await readBody(req)
      return resolve(res, url)
    }
    error(res, 404, '404 page not found', 0)
  } catch (e) {
    error(res, 500, String(e), 0)
  }
}).listen(port, '127.0.0.1')
