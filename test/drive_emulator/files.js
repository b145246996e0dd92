'use strict';
// The in-memory Drive: files, folders, every principal's "My Drive" root, shared
// drives, and Google's rules about who may put content where (service accounts
// have no storage quota outside shared drives; users may have a quota).
//
// Permissions: only shared-drive membership is modelled. A shared drive created
// with members gives each principal one role (organizer, fileOrganizer, writer,
// commenter, reader: Manager, Content manager, Contributor, Commenter, Viewer in
// Drive's web interface), and ROLE_RULES below says what each role may do, after
// Google's files.delete / files.update references and its shared-drive access
// levels. A shared drive created without members lets every principal act as
// organizer. My Drive has no sharing: every principal sees every file there.
// Shared-drive items stay hidden unless the request says supportsAllDrives=true,
// exactly as Google hides them from old clients.
const crypto = require('crypto');
const { driveFail, invalidValue } = require('./http_util');
const { compileQuery } = require('./query');

const FOLDER = 'application/vnd.google-apps.folder';
const SA_NO_QUOTA =
  'Service Accounts do not have storage quota. Leverage shared drives ' +
  '(https://developers.google.com/workspace/drive/api/guides/about-shareddrives), ' +
  'or use OAuth delegation instead.';

function newId() {
  // Drive ids look like "1" followed by 32 characters of base64url.
  return '1' + crypto.randomBytes(24).toString('base64url');
}

// Roles from weakest to strongest (Drive v3 permission roles in a shared drive).
const ROLES = ['reader', 'commenter', 'writer', 'fileOrganizer', 'organizer'];
// The weakest role each operation on a shared-drive item needs: create and edit as
// a Contributor (writer), move within the drive and move to the trash as a Content
// manager (fileOrganizer), restore from the trash as a Contributor, delete for good
// only as a Manager (organizer: "If the file belongs to a shared drive, the user
// must be an organizer on the parent folder", files.delete).
const ROLE_RULES = {
  read: 'reader', create: 'writer', edit: 'writer', move: 'fileOrganizer',
  trash: 'fileOrganizer', untrash: 'writer', delete: 'organizer',
};
const INSUFFICIENT = 'The user does not have sufficient permissions for this file.';

const md5hex = (buf) => crypto.createHash('md5').update(buf).digest('hex');

class FileStore {
  constructor(settings) {
    this.settings = settings; // user_quota_bytes
    this.files = new Map(); // id -> record
    this.roots = new Map(); // principal -> id of its My Drive root
    this.members = new Map(); // shared drive id -> Map(principal -> role); absent: open drive
    this.generated = new Set(); // ids handed out by files.generateIds and not used yet
    this.seq = 0; // creation order, to keep sorts stable when timestamps tie
  }

  // ---- records ---------------------------------------------------------------
  insert(fields) {
    const now = new Date().toISOString();
    const rec = {
      id: fields.id || newId(), name: 'Untitled', mimeType: 'application/octet-stream', parents: [],
      content: null, md5: null, appProperties: {}, properties: {}, description: undefined,
      createdTime: now, modifiedTime: now, trashed: false, driveId: undefined, owner: null,
      isRoot: false, seq: ++this.seq, ...fields,
    };
    if (rec.content) rec.md5 = md5hex(rec.content);
    this.files.set(rec.id, rec);
    return rec;
  }

  // The API view of a record (before the `fields` mask is applied).
  resource(rec) {
    const r = {
      kind: 'drive#file', id: rec.id, name: rec.name, mimeType: rec.mimeType,
      parents: rec.parents.length ? [...rec.parents] : undefined,
      createdTime: rec.createdTime, modifiedTime: rec.modifiedTime,
      trashed: this.isTrashed(rec), explicitlyTrashed: rec.trashed,
      spaces: ['drive'],
    };
    if (rec.description !== undefined) r.description = rec.description;
    if (Object.keys(rec.appProperties).length) r.appProperties = { ...rec.appProperties };
    if (Object.keys(rec.properties).length) r.properties = { ...rec.properties };
    if (rec.driveId) { r.driveId = rec.driveId; r.teamDriveId = rec.driveId; }
    if (rec.mimeType !== FOLDER) {
      const size = rec.content ? rec.content.length : 0;
      r.size = String(size);
      r.quotaBytesUsed = rec.driveId ? '0' : String(size);
      r.md5Checksum = rec.md5 || md5hex(Buffer.alloc(0));
    }
    if (rec.owner) r.owners = [{ kind: 'drive#user', emailAddress: rec.owner, displayName: rec.owner, me: true }];
    return r;
  }

