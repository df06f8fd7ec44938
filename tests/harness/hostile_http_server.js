#!/usr/bin/env node
// A metadata web server that counts what clients do to it and misbehaves on
// request, for the concurrent fetcher's tests and the extractor benchmark.
// HTTP/1.1 on --http-port; HTTPS on --https-port offering HTTP/2 (ALPN h2)
// and HTTP/1.1. Only node built-ins.
//
//   node hostile_http_server.js --http-port P --https-port Q --cert C --key K
//        [--latency-ms N] [--host 127.0.0.X] [--gateway-redirect-to BASE]
//
// Routes (every one but /_hostile/* is counted):
//   /meta/<n>.json          metadata of token <n> after --latency-ms; its image
//                           is <origin>/img/<n>.png (an http(s) asset)
//   /slow?ms=N              200 after N ms
//   /drip?bytes=N&ms=M      N bytes, one every M ms (Content-Length set)
//   /endless                200, chunked, never ends
//   /length-lie?claim=N     Content-Length N (default 10 GB), then a short
//                           body and a closed connection
//   /gzip-bomb?mb=N         a small gzip body inflating to N MiB of zeros
//   /redirect-loop          302 to itself, forever
//   /redirect?to=<url>      302 to <url>
//   /retry-after?s=N        429 with Retry-After: N
//   /status/<code>          answers <code>
//   with --gateway-redirect-to, every route above answers 301 to BASE + the
//   path and query, as a subdomain gateway or a CID's _redirects file does
// Control:
//   /_hostile/stats         JSON {active, peak_active, requests,
//                           http: {open, peak}, https: {open, peak},
//                           h2_streams}: requests being answered now and at
//                           most at once, TCP connections per port
//   /_hostile/reset         zeroes the peaks and counters
'use strict'

const fs = require('fs')
const http = require('http')
const http2 = require('http2')
const zlib = require('zlib')

function parseArgs (argv) {
  const args = { 'latency-ms': '0', host: '127.0.0.1' }
  for (let i = 0; i + 1 < argv.length; i += 2) {
    args[argv[i].replace(/^--/, '')] = argv[i + 1]
  }
  for (const name of ['http-port', 'https-port', 'cert', 'key']) {
    if (!args[name]) throw new Error(`missing --${name}`)
  }
  return args
}

const stats = {
  active: 0,
  peak_active: 0,
  requests: 0,
  h2_streams: 0,
  http: { open: 0, peak: 0 },
  https: { open: 0, peak: 0 }
}

let gatewayRedirectTo = ''

function intParam (url, name, fallback) {
  const value = parseInt(url.searchParams.get(name), 10)
  return Number.isFinite(value) && value >= 0 ? value : fallback
}

function plain (res, status, text, headers = {}) {
  res.writeHead(status, { 'content-type': 'text/plain', ...headers })
  res.end(text + '\n')
}

let bomb = null
function gzipBomb (mb) {
  if (!bomb || bomb.mb !== mb) {
    bomb = { mb, body: zlib.gzipSync(Buffer.alloc(mb * 1024 * 1024), { level: 9 }) }
  }
  return bomb.body
}

function handle (req, res, latencyMs, scheme) {
  const url = new URL(req.url, 'http://hostile')
  if (url.pathname === '/_hostile/stats') {
    return plain(res, 200, JSON.stringify(stats), { 'content-type': 'application/json' })
  }
  if (url.pathname === '/_hostile/reset') {
    stats.peak_active = stats.active
    stats.requests = 0
    stats.h2_streams = 0
    stats.http.peak = stats.http.open
    stats.https.peak = stats.https.open
    return plain(res, 200, 'reset')
  }
  stats.requests++
  if (req.httpVersion === '2.0') stats.h2_streams++
  stats.active++
  stats.peak_active = Math.max(stats.peak_active, stats.active)
  const timers = []
  let counted = true
  res.on('close', () => {
    timers.forEach(clearTimeout)
    if (counted) stats.active--
    counted = false
  })
  const later = (ms, fn) => timers.push(setTimeout(fn, ms))

  const meta = url.pathname.match(/^\/meta\/(\d+)\.json$/)
  if (meta) {
    const origin = `${scheme}://${req.headers.host || req.headers[':authority']}`
    const body = JSON.stringify({
      name: `token ${meta[1]}`,
      description: 'benchmark metadata',
      image: `${origin}/img/${meta[1]}.png`,
      attributes: [{ trait_type: 'n', value: Number(meta[1]) }]
    })
    return later(latencyMs, () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    })
  }
  if (gatewayRedirectTo) {
    return plain(res, 301, 'moved', { location: gatewayRedirectTo + url.pathname + url.search })
  }
  const status = url.pathname.match(/^\/status\/(\d{3})$/)
  if (status) return plain(res, parseInt(status[1], 10), 'status')
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
        sent++
        later(ms, tick)
      }
      return tick()
    }
    case '/endless': {
      res.writeHead(200, { 'content-type': 'application/json' })
      const chunk = Buffer.alloc(64 * 1024, ' ')
      const pump = () => {
        while (res.write(chunk)) {}
        res.once('drain', pump)
      }
      return pump()
    }
    case '/length-lie': {
      const claim = url.searchParams.get('claim') || '10000000000'
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': /^\d+$/.test(claim) ? claim : '10000000000'
      })
      res.write('{"name":"short"}')
      return later(50, () => (res.stream ? res.stream.close(http2.constants.NGHTTP2_CANCEL) : res.destroy()))
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
    case '/redirect-loop':
      return plain(res, 302, 'loop', { location: '/redirect-loop' })
    case '/redirect':
      return plain(res, 302, 'redirect', { location: url.searchParams.get('to') || '/' })
    case '/retry-after':
      return plain(res, 429, 'slow down', { 'retry-after': String(intParam(url, 's', 1)) })
    default:
      return plain(res, 404, 'not found')
  }
}

function countConnections (server, which) {
  server.on('connection', (socket) => {
    which.open++
    which.peak = Math.max(which.peak, which.open)
    socket.on('close', () => which.open--)
  })
}

function main () {
  const args = parseArgs(process.argv.slice(2))
  gatewayRedirectTo = args['gateway-redirect-to'] || ''
  const latency = parseInt(args['latency-ms'], 10) || 0
  const plainServer = http.createServer((req, res) => handle(req, res, latency, 'http'))
  plainServer.keepAliveTimeout = 60000
  plainServer.maxRequestsPerSocket = 0
  const secure = http2.createSecureServer({
    cert: fs.readFileSync(args.cert),
    key: fs.readFileSync(args.key),
    allowHTTP1: true,
    settings: { maxConcurrentStreams: 1000 }
  }, (req, res) => handle(req, res, latency, 'https'))
  countConnections(plainServer, stats.http)
  countConnections(secure, stats.https)
  for (const server of [plainServer, secure]) {
    server.on('error', (err) => {
      console.error(`hostile_http_server: ${err.message}`)
      process.exit(1)
    })
  }
  plainServer.listen(parseInt(args['http-port'], 10), args.host)
  secure.listen(parseInt(args['https-port'], 10), args.host)
  console.log(`hostile_http_server: http ${args['http-port']}, https ${args['https-port']}, latency ${latency} ms`)
  process.on('SIGTERM', () => process.exit(0))
}

main()
