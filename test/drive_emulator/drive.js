'use strict';
// Drive v3 metadata and download endpoints (uploads live in uploads.js).
const crypto = require('crypto');
const {
  driveFail, invalidValue, badRequest, sendJson, sendEmpty, readBody, parseJsonBody, boolParam,
} = require('./http_util');
const { applyFields } = require('./fields');
const { FOLDER } = require('./files');

const FILE_DEFAULT = 'kind,id,name,mimeType';
const LIST_DEFAULT = 'kind,incompleteSearch,nextPageToken,files(kind,id,name,mimeType)';

// Page tokens carry the offset and a digest of the query, so a token used with a
// different query is refused like Google refuses it.
function pageToken(offset, digest) {
  return Buffer.from(JSON.stringify({ o: offset, d: digest })).toString('base64url');
}
function readPageToken(token, digest) {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Number.isInteger(t.o) && t.o >= 0 && t.d === digest) return t.o;
  } catch { /* fall through */ }
  throw invalidValue('pageToken');
}

// One byte range ("bytes=A-B", "bytes=A-", "bytes=-N") as [start, end], or
// 'unsatisfiable', or null when absent or unparsable (HTTP says to ignore those).
function parseRange(header, size) {
  const m = /^bytes=(\d*)-(\d*)$/.exec((header || '').trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') { // suffix: the last N bytes
    const n = Number(m[2]);
    return n === 0 || size === 0 ? 'unsatisfiable' : [Math.max(size - n, 0), size - 1];
  }
  const start = Number(m[1]);
  if (m[2] !== '' && Number(m[2]) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return [start, m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)];
}

class DriveApi {
  constructor({ store, settings }) {
    this.store = store;
    this.settings = settings;
  }

  // r.ctx: {principal, kind, allDrives}, set by server.js from the token and
  // supportsAllDrives.
  ctxFor(r) {
    return r.ctx;
  }

