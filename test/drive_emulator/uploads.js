'use strict';
// Drive's three upload protocols on POST /upload/drive/v3/files:
//   uploadType=media      raw body is the content (metadata defaults)
//   uploadType=multipart  multipart/related: JSON metadata part, then media part
//   uploadType=resumable  initiation returns a session URI; PUTs carry chunks
//
// Resumable rules, as Google applies them:
//  * Non-final chunks must be a multiple of 256 KiB (precisely: must end on a
//    256 KiB boundary); the final chunk may be any size.
//  * A chunk must start at or before the committed offset. Bytes before the
//    committed offset are accepted and ignored (Google accepts re-sent overlap);
//    a chunk starting after it (a gap) is rejected with 400.
//  * When a chunk's connection drops (or a `reset` fault cuts it), the bytes that
//    did arrive are committed rounded DOWN to a multiple of 256 KiB, so the client
//    must ask for the status (PUT, Content-Range: bytes */N) and resume from there.
//  * Incomplete: 308 with "Range: bytes=0-N" (no Range while nothing is committed).
//  * Status query: empty PUT with "Content-Range: bytes */TOTAL" or "bytes */*".
//  * The session URI is the credential: PUTs need no Authorization header.
const crypto = require('crypto');
const { driveFail, sendJson, sendEmpty, readBody, parseJsonBody } = require('./http_util');
const { applyFields } = require('./fields');

const CHUNK_GRANULARITY = 256 * 1024;
const roundDown = (n) => n - (n % CHUNK_GRANULARITY);

class Uploads {
  constructor({ store, stats, baseUrl }) {
    this.store = store;
    this.stats = stats;
    this.baseUrl = baseUrl; // () => "https://127.0.0.1:PORT"
    this.sessions = new Map(); // upload_id -> session
  }

  expireAll() {
    const n = this.sessions.size;
    this.sessions.clear();
    return n;
  }

  finishFile(rec, { uploadType, bytesReceived, chunks, interruptions }) {
    this.stats.completedFile({
      id: rec.id, name: rec.name, size: rec.content.length, uploadType,
      bytesReceived, chunks, interruptions, resentBytes: bytesReceived - rec.content.length,
    });
  }

  // ---- uploadType=media and multipart -------------------------------------------
  // `fault`: a reset rule cuts the body after afterBytes; nothing is stored then,
  // as a single-request upload is all or nothing.
  async simple(r, kind) {
    const { req, res, query, ctx, fault } = r;
    const cutAfter = fault && fault.action === 'reset' ? fault.afterBytes : null;
    const { data, aborted } = await readBody(req, { cutAfter });
    this.stats.received(data.length);
    if (aborted) return;
    let meta = {};
    let content = data;
    let mediaType = req.headers['content-type'];
    if (kind === 'multipart') {
      const parts = parseMultipart(req.headers['content-type'], data);
      meta = parseJsonBody(parts[0].body);
      content = parts[1].body;
      mediaType = parts[1].headers['content-type'];
    }
    const prepared = this.store.prepareCreate(meta, { ...ctx, mediaType }, content.length);
    const rec = this.store.create(prepared, content, ctx);
    this.stats.committed(content.length);
    this.finishFile(rec, { uploadType: kind, bytesReceived: data.length, chunks: 1, interruptions: 0 });
    if (cutAfter !== null) {
      // The body was shorter than afterBytes: the file exists but the reply is
      // lost, so a client that simply retries creates a duplicate (as at Google).
      req.socket.destroy();
      return;
    }
    sendJson(res, 200, applyFields(this.store.resource(rec), query.get('fields'), 'file', 'kind,id,name,mimeType'));
  }