  // Admin view: everything a test wants to assert on, with no hiding.
  adminView(rec) {
    return {
      id: rec.id, name: rec.name, mimeType: rec.mimeType, parents: rec.parents,
      size: rec.mimeType === FOLDER ? undefined : (rec.content ? rec.content.length : 0),
      md5Checksum: rec.mimeType === FOLDER ? undefined : (rec.md5 || md5hex(Buffer.alloc(0))),
      appProperties: rec.appProperties, properties: rec.properties, trashed: this.isTrashed(rec),
      explicitlyTrashed: rec.trashed,
      driveId: rec.driveId || null, owner: rec.owner, createdTime: rec.createdTime,
      modifiedTime: rec.modifiedTime, isRoot: rec.isRoot || undefined,
    };
  }

  // ---- roots and shared drives ----------------------------------------------
  rootOf(principal) {
    let id = this.roots.get(principal);
    if (!id) {
      id = this.insert({ name: 'My Drive', mimeType: FOLDER, owner: principal, isRoot: true }).id;
      this.roots.set(principal, id);
    }
    return id;
  }

  // members: {principal: role} (absent: every principal acts as organizer).
  createDrive(id, name, members) {
    if (id && this.files.has(id)) throw driveFail(409, `A shared drive with id ${id} already exists.`, 'duplicate');
    const rec = this.insert({ name: name || 'Shared drive', mimeType: FOLDER, isRoot: true });
    if (id) {
      this.files.delete(rec.id);
      rec.id = id;
      this.files.set(id, rec);
    }
    rec.driveId = rec.id; // a shared drive's id doubles as its root folder's id
    if (members) for (const [principal, role] of Object.entries(members)) this.setMember(rec.id, principal, role);
    return rec;
  }

  // role null removes the principal from the drive.
  setMember(driveId, principal, role) {
    const drive = this.files.get(driveId);
    if (!drive || !drive.isRoot || drive.driveId !== driveId) throw driveFail(404, `Shared drive not found: ${driveId}`, 'notFound');
    if (role !== null && !ROLES.includes(role)) throw invalidValue('role', `Invalid role ${role}; expected one of ${ROLES.join(', ')}`);
    if (!this.members.has(driveId)) this.members.set(driveId, new Map());
    if (role === null) this.members.get(driveId).delete(principal);
    else this.members.get(driveId).set(principal, role);
  }

  // The principal's role on a shared-drive item: its membership of the drive, or
  // organizer in a drive without members; null when not a member.
  roleIn(driveId, ctx) {
    const m = this.members.get(driveId);
    if (!m) return 'organizer';
    return m.get(ctx.principal) || null;
  }

  // Throws Google's 403 unless the principal may do `op` (ROLE_RULES) to rec.
  // Items outside shared drives are not checked (no sharing model there).
  authorize(rec, ctx, op) {
    if (!rec.driveId) return;
    const role = this.roleIn(rec.driveId, ctx);
    if (role && ROLES.indexOf(role) >= ROLES.indexOf(ROLE_RULES[op])) return;
    throw driveFail(403, INSUFFICIENT, 'insufficientFilePermissions', { itemMessage: INSUFFICIENT });
  }

  // Trashing a folder trashes what is below it (explicitlyTrashed stays false there).
  isTrashed(rec) {
    for (let r = rec, depth = 0; r && depth < 100; depth++) {
      if (r.trashed) return true;
      r = r.parents.length ? this.files.get(r.parents[0]) : null;
    }
    return false;
  }

  // files.generateIds: ids a later create may use (once).
  generateIds(count) {
    const ids = [];
    for (let i = 0; i < count; i++) {
      const id = newId();
      this.generated.add(id);
      ids.push(id);
    }
    return ids;
  }

  // ---- lookups -----------------------------------------------------------------
  // `ctx`: {principal, allDrives} where allDrives mirrors supportsAllDrives=true.
  resolveId(id, ctx) {
    return id === 'root' ? this.rootOf(ctx.principal) : id;
  }

  get(id, ctx, location = 'fileId') {
    const rec = this.files.get(this.resolveId(id, ctx));
    // Shared-drive items: hidden from old clients and from non-members alike.
    if (!rec || (rec.driveId && (!ctx.allDrives || !this.roleIn(rec.driveId, ctx)))) {
      throw driveFail(404, `File not found: ${id}.`, 'notFound', { location });
    }
    return rec;
  }

  usageOf(principal) {
    let n = 0;
    for (const f of this.files.values()) if (f.owner === principal && !f.driveId && f.content) n += f.content.length;
    return n;
  }

