#!/usr/bin/env node
'use strict';
// Google Drive v3 + OAuth 2.0 emulator for ramsafe's tests.
//
//   node server.js --cert server.pem --key server.key --state-dir DIR [--port 0] [--host 127.0.0.1]
//
// Serves, over TLS on one port, what Google spreads over several hosts:
// oauth2.googleapis.com (/token, /device/code), www.googleapis.com (/drive/v3,
// /upload/drive/v3) and a test-only /__admin/ API. When listening it writes the
// port to DIR/port (atomically: temp file + rename) so a test can wait for it.
// See README.md for the protocol subset, the admin API and the fault plan.
const fs = require('fs');
const path = require('path');
const https = require('https');
const http = require('http');
const { HttpError, driveError, sendJson, readBody, parseForm, boolParam } = require('./http_util');
const { TokenService } = require('./tokens');
const { FileStore } = require('./files');
const { Uploads } = require('./uploads');
const { DriveApi } = require('./drive');
const { FaultPlan } = require('./faults');
const { Stats } = require('./stats');
const { Admin } = require('./admin');

function parseArgs(argv) {
  const opts = { port: 0, host: '127.0.0.1' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--cert') opts.cert = val();
    else if (a === '--key') opts.key = val();
    else if (a === '--state-dir') opts.stateDir = val();
    else if (a === '--port') opts.port = Number(val());
    else if (a === '--host') opts.host = val();
    else usage(`unknown argument ${a}`);
  }
  if (!opts.cert || !opts.key || !opts.stateDir) usage('--cert, --key and --state-dir are required');
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage('bad --port');
  return opts;
}

function usage(msg) {
  process.stderr.write(`drive_emulator: ${msg}\nusage: server.js --cert PEM --key PEM --state-dir DIR [--port N] [--host ADDR]\n`);
  process.exit(2);
}

// Query parameters that carry secrets never reach the log. (Authorization
// headers and bodies are never logged at all.)
const SECRET_PARAMS = ['access_token', 'key', 'code', 'refresh_token', 'client_secret', 'assertion', 'device_code'];
function loggablePath(url) {
  const q = new URLSearchParams(url.search);
  for (const k of SECRET_PARAMS) if (q.has(k)) q.set(k, 'REDACTED');
  if (q.has('upload_id')) q.set('upload_id', `${q.get('upload_id').slice(0, 10)}...`);
  const s = q.toString();
  return s ? `${url.pathname}?${s}` : url.pathname;
}