  // ---- resumable: initiation --------------------------------------------------------
  async initiate(r) {
    const { req, res, url, ctx } = r;
    const { data } = await readBody(req);
    const meta = parseJsonBody(data);
    const lenHeader = req.headers['x-upload-content-length'];
    const declared = lenHeader === undefined ? null : Number(lenHeader);
    if (declared !== null && !(Number.isInteger(declared) && declared >= 0)) {
      throw driveFail(400, 'Invalid X-Upload-Content-Length header.', 'badRequest');
    }
    const mediaType = req.headers['x-upload-content-type'];
    const prepared = this.store.prepareCreate(meta, { ...ctx, mediaType }, declared);
    const id = 'ADemu' + crypto.randomBytes(24).toString('base64url');
    this.sessions.set(id, {
      id, prepared, ctx, total: declared, committed: 0, parts: [], done: null,
      query: new URLSearchParams(url.search), bytesReceived: 0, chunks: 0, interruptions: 0,
    });
    this.stats.upload.sessionsStarted++;
    // Like Google, the session URI keeps the initiation's query parameters.
    const q = new URLSearchParams(url.search);
    q.set('upload_id', id);
    sendEmpty(res, 200, { Location: `${this.baseUrl()}${url.pathname}?${q}`, 'X-GUploader-UploadID': id });
  }

  session(query) {
    const s = this.sessions.get(query.get('upload_id') || '');
    if (!s) throw driveFail(404, 'Upload session not found or expired.', 'notFound', { location: 'upload_id' });
    return s;
  }

  // Bytes of a chunk a status-fault threw away still count as received.
  discarded(query, n) {
    this.stats.received(n);
    const s = this.sessions.get(query.get('upload_id') || '');
    if (s) { s.bytesReceived += n; s.chunks++; s.interruptions++; }
  }

  append(s, start, data, upTo) {
    // Keep only the bytes beyond what is committed, up to offset `upTo`.
    if (upTo <= s.committed) return;
    const piece = data.subarray(s.committed - start, upTo - start);
    s.parts.push(Buffer.from(piece));
    this.stats.committed(piece.length);
    s.committed = upTo;
  }

  finalize(s) {
    const content = Buffer.concat(s.parts, s.committed);
    for (const p of s.prepared.parents) this.store.get(p, { ...s.ctx, allDrives: true }, 'parents');
    const rec = this.store.create(s.prepared, content, s.ctx);
    s.parts = [];
    s.done = rec.id;
    this.finishFile(rec, {
      uploadType: 'resumable', bytesReceived: s.bytesReceived, chunks: s.chunks, interruptions: s.interruptions,
    });
    return rec;
  }

  replyState(res, s) {
    if (s.done) {
      const rec = this.store.files.get(s.done);
      if (!rec) throw driveFail(404, 'Upload session not found or expired.', 'notFound');
      sendJson(res, 200, applyFields(this.store.resource(rec), s.query.get('fields'), 'file', 'kind,id,name,mimeType'));
      return;
    }
    const headers = { 'X-GUploader-UploadID': s.id };
    if (s.committed > 0) headers.Range = `bytes=0-${s.committed - 1}`;
    res.statusMessage = 'Resume Incomplete';
    sendEmpty(res, 308, headers);
  }

  // ---- resumable: chunk or status query ------------------------------------------------
  async put(r) {
    const { req, res, query, fault } = r;
    const s = this.session(query);
    const range = parseContentRange(req.headers['content-range'], req.headers['content-length']);
    const bodyLen = Number(req.headers['content-length'] || 0);

    const checkTotal = (total) => {
      if (total === null) return;
      if (s.total !== null && s.total !== total) {
        throw driveFail(400, `Invalid request. The declared total size ${total} differs from the earlier ${s.total}.`, 'badRequest');
      }
      if (total < s.committed) throw driveFail(400, 'Invalid request. The total size is below the committed size.', 'badRequest');
      s.total = total;
    };

    if (range.query) {
      await readBody(req);
      checkTotal(range.total);
      if (!s.done && s.total !== null && s.committed === s.total) this.finalize(s); // e.g. an empty file
      this.replyState(res, s);
      return;
    }
    if (s.done) {
      await readBody(req);
      this.replyState(res, s);
      return;
    }
    const { start, end, total } = range;
    const len = end - start + 1;
    const isFinal = total !== null && end + 1 === total;
    let problem = null;
    if (bodyLen !== len) problem = `Invalid request. The Content-Range length ${len} does not match Content-Length ${bodyLen}.`;
    else if (total !== null && end >= total) problem = 'Invalid request. The Content-Range end is past the total size.';
    else if (start > s.committed) problem = `Invalid request. The chunk starts at ${start} but only ${s.committed} bytes are committed.`;
    // Checked on the chunk's end so that a chunk re-sending overlap still keeps
    // the committed offset on a 256 KiB boundary; for a chunk starting at the
    // committed offset this is exactly Google's "chunk size" rule.
    else if (!isFinal && (end + 1) % CHUNK_GRANULARITY !== 0) {
      problem = `Invalid request. The chunk size ${len} is not a multiple of 256 KiB (262144 bytes); ` +
        'only the final chunk may be smaller.';
    }
    if (problem) {
      const { data } = await readBody(req);
      this.stats.received(data.length);
      throw driveFail(400, problem, 'badRequest');
    }
    checkTotal(total);

    const reset = fault && fault.action === 'reset' ? fault.afterBytes : null;
    const { data, aborted } = await readBody(req, { cutAfter: reset !== null && reset < len ? reset : null });
    this.stats.received(data.length);
    s.bytesReceived += data.length;
    s.chunks++;
    if (aborted) {
      // Google's behaviour for a chunk cut short: keep whole 256 KiB blocks only.
      s.interruptions++;
      this.append(s, start, data, roundDown(start + data.length));
      return; // the socket is gone; nobody to answer
    }
    if (fault && fault.action === 'partial' && fault.keepBytes < len) {
      s.interruptions++;
      this.append(s, start, data, roundDown(start + fault.keepBytes));
      this.replyState(res, s);
      return;
    }
    this.append(s, start, data, start + len);
    if (s.total !== null && s.committed === s.total) this.finalize(s);
    if (reset !== null) {
      // The whole chunk arrived and was committed, but the reply is lost: the
      // client has to ask for the status to learn where it stands.
      req.socket.destroy();
      return;
    }
    this.replyState(res, s);
  }