  // ---- create ------------------------------------------------------------------
  // Validates metadata for a new file before any content arrives (resumable
  // uploads check here at initiation, as Google does) and returns the fields for
  // insert(). `expectedSize` may be null when unknown.
  prepareCreate(meta, ctx, expectedSize) {
    const mimeType = meta.mimeType || ctx.mediaType || 'application/octet-stream';
    let parents = meta.parents;
    if (parents === undefined || parents === null) parents = ['root'];
    if (!Array.isArray(parents)) throw invalidValue('parents');
    if (parents.length > 1) {
      throw driveFail(403, 'Increasing the number of parents is not allowed', 'cannotAddParent');
    }
    const parentIds = parents.map((p) => {
      const rec = this.get(p, ctx, 'parents');
      if (rec.mimeType !== FOLDER) throw driveFail(400, 'The specified parent is not a folder.', 'badRequest');
      return rec;
    });
    const driveId = parentIds.length ? parentIds[0].driveId : undefined;
    if (parentIds.length) this.authorize(parentIds[0], ctx, 'create');
    if (mimeType !== FOLDER) this.checkQuota(ctx, driveId, expectedSize || 0);
    if (meta.id !== undefined) this.checkProvidedId(meta.id);
    return {
      id: meta.id,
      name: meta.name || 'Untitled', mimeType, parents: parentIds.map((p) => p.id),
      appProperties: cleanProps(meta.appProperties), properties: cleanProps(meta.properties),
      description: meta.description, driveId, owner: driveId ? null : ctx.principal,
      createdTime: meta.createdTime, modifiedTime: meta.modifiedTime,
    };
  }

  checkQuota(ctx, driveId, addBytes) {
    if (driveId) return; // shared drive storage belongs to the organisation
    if (ctx.kind === 'service_account') {
      throw driveFail(403, SA_NO_QUOTA, 'storageQuotaExceeded', { domain: 'usageLimits' });
    }
    const limit = this.settings.user_quota_bytes;
    if (limit !== null && limit !== undefined && this.usageOf(ctx.principal) + addBytes > limit) {
      throw driveFail(403, "The user's Drive storage quota has been exceeded.", 'storageQuotaExceeded',
        { domain: 'usageLimits' });
    }
  }

  // An id in a create request must come from files.generateIds and not be in use:
  // a repeated create with the same id gets 409 fileIdInUse, never a second file.
  checkProvidedId(id) {
    if (typeof id !== 'string' || (!this.generated.has(id) && !this.files.has(id))) {
      throw driveFail(400, 'The provided file ID is not usable.', 'invalid', { location: 'file.id' });
    }
    if (this.files.has(id)) throw driveFail(409, 'A file already exists with the provided ID.', 'fileIdInUse');
  }

  create(prepared, content, ctx) {
    if (content && content.length) this.checkQuota(ctx, prepared.driveId, content.length);
    if (prepared.id !== undefined) {
      this.checkProvidedId(prepared.id); // again: a resumable upload may finish after another create
      this.generated.delete(prepared.id);
    }
    const fields = { ...prepared };
    if (fields.id === undefined) delete fields.id;
    for (const k of ['createdTime', 'modifiedTime']) if (!fields[k]) delete fields[k];
    if (fields.description === undefined) delete fields.description;
    if (prepared.mimeType !== FOLDER) fields.content = content || Buffer.alloc(0);
    return this.insert(fields);
  }

  // ---- update / delete ----------------------------------------------------------
  update(rec, meta, { addParents, removeParents }, ctx) {
    // Every check before any change: a refused update changes nothing.
    const edits = ['name', 'description', 'mimeType', 'appProperties', 'properties'].some((k) => meta[k] !== undefined);
    if (edits) this.authorize(rec, ctx, 'edit');
    if (meta.trashed !== undefined && Boolean(meta.trashed) !== rec.trashed) {
      this.authorize(rec, ctx, meta.trashed ? 'trash' : 'untrash');
    }
    if (addParents || removeParents) this.authorize(rec, ctx, 'move');
    if (meta.name !== undefined) rec.name = String(meta.name);
    if (meta.description !== undefined) rec.description = meta.description;
    if (meta.mimeType !== undefined && meta.mimeType !== rec.mimeType && (rec.mimeType === FOLDER || meta.mimeType === FOLDER)) {
      throw driveFail(403, 'The file type cannot be changed to or from a folder.', 'fileTypeCannotBeChanged');
    } else if (meta.mimeType !== undefined) rec.mimeType = meta.mimeType;
    if (meta.trashed !== undefined) rec.trashed = Boolean(meta.trashed);
    // appProperties/properties patch semantics: keys merge, a null value removes.
    for (const k of ['appProperties', 'properties']) {
      if (meta[k] === undefined) continue;
      for (const [pk, pv] of Object.entries(meta[k] || {})) {
        if (pv === null) delete rec[k][pk];
        else rec[k][pk] = String(pv);
      }
    }
    if (meta.parents !== undefined) {
      throw driveFail(403, 'The parents field is not directly writable in update requests. Use the addParents and removeParents parameters instead.', 'fieldNotWritable');
    }
    const removes = splitIds(removeParents).map((p) => this.resolveId(p, ctx));
    const adds = splitIds(addParents);
    let parents = rec.parents.filter((p) => !removes.includes(p));
    for (const p of adds) {
      const prec = this.get(p, ctx, 'addParents');
      if (prec.mimeType !== FOLDER) throw driveFail(400, 'The specified parent is not a folder.', 'badRequest');
      if ((prec.driveId || null) !== (rec.driveId || null)) {
        throw driveFail(403, 'Moving items between shared drives and My Drive is not supported by the emulator.', 'teamDrivesParentLimit');
      }
      if (!parents.includes(prec.id)) parents.push(prec.id);
    }
    if (parents.length > 1) throw driveFail(403, 'Increasing the number of parents is not allowed', 'cannotAddParent');
    rec.parents = parents;
    rec.modifiedTime = new Date().toISOString();
    return rec;
  }