// Maps a request to its kind (the unit of stats and of fault matching) and its
// handler. Kinds: token, device_code, list, generate_ids, get, media, create, update, delete,
// about, upload_media, upload_multipart, upload_init, upload_chunk,
// upload_query, upload_cancel, upload_update, admin, unknown.
function route(app, req, url) {
  const { method } = req;
  const p = url.pathname;
  const q = url.searchParams;
  let m;
  if (p.startsWith('/__admin/')) return { kind: 'admin' };
  if (p === '/token' && method === 'POST') return { kind: 'token', run: (r) => app.token(r) };
  if (p === '/device/code' && method === 'POST') return { kind: 'device_code', run: (r) => app.deviceCode(r) };
  if (p === '/drive/v3/files/generateIds' && method === 'GET') {
    return { kind: 'generate_ids', auth: true, run: (r) => app.drive.generateIds(r) };
  }
  if (p === '/drive/v3/files') {
    if (method === 'GET') return { kind: 'list', auth: true, run: (r) => app.drive.list(r) };
    if (method === 'POST') return { kind: 'create', auth: true, run: (r) => app.drive.create(r) };
  }
  if ((m = /^\/drive\/v3\/files\/([^/]+)$/.exec(p))) {
    // A malformed escape names no file: answer 404 like any unknown id, never crash.
    let id = m[1];
    try {
      id = decodeURIComponent(m[1]);
    } catch {
      // keep the raw text
    }
    if (method === 'GET') {
      return { kind: q.get('alt') === 'media' ? 'media' : 'get', auth: true, run: (r) => app.drive.get(r, id) };
    }
    if (method === 'PATCH') return { kind: 'update', auth: true, run: (r) => app.drive.update(r, id) };
    if (method === 'DELETE') return { kind: 'delete', auth: true, run: (r) => app.drive.remove(r, id) };
  }
  if (p === '/drive/v3/about' && method === 'GET') return { kind: 'about', auth: true, run: (r) => app.drive.about(r) };
  if (p === '/upload/drive/v3/files') {
    if (q.has('upload_id')) {
      // The session URI is the credential: no Authorization needed (as Google).
      if (method === 'PUT' || method === 'POST') {
        const cr = req.headers['content-range'] || '';
        const isQuery = cr.startsWith('bytes */') || (!cr && Number(req.headers['content-length'] || 0) === 0);
        return { kind: isQuery ? 'upload_query' : 'upload_chunk', run: (r) => app.uploads.put(r) };
      }
      if (method === 'DELETE') return { kind: 'upload_cancel', run: (r) => app.uploads.cancel(r) };
    } else if (method === 'POST') {
      const type = q.get('uploadType');
      if (type === 'media' || type === 'multipart') {
        return { kind: `upload_${type}`, auth: true, run: (r) => app.uploads.simple(r, type) };
      }
      if (type === 'resumable') return { kind: 'upload_init', auth: true, run: (r) => app.uploads.initiate(r) };
      return {
        kind: 'upload_bad', auth: true,
        run: () => { throw new HttpError(400, driveError(400, `Invalid upload type: ${type}`, 'badRequest', { location: 'uploadType' })); },
      };
    }
  }
  if ((m = /^\/upload\/drive\/v3\/files\/([^/]+)$/.exec(p)) && method === 'PATCH') {
    // A malformed escape names no file: answer 404 like any unknown id, never crash.
    let id = m[1];
    try {
      id = decodeURIComponent(m[1]);
    } catch {
      // keep the raw text
    }
    return { kind: 'upload_update', auth: true, run: (r) => app.drive.updateContent(r, id) };
  }
  return { kind: 'unknown' };
}

// Google-shaped bodies for injected status codes.
const FAULT_DEFAULTS = {
  403: ['rateLimitExceeded', 'Rate Limit Exceeded', 'usageLimits'],
  429: ['rateLimitExceeded', 'Rate Limit Exceeded', 'usageLimits'],
  500: ['backendError', 'Internal Error', 'global'],
  502: ['backendError', 'Bad Gateway', 'global'],
  503: ['backendError', 'Service Unavailable', 'global'],
};
const REASON_MESSAGES = {
  rateLimitExceeded: 'Rate Limit Exceeded',
  userRateLimitExceeded: 'User Rate Limit Exceeded',
  storageQuotaExceeded: "The user's Drive storage quota has been exceeded.",
};
// What Google's front end sends for a 502: an HTML page, not JSON.
const GFE_502_HTML = '<!DOCTYPE html>\n<html lang=en><meta charset=utf-8><title>Error 502 (Server Error)!!1</title>' +
  '<p><b>502.</b> <ins>That’s an error.</ins><p>The server encountered a temporary error and could not complete ' +
  'your request.<p>Please try again in 30 seconds.  <ins>That’s all we know.</ins>\n';

function faultResponse(rule, tokenEndpoint) {
  const status = rule.status;
  const [defReason, defMessage, defDomain] = FAULT_DEFAULTS[status] ||
    ['backendError', http.STATUS_CODES[status] || 'Error', 'global'];
  const reason = rule.reason || defReason;
  const message = rule.message || REASON_MESSAGES[reason] || defMessage;
  const headers = rule.retryAfter !== undefined ? { 'Retry-After': String(rule.retryAfter) } : {};
  if (rule.body === 'html') return { status, headers: { ...headers, 'Content-Type': 'text/html; charset=UTF-8' }, raw: GFE_502_HTML };
  if (tokenEndpoint) {
    return { status, headers, json: { error: rule.reason || (status >= 500 ? 'internal_failure' : 'invalid_request'), error_description: message } };
  }
  const domain = rule.domain || (REASON_MESSAGES[reason] && reason !== 'storageQuotaExceeded' ? 'usageLimits' : defDomain);
  return { status, headers, json: driveError(status, message, reason, { domain: reason === 'storageQuotaExceeded' ? 'usageLimits' : domain }) };
}

