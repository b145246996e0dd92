'use strict';
// Small HTTP helpers shared by every route module: JSON replies, Google's error
// shapes, body reading that survives a dropped connection, and query parsing.

// Google's JSON error envelope for the Drive API ("errors" is the legacy v2-style
// list that Drive v3 still sends and that clients read the `reason` from).
function driveError(code, message, reason, opts = {}) {
  const item = { domain: opts.domain || 'global', reason, message: opts.itemMessage || message };
  if (opts.location) {
    item.locationType = opts.locationType || 'parameter';
    item.location = opts.location;
  }
  const error = { code, message, errors: [item] };
  if (opts.status) error.status = opts.status;
  return { error };
}

// Thrown by handlers; server.js turns it into a Google-shaped JSON reply.
class HttpError extends Error {
  constructor(status, body, headers = {}) {
    super(typeof body === 'object' ? JSON.stringify(body) : String(body));
    this.httpStatus = status;
    this.body = body;
    this.headers = headers;
  }
}

function driveFail(code, message, reason, opts) {
  return new HttpError(code, driveError(code, message, reason, opts));
}

const badRequest = (message, location) =>
  driveFail(400, message, 'badRequest', location ? { location } : {});
// Google answers malformed parameter values (q, pageToken, pageSize ...) with
// reason "invalid" and the bare message "Invalid Value".
const invalidValue = (location, message = 'Invalid Value') =>
  driveFail(400, message, 'invalid', { location });

function sendJson(res, status, obj, headers = {}) {
  const body = Buffer.from(JSON.stringify(obj, null, 1) + '\n');
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=UTF-8',
    'Content-Length': body.length,
    ...headers,
  });
  res.end(body);
}

function sendEmpty(res, status, headers = {}) {
  res.writeHead(status, { 'Content-Length': 0, ...headers });
  res.end();
}

// Reads a request body. `onChunk(total, buf)` may return a number n: then only the
// first n bytes of the body are kept and the socket is destroyed (fault injection:
// the connection "drops" after n bytes). A client-side drop is reported the same
// way, so callers see {data, aborted} and can apply Google's commit rule.
function readBody(req, { limitBytes = Infinity, cutAfter = null } = {}) {
  return new Promise((resolve) => {
    const parts = [];
    let total = 0;
    let done = false;
    const finish = (aborted) => {
      if (done) return;
      done = true;
      resolve({ data: Buffer.concat(parts, total), aborted });
    };
    req.on('data', (chunk) => {
      if (done) return;
      if (cutAfter !== null && total + chunk.length >= cutAfter) {
        const keep = cutAfter - total;
        parts.push(chunk.subarray(0, keep));
        total += keep;
        finish(true);
        req.socket.destroy();
        return;
      }
      parts.push(chunk);
      total += chunk.length;
      if (total > limitBytes) {
        finish(true);
        req.socket.destroy();
      }
    });
    req.on('end', () => finish(false));
    req.on('error', () => finish(true));
    req.on('close', () => finish(!req.complete));
    // A fault that cuts at 0 bytes (or an empty body) must still fire.
    if (cutAfter === 0) {
      finish(true);
      req.socket.destroy();
    }
  });
}

function parseForm(buf) {
  const out = {};
  for (const [k, v] of new URLSearchParams(buf.toString('utf8'))) out[k] = v;
  return out;
}

function parseJsonBody(buf, location = 'body') {
  if (buf.length === 0) return {};
  try {
    const v = JSON.parse(buf.toString('utf8'));
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v;
  } catch (e) {
    throw driveFail(400, `Invalid JSON payload received. ${e.message}`, 'parseError', { location });
  }
}

function boolParam(query, name) {
  const v = query.get(name);
  return v === 'true' || v === '1';
}

module.exports = {
  HttpError, driveError, driveFail, badRequest, invalidValue,
  sendJson, sendEmpty, readBody, parseForm, parseJsonBody, boolParam,
};
