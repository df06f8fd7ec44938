#!/usr/bin/env node
// "Someone's web server hosting NFT metadata", for tests: serves files from
// --root over HTTP and HTTPS on 127.0.0.1, plus routes that misbehave on
// purpose. Only node built-ins, so it runs without npm install.
//
//   node fixture_http_server.js --root DIR --http-port P --https-port Q \
//        --cert CERT.pem --key KEY.pem [--host 127.0.0.2,127.0.0.3,...] \
//        [--delay-ms N]
//
// --host lists the loopback addresses to listen on (default 127.0.0.1), so
// one process stands in for many web hosts; --delay-ms holds every file
// answer that long (a distant server), test routes are not delayed.
//
// Test routes:
//   /status/<code>            answers <code>
//   /slow?ms=N                answers 200 after N ms
//   /drip?bytes=N&ms=M        N bytes, one every M ms (Content-Length set)
//   /huge?bytes=N[&chunked=1] streams N bytes (no Content-Length if chunked)
//   /redirect?to=<url>        302 to the url-decoded <url>
//   /redirect-loop            302 to itself
//   /retry-after?s=N          429 with Retry-After: N
//   /gzip-bomb?mb=N           a small gzip body (Content-Encoding: gzip) that
//                             inflates to N MiB of zeros
//   /length-lie?claim=N       Content-Length: N (default 10 GB), a short body,
//                             then the connection closes
//   /bad-utf8                 application/json with invalid UTF-8 in a string
//   /bom-json                 application/json starting with a UTF-8 BOM
//   /deep-json?depth=N        [[[...]]] nested N deep (default 10000)
//   /wrong-type               JSON metadata served as image/png
//   /sequence?key=K&codes=503,200&body=<file>[&ms=N]
//                             per key, the i-th request answers codes[i] (the
//                             last code repeats); 2xx serves <file> from root;
//                             ms holds the answer that long
//   /counter?key=K            how many /sequence requests K has seen
//   /connections?scheme=S     how many TCP connections the S (http or https)
//                             server has accepted so far
//   <file>?format=raw         the file as application/vnd.ipld.raw: a
//                             trustless gateway's raw block answer
'use strict'

const fs = require('fs')
const http = require('http')
const https = require('https')
const path = require('path')
const zlib = require('zlib')

function parseArgs (argv) {
  const args = {}
  for (let i = 0; i + 1 < argv.length; i += 2) {
    args[argv[i].replace(/^--/, '')] = argv[i + 1]
  }
  for (const name of ['root', 'http-port', 'https-port', 'cert', 'key']) {
    if (!args[name]) throw new Error(`missing --${name}`)
  }
  return args
}

const CONTENT_TYPES = {
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.html': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8'
}

function intParam (url, name, fallback) {
  const value = parseInt(url.searchParams.get(name), 10)
  return Number.isFinite(value) && value >= 0 ? value : fallback
}

function plain (res, status, text, headers = {}) {
  res.writeHead(status, { 'content-type': 'text/plain', ...headers })
  res.end(text + '\n')
}

// Writes `total` bytes of 'x' in chunks, respecting backpressure.
function stream (res, total) {
  const chunk = Buffer.alloc(64 * 1024, 'x')
  let left = total
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length)
      left -= n
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        res.once('drain', pump)
        return
      }
    }
    res.end()
  }
  pump()
}

// Gzip-compressed zeros, built once per size: 64 MiB deflate to ~64 KiB.
const bombs = new Map()
function gzipBomb (mb) {
  if (!bombs.has(mb)) {
    bombs.set(mb, zlib.gzipSync(Buffer.alloc(mb * 1024 * 1024), { level: 9 }))
  }
  return bombs.get(mb)
}

const sequences = new Map() // key -> requests seen

function sendJson (res, body, type = 'application/json') {
  res.writeHead(200, { 'content-type': type, 'content-length': body.length })
  res.end(body)
}

function serveFile (root, url, res, pathname) {
  if (pathname === undefined) {
    try {
      pathname = decodeURIComponent(url.pathname)
    } catch {
      return plain(res, 400, 'bad path')
    }
  }
  const file = path.resolve(root, '.' + pathname)
  if (!file.startsWith(root + path.sep)) return plain(res, 404, 'not found')
  fs.stat(file, (err, stat) => {
    if (err || !stat.isFile()) return plain(res, 404, 'not found')
    const type = url.searchParams.get('format') === 'raw'
      ? 'application/vnd.ipld.raw'
      : CONTENT_TYPES[path.extname(file).toLowerCase()] ||
        'application/octet-stream'
    res.writeHead(200, { 'content-type': type, 'content-length': stat.size })
    // Exactly the bytes announced: a test that rewrites the file right after
    // an answer must not have the stream read on past them (they would land
    // on the kept-alive connection ahead of the next answer).
    if (stat.size === 0) return res.end()
    fs.createReadStream(file, { start: 0, end: stat.size - 1 }).pipe(res)
  })
}

// TCP connections accepted per scheme, for clients' keep-alive tests.
const connections = { http: 0, https: 0 }
let delayMs = 0