  cancel(r) {
    const s = this.session(r.query);
    this.sessions.delete(s.id);
    r.res.statusMessage = 'Client Closed Request';
    sendEmpty(r.res, 499);
  }
}

// "bytes A-B/T", "bytes A-B/*", "bytes */T", "bytes */*". Without the header a
// PUT carries the whole content in one go (Google accepts that too).
function parseContentRange(header, contentLength) {
  if (header === undefined) {
    const n = Number(contentLength || 0);
    if (n === 0) return { query: true, total: null };
    return { query: false, start: 0, end: n - 1, total: n };
  }
  let m = /^bytes \*\/(\*|\d+)$/.exec(header.trim());
  if (m) return { query: true, total: m[1] === '*' ? null : Number(m[1]) };
  m = /^bytes (\d+)-(\d+)\/(\*|\d+)$/.exec(header.trim());
  if (!m || Number(m[2]) < Number(m[1])) {
    throw driveFail(400, `Failed to parse Content-Range header.`, 'badRequest', { location: 'Content-Range', locationType: 'header' });
  }
  return { query: false, start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

// multipart/related with exactly two parts: JSON metadata, then the media.
function parseMultipart(contentType, body) {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType || '');
  if (!/^multipart\/related/i.test(contentType || '') || !m) {
    throw driveFail(400, 'Multipart uploads need Content-Type multipart/related with a boundary.', 'badContent');
  }
  const delim = Buffer.from(`--${m[1] || m[2]}`);
  const parts = [];
  let pos = body.indexOf(delim);
  while (pos !== -1) {
    let start = pos + delim.length;
    if (body.subarray(start, start + 2).toString() === '--') break; // closing delimiter
    if (body.subarray(start, start + 2).toString() === '\r\n') start += 2;
    const next = body.indexOf(delim, start);
    if (next === -1) break;
    let end = next;
    if (body.subarray(end - 2, end).toString() === '\r\n') end -= 2; // CRLF belongs to the delimiter
    const part = body.subarray(start, end);
    // A part without headers starts with the blank line itself.
    const sep = part.subarray(0, 2).toString() === '\r\n' ? -2 : part.indexOf('\r\n\r\n');
    if (sep === -1) throw driveFail(400, 'Malformed multipart body.', 'badContent');
    const headers = {};
    for (const line of part.subarray(0, Math.max(sep, 0)).toString('utf8').split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    parts.push({ headers, body: part.subarray(sep + 4) });
    pos = next;
  }
  if (parts.length !== 2) throw driveFail(400, `Multipart body must have 2 parts, found ${parts.length}.`, 'badContent');
  return parts;
}

module.exports = { Uploads, parseMultipart, CHUNK_GRANULARITY };