  async list(r) {
    const { query, res } = r;
    const ctx = this.ctxFor(r);
    let pageSize = 100;
    if (query.has('pageSize')) {
      pageSize = Number(query.get('pageSize'));
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
        throw invalidValue('pageSize',
          `Invalid value '${query.get('pageSize')}'. Values must be within the range: [1, 1000]`);
      }
    }
    // An admin setting lets tests make pages shorter than asked, which Google
    // is allowed to do (clients must follow nextPageToken, not count items).
    if (this.settings.list_page_cap) pageSize = Math.min(pageSize, this.settings.list_page_cap);
    const corpora = query.get('corpora') || 'user';
    const driveId = query.get('driveId');
    const includeAll = boolParam(query, 'includeItemsFromAllDrives') || boolParam(query, 'includeTeamDriveItems');
    if (!['user', 'drive', 'allDrives', 'domain'].includes(corpora)) throw invalidValue('corpora');
    if (includeAll && !ctx.allDrives) {
      throw driveFail(403, 'The includeItemsFromAllDrives parameter can only be set to true when supportsAllDrives is true.',
        'teamDriveIncludeItemsRequired');
    }
    if (corpora === 'drive' || driveId) {
      if (corpora !== 'drive' || !driveId) throw invalidValue('driveId', 'The driveId parameter must be specified if and only if corpora is set to drive.');
      if (!includeAll) throw driveFail(403, 'The includeItemsFromAllDrives parameter must be set to true when driveId is specified.', 'teamDriveIncludeItemsRequired');
      this.store.get(driveId, ctx, 'driveId');
    }
    const spaces = query.get('spaces') || 'drive';
    if (!spaces.split(',').every((s) => ['drive', 'appDataFolder', 'photos'].includes(s.trim()))) throw invalidValue('spaces');
    const q = query.get('q');
    const orderBy = query.get('orderBy');
    const digest = crypto.createHash('sha256')
      .update(JSON.stringify([q, orderBy, corpora, driveId, includeAll, ctx.principal])).digest('base64url').slice(0, 16);
    const offset = query.get('pageToken') ? readPageToken(query.get('pageToken'), digest) : 0;
    // Google may not search every drive of corpora=allDrives (or domain) and then says
    // incompleteSearch: the admin setting makes it happen ('allDrives': shared-drive
    // items are left out of such listings; 'always': every listing is flagged).
    const incomplete = this.settings.incomplete_search === 'always' ||
      (this.settings.incomplete_search === 'allDrives' && (corpora === 'allDrives' || corpora === 'domain'));
    const { records, nextOffset } = this.store.list({
      q, orderBy, pageSize, offset, corpora, driveId, includeAll, ctx,
      skipSharedDrives: incomplete && this.settings.incomplete_search === 'allDrives',
    });
    const out = {
      kind: 'drive#fileList', incompleteSearch: incomplete,
      files: records.map((f) => this.store.resource(f)),
    };
    if (nextOffset !== null) out.nextPageToken = pageToken(nextOffset, digest);
    sendJson(res, 200, applyFields(out, query.get('fields'), 'fileList', LIST_DEFAULT));
  }

  // files.generateIds: ids a create request may carry (each usable once).
  async generateIds(r) {
    const { res, query } = r;
    await readBody(r.req);
    const count = query.has('count') ? Number(query.get('count')) : 10;
    if (!Number.isInteger(count) || count < 1 || count > 1000) {
      throw invalidValue('count', `Invalid value '${query.get('count')}'. Values must be within the range: [1, 1000]`);
    }
    const space = query.get('space') || 'drive';
    if (space !== 'drive') throw invalidValue('space');
    const type = query.get('type') || 'files';
    if (!['files', 'shortcuts'].includes(type)) throw invalidValue('type');
    sendJson(res, 200, { kind: 'drive#generatedIds', space, ids: this.store.generateIds(count) });
  }

  async create(r) {
    const { req, res, query } = r;
    const { data } = await readBody(req);
    const meta = parseJsonBody(data);
    const ctx = this.ctxFor(r);
    const rec = this.store.create(this.store.prepareCreate(meta, ctx, 0), null, ctx);
    sendJson(res, 200, applyFields(this.store.resource(rec), query.get('fields'), 'file', FILE_DEFAULT));
  }

  async get(r, id) {
    const { res, query } = r;
    const rec = this.store.get(id, this.ctxFor(r));
    await readBody(r.req);
    if (query.get('alt') === 'media') return this.media(r, rec);
    if (query.has('alt') && query.get('alt') !== 'json') throw invalidValue('alt');
    sendJson(res, 200, applyFields(this.store.resource(rec), query.get('fields'), 'file', FILE_DEFAULT));
  }

  // alt=media: whole content, or one byte range (206) as HTTP/1.1 and Google do.
  media(r, rec) {
    const { req, res } = r;
    if (rec.mimeType === FOLDER || rec.mimeType.startsWith('application/vnd.google-apps.')) {
      throw driveFail(403, 'Only files with binary content can be downloaded. Use Export with Docs Editors files.',
        'fileNotDownloadable', { location: 'alt' });
    }
    const content = rec.content || Buffer.alloc(0);
    const size = content.length;
    const headers = {
      'Content-Type': rec.mimeType,
      'Accept-Ranges': 'bytes',
      'X-Goog-Hash': `md5=${Buffer.from(rec.md5, 'hex').toString('base64')}`,
    };
    const range = parseRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      res.setHeader('Content-Range', `bytes */${size}`);
      throw driveFail(416, 'Request range not satisfiable', 'requestedRangeNotSatisfiable',
        { location: 'Range', locationType: 'header' });
    }
    if (range) {
      const [start, end] = range;
      return r.sendBody(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${size}` },
        content.subarray(start, end + 1));
    }
    return r.sendBody(200, headers, content);
  }

  async update(r, id) {
    const { req, res, query } = r;
    const { data } = await readBody(req);
    const meta = parseJsonBody(data);
    const ctx = this.ctxFor(r);
    const rec = this.store.get(id, ctx);
    this.store.update(rec, meta, { addParents: query.get('addParents'), removeParents: query.get('removeParents') }, ctx);
    sendJson(res, 200, applyFields(this.store.resource(rec), query.get('fields'), 'file', FILE_DEFAULT));
  }

  // PATCH /upload/drive/v3/files/{id}?uploadType=media: replace the content.
  async updateContent(r, id) {
    const { req, res, query } = r;
    if (query.get('uploadType') !== 'media') throw badRequest('Only uploadType=media is supported for updates by the emulator.', 'uploadType');
    const ctx = this.ctxFor(r);
    const rec = this.store.get(id, ctx);
    const { data, aborted } = await readBody(req);
    if (aborted) return;
    if (rec.mimeType === FOLDER) throw badRequest('A folder has no content.');
    this.store.authorize(rec, ctx, 'edit');
    this.store.checkQuota(ctx, rec.driveId, Math.max(0, data.length - (rec.content ? rec.content.length : 0)));
    this.store.setContent(rec, data);
    sendJson(res, 200, applyFields(this.store.resource(rec), query.get('fields'), 'file', FILE_DEFAULT));
  }

  async remove(r, id) {
    const rec = this.store.get(id, this.ctxFor(r));
    await readBody(r.req);
    this.store.delete(rec, this.ctxFor(r));
    sendEmpty(r.res, 204);
  }

  async about(r) {
    const { res, query } = r;
    await readBody(r.req);
    if (!query.get('fields')) {
      throw driveFail(400, "The 'fields' parameter is required for this method.", 'required', { location: 'fields' });
    }
    const { principal, kind } = r.ctx;
    const limit = kind === 'service_account' ? 0 : this.settings.user_quota_bytes;
    const usage = this.store.usageOf(principal);
    const storageQuota = { usage: String(usage), usageInDrive: String(usage), usageInDriveTrash: '0' };
    if (limit !== null && limit !== undefined) storageQuota.limit = String(limit);
    const about = {
      kind: 'drive#about',
      user: { kind: 'drive#user', displayName: principal, emailAddress: principal, me: true,
        permissionId: crypto.createHash('md5').update(principal).digest('hex').slice(0, 20) },
      storageQuota,
      maxUploadSize: String(5 * 1024 ** 4),
      canCreateDrives: kind !== 'service_account',
    };
    sendJson(res, 200, applyFields(about, query.get('fields'), 'about', 'kind'));
  }
}

module.exports = { DriveApi };