function handle (root, req, res) {
  const url = new URL(req.url, 'http://fixture')
  const timers = []
  res.on('close', () => timers.forEach(clearTimeout))
  const later = (ms, fn) => timers.push(setTimeout(fn, ms))

  const status = url.pathname.match(/^\/status\/(\d{3})$/)
  if (status) {
    const code = parseInt(status[1], 10)
    return code < 200 ? plain(res, 400, 'only 2xx-5xx') : plain(res, code, `status ${code}`)
  }
  switch (url.pathname) {
    case '/slow':
      return later(intParam(url, 'ms', 1000), () => plain(res, 200, 'slow'))
    case '/drip': {
      const bytes = intParam(url, 'bytes', 10)
      const ms = intParam(url, 'ms', 100)
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes })
      let sent = 0
      const tick = () => {
        if (sent === bytes) return res.end()
        res.write('x')
        if (++sent === bytes) return res.end()
        later(ms, tick)
      }
      return tick()
    }
    case '/huge': {
      const bytes = intParam(url, 'bytes', 1024 * 1024)
      const headers = { 'content-type': 'application/octet-stream' }
      if (url.searchParams.get('chunked') !== '1') headers['content-length'] = bytes
      res.writeHead(200, headers)
      return stream(res, bytes)
    }
    case '/redirect':
      return plain(res, 302, 'redirect', { location: url.searchParams.get('to') || '/' })
    case '/redirect-loop':
      return plain(res, 302, 'redirect loop', { location: '/redirect-loop' })
    case '/retry-after': {
      const s = intParam(url, 's', 1)
      return plain(res, 429, 'slow down', { 'retry-after': String(s) })
    }
    case '/gzip-bomb': {
      const body = gzipBomb(Math.min(intParam(url, 'mb', 64), 1024))
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'content-length': body.length
      })
      return res.end(body)
    }
    case '/length-lie': {
      const claim = url.searchParams.get('claim') || '10000000000'
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': /^\d+$/.test(claim) ? claim : '10000000000'
      })
      res.write('{"name":"short"}')
      // Never finishes the claimed length: close the socket instead.
      return later(50, () => res.destroy())
    }
    case '/bad-utf8':
      return sendJson(res, Buffer.concat([
        Buffer.from('{"name":"bad \xff\xfe utf8 ', 'latin1'),
        Buffer.from([0xc3, 0x28, 0xed, 0xa0, 0x80]),
        Buffer.from('","image":"ipfs://bafkreiem4twkqzsq2aj4shbycd4yvoj2cx72vezicletlhi7dijjciqpui"}')
      ]))
    case '/bom-json':
      return sendJson(res, Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from('{"name":"bom","image":"ipfs://bafkreiem4twkqzsq2aj4shbycd4yvoj2cx72vezicletlhi7dijjciqpui"}')
      ]))
    case '/deep-json': {
      const depth = Math.min(intParam(url, 'depth', 10000), 10000000)
      return sendJson(res, Buffer.from('['.repeat(depth) + ']'.repeat(depth)))
    }
    case '/wrong-type':
      return sendJson(res, Buffer.from(
        '{"name":"served as png","image":"ipfs://bafkreiem4twkqzsq2aj4shbycd4yvoj2cx72vezicletlhi7dijjciqpui"}'),
      'image/png')
    case '/sequence': {
      const key = url.searchParams.get('key') || ''
      const codes = (url.searchParams.get('codes') || '200').split(',')
        .map((c) => parseInt(c, 10)).filter((c) => c >= 200 && c <= 599)
      const seen = sequences.get(key) || 0
      sequences.set(key, seen + 1)
      const code = codes.length ? codes[Math.min(seen, codes.length - 1)] : 200
      const holdMs = Math.min(60000, intParam(url, 'ms', 0))
      const answer = () => {
        if (code >= 300) {
          const headers = {}
          if (code === 429) headers['retry-after'] = url.searchParams.get('retry-after') || '1'
          return plain(res, code, `status ${code}`, headers)
        }
        return serveFile(root, url, res, '/' + (url.searchParams.get('body') || ''))
      }
      return holdMs > 0 ? later(holdMs, answer) : answer()
    }
    case '/counter':
      return plain(res, 200, String(sequences.get(url.searchParams.get('key') || '') || 0))
    case '/connections':
      return plain(res, 200, String(connections[url.searchParams.get('scheme')] || 0))
    default:
      return delayMs > 0
        ? later(delayMs, () => serveFile(root, url, res))
        : serveFile(root, url, res)
  }
}

function main () {
  const args = parseArgs(process.argv.slice(2))
  const root = path.resolve(args.root)
  const listener = (scheme) => (req, res) => {
    const started = Date.now()
    res.on('close', () => {
      console.log(`${new Date().toISOString()} ${scheme} ${req.method} ${req.url} ` +
        `${res.statusCode} ${Date.now() - started}ms${res.writableFinished ? '' : ' aborted'}`)
    })
    handle(root, req, res)
  }
  const tls = { cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) }
  delayMs = parseInt(args['delay-ms'] || '0', 10)
  const servers = []
  for (const host of (args.host || '127.0.0.1').split(',')) {
    const plainServer = http.createServer(listener('http'))
    const tlsServer = https.createServer(tls, listener('https'))
    plainServer.on('connection', () => { connections.http++ })
    tlsServer.on('connection', () => { connections.https++ })
    servers.push(
      plainServer.listen(parseInt(args['http-port'], 10), host),
      tlsServer.listen(parseInt(args['https-port'], 10), host))
  }
  for (const server of servers) {
    server.on('error', (err) => {
      console.error(`fixture_http_server: ${err.message}`)
      process.exit(1)
    })
  }
  console.log(`fixture_http_server: root ${root}, http ${args['http-port']}, https ${args['https-port']}`)
  process.on('SIGTERM', () => process.exit(0))
}

main()