  setContent(rec, content) {
    rec.content = content;
    rec.md5 = md5hex(content);
    rec.modifiedTime = new Date().toISOString();
  }

  // Deleting a folder deletes everything below it (Drive's documented behaviour
  // for files owned by the caller).
  // ctx: the caller (role checks); absent for the admin API.
  delete(rec, ctx) {
    if (rec.isRoot) throw driveFail(403, 'The root folder cannot be deleted.', 'cannotDeleteRoot');
    if (ctx) this.authorize(rec, ctx, 'delete');
    const doomed = new Set([rec.id]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const f of this.files.values()) {
        if (!doomed.has(f.id) && f.parents.some((p) => doomed.has(p))) { doomed.add(f.id); grew = true; }
      }
    }
    for (const id of doomed) this.files.delete(id);
    return doomed.size;
  }

  // ---- list ---------------------------------------------------------------------
  // Returns {records, nextOffset} for one page. Visibility follows Google: shared
  // drive items need includeItemsFromAllDrives + supportsAllDrives; corpora=drive
  // restricts to one drive.
  // skipSharedDrives: leave shared-drive items out (an incomplete search).
  list({ q, orderBy, pageSize, offset, corpora, driveId, includeAll, ctx, skipSharedDrives = false }) {
    // The q language sees the principal's root under its alias 'root'.
    const rootId = this.rootOf(ctx.principal);
    const pred = compileQuery(q);
    const view = (f) => ({
      ...f, trashed: this.isTrashed(f), parents: f.parents.map((p) => (p === rootId ? 'root' : p)).concat(f.parents),
    });
    const items = [];
    for (const f of this.files.values()) {
      if (f.isRoot) continue;
      if (f.driveId && (!includeAll || !this.roleIn(f.driveId, ctx))) continue;
      if (corpora === 'drive' && f.driveId !== driveId) continue;
      if (skipSharedDrives && f.driveId) continue;
      if (pred(view(f))) items.push(f);
    }
    items.sort(comparator(orderBy));
    const page = items.slice(offset, offset + pageSize);
    const nextOffset = offset + pageSize < items.length ? offset + pageSize : null;
    return { records: page, nextOffset };
  }
}

const ORDER_KEYS = {
  createdTime: (f) => f.createdTime,
  modifiedTime: (f) => f.modifiedTime,
  name: (f) => f.name,
  name_natural: (f) => f.name,
  folder: (f) => (f.mimeType === FOLDER ? 0 : 1), // folders first, as Google sorts them
};

// orderBy: "name", "createdTime desc", "folder,name desc" ... Validated here so
// the error carries location "orderBy".
function comparator(orderBy) {
  const keys = (orderBy || '').split(',').map((s) => s.trim()).filter(Boolean).map((part) => {
    const [key, dir, extra] = part.split(/\s+/);
    if (!ORDER_KEYS[key] || extra || (dir && dir !== 'desc' && dir !== 'asc')) throw invalidValue('orderBy');
    return { get: ORDER_KEYS[key], sign: dir === 'desc' ? -1 : 1 };
  });
  return (a, b) => {
    for (const { get, sign } of keys) {
      const x = get(a);
      const y = get(b);
      if (x < y) return -sign;
      if (x > y) return sign;
    }
    return a.seq - b.seq; // creation order as the stable tie-breaker
  };
}

function cleanProps(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj || {})) if (v !== null && v !== undefined) out[k] = String(v);
  return out;
}

function splitIds(s) {
  return (s || '').split(',').map((x) => x.trim()).filter(Boolean);
}

module.exports = { FileStore, FOLDER, ROLES, comparator, md5hex };
