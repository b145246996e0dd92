'use strict';
// The test-only control surface under /__admin/ (no auth, JSON in and out):
// registering credentials, shaping time-outs, fault plans, stats, and direct
// access to stored files. The reference is in README.md.
const { HttpError, sendJson, sendEmpty, readBody, parseJsonBody } = require('./http_util');
const { md5hex } = require('./files');

const SETTINGS = {
  device_interval: (v) => Number.isFinite(v) && v >= 0,
  token_lifetime: (v) => Number.isInteger(v) && v > 0,
  user_quota_bytes: (v) => v === null || (Number.isInteger(v) && v >= 0),
  list_page_cap: (v) => v === null || (Number.isInteger(v) && v >= 1),
  incomplete_search: (v) => v === null || v === 'allDrives' || v === 'always',
};

const adminError = (status, message) => new HttpError(status, { error: { code: status, message } });

class Admin {
  constructor(deps) {
    Object.assign(this, deps); // settings, tokens, store, uploads, faults, stats
  }

  fileOr404(id) {
    const rec = this.store.files.get(id);
    if (!rec) throw adminError(404, `no file ${id}`);
    return rec;
  }

  async handle(req, res, url) {
    const { data } = await readBody(req);
    const body = req.method === 'POST' ? parseJsonBody(data) : {};
    const route = `${req.method} ${url.pathname.slice('/__admin'.length)}`;
    const ok = (obj = { ok: true }) => sendJson(res, 200, obj);
    let m;

    switch (route) {
      case 'GET /health': return ok({ ok: true });
      case 'POST /service-accounts':
        this.tokens.addServiceAccount(body.client_email, body.public_key_pem);
        return ok();
      case 'POST /oauth-clients':
        this.tokens.addClient(body.client_id, body.client_secret);
        return ok();
      case 'POST /refresh-tokens':
        return ok({ refresh_token: this.tokens.addRefreshToken(body) });
      case 'POST /refresh-tokens/revoke':
        return ok({ revoked: this.tokens.revokeRefreshTokens(body) });
      case 'POST /device/approve':
      case 'POST /device/deny': {
        const approve = route.endsWith('approve');
        if (!this.tokens.deviceDecision(body.user_code, approve, body.user)) {
          throw adminError(404, `no pending device code with user_code ${body.user_code}`);
        }
        return ok();
      }
      case 'POST /device/expire':
        this.tokens.expireDeviceCodes();
        return ok();
      case 'GET /settings': return ok(this.settings);
      case 'POST /settings':
        for (const [k, v] of Object.entries(body)) {
          if (!SETTINGS[k]) throw adminError(400, `unknown setting ${k}`);
          if (!SETTINGS[k](v)) throw adminError(400, `bad value for ${k}: ${JSON.stringify(v)}`);
        }
        Object.assign(this.settings, body);
        return ok(this.settings);
      case 'POST /drives': {
        if (body.members !== undefined && (typeof body.members !== 'object' || body.members === null)) {
          throw adminError(400, 'members must be an object {principal: role}');
        }
        const rec = this.store.createDrive(body.id, body.name, body.members);
        return ok({ id: rec.id, name: rec.name });
      }
      case 'POST /expire-tokens': return ok({ expired: this.tokens.expireAccessTokens() });
      case 'POST /expire-upload-sessions': return ok({ expired: this.uploads.expireAll() });
      case 'GET /faults': return ok({ rules: this.faults.summary() });
      case 'POST /faults':
        this.faults.set(body);
        return ok({ rules: this.faults.summary() });
      case 'DELETE /faults':
        this.faults.set({ rules: [] });
        return ok();
      case 'GET /stats': return ok(this.stats.snapshot());
      case 'POST /stats/reset':
        this.stats.reset();
        return ok();
      case 'GET /files':
        return ok({ files: [...this.store.files.values()].map((f) => this.store.adminView(f)) });
      default:
    }

    if ((m = /^POST \/drives\/([^/]+)\/members$/.exec(route))) {
      // {"principal", "role"}: add, change (role) or remove (role null) a member.
      if (typeof body.principal !== 'string') throw adminError(400, 'principal must be a string');
      this.store.setMember(decodeURIComponent(m[1]), body.principal, body.role === undefined ? null : body.role);
      return ok();
    }
    if ((m = /^POST \/files\/([^/]+)\/duplicate$/.exec(route))) {
      // A second file with the same parents, metadata and content (a folder: no
      // children), as a lost response or a race between two clients leaves behind.
      const rec = this.fileOr404(decodeURIComponent(m[1]));
      if (rec.isRoot) throw adminError(400, 'a root cannot be duplicated');
      const copy = this.store.insert({
        name: rec.name, mimeType: rec.mimeType, parents: [...rec.parents],
        content: rec.content ? Buffer.from(rec.content) : null, appProperties: { ...rec.appProperties },
        properties: { ...rec.properties }, description: rec.description, driveId: rec.driveId, owner: rec.owner,
      });
      return ok(this.store.adminView(copy));
    }
    if ((m = /^(GET|DELETE) \/files\/([^/]+)$/.exec(route))) {
      const rec = this.fileOr404(decodeURIComponent(m[2]));
      if (m[1] === 'GET') return ok(this.store.adminView(rec));
      return ok({ deleted: this.store.delete(rec) });
    }
    if ((m = /^GET \/files\/([^/]+)\/content$/.exec(route))) {
      const rec = this.fileOr404(decodeURIComponent(m[1]));
      const content = rec.content || Buffer.alloc(0);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': content.length });
      return res.end(content);
    }
    if ((m = /^POST \/files\/([^/]+)\/times$/.exec(route))) {
      // Backdate a file, as if it had been written long ago (retention of old uploads).
      const rec = this.fileOr404(decodeURIComponent(m[1]));
      for (const k of ['createdTime', 'modifiedTime']) {
        if (body[k] === undefined) continue;
        if (typeof body[k] !== 'string' || Number.isNaN(Date.parse(body[k]))) {
          throw adminError(400, `bad ${k}: ${JSON.stringify(body[k])}`);
        }
        rec[k] = new Date(body[k]).toISOString();
      }
      return ok(this.store.adminView(rec));
    }
    if ((m = /^POST \/files\/([^/]+)\/corrupt$/.exec(route))) {
      // Damage stored content behind the API's back; Drive then reports the md5
      // of what it now holds, as it would after silent corruption at rest.
      const rec = this.fileOr404(decodeURIComponent(m[1]));
      const content = Buffer.from(rec.content || Buffer.alloc(0));
      if (Number.isInteger(body.offset)) {
        if (body.offset < 0 || body.offset >= content.length) throw adminError(400, 'offset past the end');
        content[body.offset] ^= 1 << (Number.isInteger(body.bit) ? body.bit & 7 : 0);
      } else if (Number.isInteger(body.truncate)) {
        if (body.truncate < 0 || body.truncate > content.length) throw adminError(400, 'truncate past the end');
      } else {
        throw adminError(400, 'expected {"offset":N} or {"truncate":N}');
      }
      rec.content = Number.isInteger(body.truncate) ? content.subarray(0, body.truncate) : content;
      rec.md5 = md5hex(rec.content);
      return ok(this.store.adminView(rec));
    }
    if (route === 'POST /reset') {
      // Everything but credentials and settings: files, sessions, faults, stats.
      for (const [id, rec] of this.store.files) if (!rec.driveId || rec.driveId !== id) this.store.files.delete(id);
      this.store.roots.clear();
      this.uploads.expireAll();
      this.faults.set({ rules: [] });
      this.stats.reset();
      return ok();
    }
    return sendEmpty(res, 404);
  }
}

module.exports = { Admin };