const UNAUTHENTICATED = driveError(401,
  'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid ' +
  'authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
  'authError', { itemMessage: 'Invalid Credentials', location: 'Authorization', locationType: 'header', status: 'UNAUTHENTICATED' });

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class App {
  constructor(opts) {
    this.opts = opts;
    this.port = null;
    this.settings = {
      device_interval: 5, token_lifetime: 3599, user_quota_bytes: null, list_page_cap: null, incomplete_search: null,
    };
    this.stats = new Stats();
    this.faults = new FaultPlan(this.stats);
    this.tokens = new TokenService(this.settings);
    this.store = new FileStore(this.settings);
    this.uploads = new Uploads({ store: this.store, stats: this.stats, baseUrl: () => this.baseUrl() });
    this.drive = new DriveApi({ store: this.store, settings: this.settings });
    this.admin = new Admin({
      settings: this.settings, tokens: this.tokens, store: this.store, uploads: this.uploads,
      faults: this.faults, stats: this.stats,
    });
  }

  baseUrl() {
    const h = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    return `https://${h}:${this.port}`;
  }

  async token(r) {
    const { data } = await readBody(r.req);
    const form = parseForm(data);
    // The JWT's aud must name this token endpoint; accept the host the client used too.
    const own = [`${this.baseUrl()}/token`, `https://${r.req.headers.host}/token`, `https://localhost:${this.port}/token`];
    const aud = own.find((u) => u === this.peekAud(form)) || own[0];
    sendJson(r.res, 200, this.tokens.token(form, aud));
  }

  peekAud(form) {
    try {
      return JSON.parse(Buffer.from((form.assertion || '').split('.')[1] || '', 'base64url').toString()).aud;
    } catch {
      return undefined;
    }
  }

  async deviceCode(r) {
    const { data } = await readBody(r.req);
    sendJson(r.res, 200, this.tokens.deviceCode(parseForm(data)));
  }

  // Writes a response body, applying download faults: `reset` cuts the socket
  // after afterBytes, `slowBody` trickles it at bytesPerSecond.
  makeSendBody(res, fault) {
    return (status, headers, body) => new Promise((resolve) => {
      res.writeHead(status, { ...headers, 'Content-Length': body.length });
      if (fault && fault.action === 'reset') {
        res.write(body.subarray(0, Math.min(fault.afterBytes, body.length)), () => { res.destroy(); resolve(); });
        return;
      }
      if (fault && fault.action === 'slowBody') {
        const step = Math.max(1, Math.floor(fault.bytesPerSecond / 10)); // ten writes a second
        let off = 0;
        const tick = () => {
          if (res.destroyed) return resolve();
          const piece = body.subarray(off, off + step);
          off += step;
          // The last piece goes with end(): a client that has all the bytes may
          // hang up before a separate end() would run.
          if (off >= body.length) { res.end(piece); return resolve(); }
          res.write(piece);
          return setTimeout(tick, 100);
        };
        return tick();
      }
      res.end(body);
      resolve();
    });
  }

  async handle(req, res) {
    const url = new URL(req.url, this.baseUrl());
    const started = Date.now();
    const rt = route(this, req, url);
    res.on('close', () => {
      const status = res.writableFinished ? res.statusCode : `${res.headersSent ? res.statusCode : '-'} (connection reset)`;
      process.stderr.write(`drive_emulator: ${req.method} ${loggablePath(url)} ${status} ${Date.now() - started}ms\n`);
    });
    try {
      if (rt.kind === 'admin') return await this.admin.handle(req, res, url);
      this.stats.request(rt.kind);
      res.on('finish', () => this.stats.status(rt.kind, res.statusCode));
      if (!rt.run) {
        await readBody(req);
        throw new HttpError(404, driveError(404, `Not Found: ${req.method} ${url.pathname}`, 'notFound'));
      }
      const tokenEndpoint = rt.kind === 'token' || rt.kind === 'device_code';
      let fault = this.faults.pick({
        method: req.method, path: url.pathname, kind: rt.kind, uploadType: url.searchParams.get('uploadType') || undefined,
        tokenEndpoint,
      });
      if (fault && fault.action === 'delay') {
        await sleep(fault.ms);
        fault = null;
      }
      if (fault && fault.action === 'loseResponse') {
        // The request is carried out in full, then the connection drops instead of
        // the answer: what a client sees when a response is lost on the way back.
        res.writeHead = () => res;
        res.setHeader = () => res;
        res.write = () => true;
        res.end = () => { req.socket.destroy(); return res; };
        fault = null;
      }
      if (fault && fault.action === 'status') {
        const { data } = await readBody(req);
        if (rt.kind === 'upload_chunk') this.uploads.discarded(url.searchParams, data.length);
        else if (rt.kind.startsWith('upload_')) this.stats.received(data.length);
        const f = faultResponse(fault, tokenEndpoint);
        if (f.raw !== undefined) {
          res.writeHead(f.status, { ...f.headers, 'Content-Length': Buffer.byteLength(f.raw) });
          return res.end(f.raw);
        }
        return sendJson(res, f.status, f.json, f.headers);
      }
      // Body-cutting resets are done by the upload handlers and response resets
      // by sendBody; for every other kind a reset drops the connection at once.
      const cutsItself = ['upload_chunk', 'upload_media', 'upload_multipart', 'media'].includes(rt.kind);
      if (fault && fault.action === 'reset' && !cutsItself) {
        req.socket.destroy();
        return undefined;
      }
      const r = { req, res, url, query: url.searchParams, fault, ctx: null, sendBody: this.makeSendBody(res, fault) };
      if (rt.auth) {
        const tok = this.tokens.authenticate(req.headers.authorization);
        if (!tok) {
          throw new HttpError(401, UNAUTHENTICATED,
            { 'WWW-Authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' });
        }
        if (!/(^|\s)https:\/\/www\.googleapis\.com\/auth\/drive(\.file)?(\s|$)/.test(tok.scope)) {
          throw new HttpError(403, driveError(403, 'Request had insufficient authentication scopes.',
            'insufficientPermissions', { status: 'PERMISSION_DENIED' }));
        }
        // supportsAllDrives=true is what lets a request see shared-drive items.
        const allDrives = boolParam(url.searchParams, 'supportsAllDrives') || boolParam(url.searchParams, 'supportsTeamDrives');
        r.ctx = { principal: tok.principal, kind: tok.kind, allDrives };
      }
      return await rt.run(r);
    } catch (e) {
      return this.fail(res, e);
    }
  }

  fail(res, e) {
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    if (e instanceof HttpError) {
      if (typeof e.body === 'string') {
        res.writeHead(e.httpStatus, { 'Content-Type': 'text/plain', ...e.headers });
        res.end(e.body);
        return;
      }
      sendJson(res, e.httpStatus, e.body, e.headers);
      return;
    }
    process.stderr.write(`drive_emulator: internal error: ${e.stack}\n`);
    sendJson(res, 500, driveError(500, 'Internal Error', 'backendError'));
  }

  listen() {
    const server = https.createServer({
      cert: fs.readFileSync(this.opts.cert),
      key: fs.readFileSync(this.opts.key),
      // Large uploads on slow test machines must not be cut by node's defaults.
      requestTimeout: 0,
      headersTimeout: 60000,
      keepAliveTimeout: 30000,
    }, (req, res) => { this.handle(req, res); });
    server.on('clientError', (err, socket) => socket.destroy());
    server.listen(this.opts.port, this.opts.host, () => {
      this.port = server.address().port;
      fs.mkdirSync(this.opts.stateDir, { recursive: true });
      const tmp = path.join(this.opts.stateDir, `port.tmp.${process.pid}`);
      fs.writeFileSync(tmp, `${this.port}\n`);
      fs.renameSync(tmp, path.join(this.opts.stateDir, 'port'));
      process.stderr.write(`drive_emulator: listening on ${this.baseUrl()}\n`);
    });
    const stop = () => {
      server.close();
      process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    return server;
  }
}

if (require.main === module) {
  new App(parseArgs(process.argv.slice(2))).listen();
}

module.exports = { App, route, parseArgs };
