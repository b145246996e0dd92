#!/usr/bin/env node
'use strict';
// Drives the emulator with Google's official Node client (@googleapis/drive and
// google-auth-library, pinned in test/package.json), so the emulator is checked
// against what a real Google client sends and expects, not only against our own
// reading of the docs.
//
//   node official_client_check.js --url https://127.0.0.1:PORT --ca DIR/ca.pem
//
// Prints "ok - ..." per check; exits non-zero with a message on the first mismatch.
//
// Two places where the official client cannot simply be pointed at the emulator:
//  * google-auth-library's JWT client (through gtoken) always POSTs to
//    https://oauth2.googleapis.com/token and puts that URL in the JWT's aud; it
//    ignores the key file's token_uri. A request interceptor on the client's own
//    transport redirects that host to the emulator (as a DNS override would), so
//    the emulator verifies the real, unmodified JWT.
//  * googleapis-common only does uploadType=multipart/media for files.create
//    (see node_modules/googleapis-common/build/src/apirequest.js). The resumable
//    upload is therefore done through the authorized client's request() helper,
//    following the documented protocol.
const fs = require('fs');
const os = require('os');
const path = require('path');
const https = require('https');
const crypto = require('crypto');
const { Readable } = require('stream');

const nodeModules = path.resolve(__dirname, '..', 'node_modules');
const { drive: driveApi } = require(path.join(nodeModules, '@googleapis/drive'));
const { GoogleAuth, OAuth2Client } = require(path.join(nodeModules, 'google-auth-library'));

// The emulator is on loopback: never send its traffic through a proxy.
for (const k of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']) delete process.env[k];

function args() {
  const out = {};
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i += 2) out[a[i].replace(/^--/, '')] = a[i + 1];
  if (!out.url || !out.ca) {
    process.stderr.write('usage: official_client_check.js --url https://127.0.0.1:PORT --ca ca.pem\n');
    process.exit(2);
  }
  return out;
}

const opts = args();
const base = opts.url.replace(/\/$/, '');
const agent = new https.Agent({ ca: fs.readFileSync(opts.ca), keepAlive: true });
const MiB = 1024 * 1024;
// The client-wide rootUrl is not applied to upload (mediaUrl) endpoints by
// googleapis-common, so calls with media pass it per request as well.
const mediaRoot = { rootUrl: `${base}/` };

function fail(msg) {
  process.stderr.write(`not ok - ${msg}\n`);
  process.exit(1);
}
function check(cond, msg, detail) {
  if (!cond) fail(`${msg}${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`);
}
const ok = (msg) => process.stdout.write(`ok - ${msg}\n`);
const md5 = (buf) => crypto.createHash('md5').update(buf).digest('hex');

// Admin calls go through node's https directly: they are not part of Google's API.
function admin(method, p, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const req = https.request(`${base}/__admin${p}`, {
      method, agent, headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {},
    }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString();
        if (res.statusCode !== 200) return reject(new Error(`admin ${method} ${p}: ${res.statusCode} ${text}`));
        resolve(JSON.parse(text));
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

// Points an auth client's transport at the emulator: our CA, and Google's token
// host rewritten to the emulator's /token.
function wire(client) {
  client.transporter.interceptors.request.add({
    resolved: async (config) => {
      const u = new URL(config.url);
      if (u.host === 'oauth2.googleapis.com') config.url = `${base}${u.pathname}`;
      config.agent = agent;
      return config;
    },
  });
  return client;
}

// Expects a GaxiosError from the official client with this status and reason.
async function expectError(promise, status, reason, what) {
  try {
    await promise;
  } catch (e) {
    const got = e.response && e.response.status;
    const gotReason = e.response && e.response.data && e.response.data.error && e.response.data.error.errors &&
      e.response.data.error.errors[0].reason;
    check(got === status && (!reason || gotReason === reason), `${what}: expected ${status} ${reason}`,
      { status: got, data: e.response && e.response.data, message: e.message });
    return e;
  }
  return fail(`${what}: expected ${status} ${reason}, but the call succeeded`);
}

// The resumable protocol through the official client's authorized request():
// initiate, PUT chunks, and after a network error ask for the status and resume.
async function resumableUpload(client, meta, content, chunkSize, params) {
  const init = await client.request({
    url: `${base}/upload/drive/v3/files`, method: 'POST',
    params: { uploadType: 'resumable', ...params },
    headers: { 'X-Upload-Content-Type': 'application/octet-stream', 'X-Upload-Content-Length': String(content.length) },
    data: meta, retry: false,
  });
  check(init.status === 200, 'resumable initiation answers 200', init.status);
  const session = init.headers.get('location');
  check(session && session.includes('upload_id=') && session.includes('supportsAllDrives=true'),
    'session URI keeps the initiation query', session);
  const total = content.length;
  let offset = 0;
  let interruptions = 0;
  const put = (headers, data) => client.request({
    url: session, method: 'PUT', headers, data, retry: false, responseType: 'text',
    validateStatus: (s) => s === 308 || (s >= 200 && s < 300),
  });
  const committed = (res) => {
    const r = res.headers.get('range');
    return r ? Number(/bytes=0-(\d+)/.exec(r)[1]) + 1 : 0;
  };
  for (;;) {
    const end = Math.min(offset + chunkSize, total);
    let res;
    try {
      res = await put({ 'Content-Range': `bytes ${offset}-${end - 1}/${total}`, 'Content-Type': 'application/octet-stream' },
        content.subarray(offset, end));
    } catch (e) {
      if (e.response) throw e;
      interruptions++; // network error: ask where the server stands
      const q = await put({ 'Content-Range': `bytes */${total}` }, '');
      if (q.status !== 308) return { file: JSON.parse(q.data), interruptions };
      offset = committed(q);
      check(offset % (256 * 1024) === 0, 'committed offset after a drop is a multiple of 256 KiB', offset);
      continue;
    }
    if (res.status !== 308) return { file: JSON.parse(res.data), interruptions };
    offset = committed(res);
  }
}

async function serviceAccountChecks() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drive-check-'));
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const email = 'ramsafe-test@ramsafe-emulator.iam.gserviceaccount.com';
  const keyFile = path.join(dir, 'sa.json');
  fs.writeFileSync(keyFile, JSON.stringify({
    type: 'service_account', project_id: 'ramsafe-emulator', private_key_id: crypto.randomBytes(20).toString('hex'),
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }), client_email: email,
    client_id: '100000000000000000001', token_uri: `${base}/token`,
  }), { mode: 0o600 });
  await admin('POST', '/service-accounts', { client_email: email, public_key_pem: publicKey.export({ type: 'spki', format: 'pem' }) });
  await admin('POST', '/drives', { id: 'sharedDriveForCheck0001', name: 'Backups' });

  const auth = new GoogleAuth({ keyFilename: keyFile, scopes: ['https://www.googleapis.com/auth/drive'] });
  const client = wire(await auth.getClient());
  const drive = driveApi({ version: 'v3', auth: client, rootUrl: `${base}/` });

  const about = await drive.about.get({ fields: 'user(emailAddress)' });
  check(about.data.user.emailAddress === email, 'about.user is the service account', about.data);
  ok('service account: google-auth-library JWT accepted by /token, about.get answers as the account');

  await expectError(drive.files.create({
    requestBody: { name: 'nope.bin' }, media: { mimeType: 'application/octet-stream', body: Readable.from([Buffer.from('x')]) },
  }, mediaRoot), 403, 'storageQuotaExceeded', 'service account upload into My Drive');
  ok('service account: upload outside a shared drive is refused with storageQuotaExceeded');

  await expectError(drive.files.get({ fileId: 'sharedDriveForCheck0001' }), 404, 'notFound',
    'shared drive without supportsAllDrives');
  const folder = await drive.files.create({
    supportsAllDrives: true, fields: 'id,name,mimeType,parents,driveId',
    requestBody: { name: 'cluster-1', mimeType: 'application/vnd.google-apps.folder', parents: ['sharedDriveForCheck0001'],
      appProperties: { ramsafe: 'cluster' } },
  });
  check(folder.data.mimeType === 'application/vnd.google-apps.folder' && folder.data.driveId === 'sharedDriveForCheck0001',
    'folder created in the shared drive', folder.data);
  ok('files.create makes a folder in a shared drive (hidden without supportsAllDrives)');

  // Resumable upload with one connection reset in the middle of a chunk.
  const content = crypto.randomBytes(5 * MiB + 12345);
  await admin('POST', '/stats/reset');
  await admin('POST', '/faults', {
    seed: 7, rules: [{ match: { kind: 'upload_chunk' }, action: 'reset', afterBytes: 600000, count: 1, skip: 2 }],
  });
  const up = await resumableUpload(client, { name: 'base.tar.age', parents: [folder.data.id], appProperties: { ramsafe: 'backup', seq: '1' } },
    content, 1 * MiB, { supportsAllDrives: true, fields: 'id,name,size,md5Checksum' });
  check(up.interruptions === 1, 'exactly one interruption seen by the client', up.interruptions);
  check(up.file.size === String(content.length) && up.file.md5Checksum === md5(content), 'uploaded size and md5 match', up.file);
  const stats = await admin('GET', '/stats');
  const fstat = stats.files.find((f) => f.id === up.file.id);
  check(fstat && fstat.interruptions === 1, 'stats count the interruption', fstat);
  check(fstat.resentBytes === 600000 - 524288, 'only the uncommitted tail of the cut chunk was re-sent', fstat);
  check(stats.faults.reset === 1, 'the reset fault fired once', stats.faults);
  await admin('DELETE', '/faults');
  ok(`resumable upload of ${content.length} bytes survives a connection reset; md5 matches, ${fstat.resentBytes} bytes re-sent`);

  // Multipart upload through files.create + media (the official client's own path).
  const small = [];
  for (let i = 0; i < 5; i++) {
    const body = Buffer.from(`wal segment ${i}\n`.repeat(100 + i));
    const res = await drive.files.create({
      supportsAllDrives: true, fields: 'id,name,size,md5Checksum,appProperties',
      requestBody: { name: `wal-${i}.age`, parents: [folder.data.id], appProperties: { ramsafe: 'wal', seq: String(i) } },
      media: { mimeType: 'application/octet-stream', body: Readable.from([body]) },
    }, mediaRoot);
    check(res.data.md5Checksum === md5(body) && res.data.size === String(body.length), 'multipart upload md5', res.data);
    small.push(res.data);
  }
  ok('files.create with media (uploadType=multipart) stores content and reports its md5');

  // files.list with q and real paging.
  const seen = [];
  let pageToken;
  let pages = 0;
  do {
    const res = await drive.files.list({
      q: `'${folder.data.id}' in parents and trashed = false and appProperties has { key='ramsafe' and value='wal' }`,
      pageSize: 2, pageToken, orderBy: 'name desc', fields: 'nextPageToken,files(id,name,size)',
      corpora: 'drive', driveId: 'sharedDriveForCheck0001', includeItemsFromAllDrives: true, supportsAllDrives: true,
    });
    check(res.data.files.length <= 2, 'page size honoured', res.data);
    seen.push(...res.data.files.map((f) => f.name));
    pageToken = res.data.nextPageToken;
    pages++;
  } while (pageToken);
  check(pages === 3 && seen.join(',') === 'wal-4.age,wal-3.age,wal-2.age,wal-1.age,wal-0.age', 'paged listing', { pages, seen });
  const hidden = await drive.files.list({ q: `'${folder.data.id}' in parents` });
  check(hidden.data.files.length === 0, 'shared drive items hidden without includeItemsFromAllDrives', hidden.data);
  const byName = await drive.files.list({
    q: "name = 'base.tar.age' and mimeType != 'application/vnd.google-apps.folder'",
    includeItemsFromAllDrives: true, supportsAllDrives: true, corpora: 'allDrives', fields: 'files(id,md5Checksum)',
  });
  check(byName.data.files.length === 1 && byName.data.files[0].md5Checksum === md5(content), 'list by name', byName.data);
  ok('files.list: q with in parents/trashed/appProperties has, orderBy, 3 pages of 2, corpora=drive and allDrives');

  // Downloads: whole, and one range.
  const whole = await drive.files.get({ fileId: up.file.id, alt: 'media', supportsAllDrives: true }, { responseType: 'arraybuffer' });
  check(Buffer.from(whole.data).equals(content), 'whole download equals the upload');
  const part = await drive.files.get({ fileId: up.file.id, alt: 'media', supportsAllDrives: true },
    { responseType: 'arraybuffer', headers: { Range: 'bytes=1048570-1048675' } });
  check(part.status === 206 && Buffer.from(part.data).equals(content.subarray(1048570, 1048676)), 'range download', part.status);
  check(part.headers.get('content-range') === `bytes 1048570-1048675/${content.length}`, 'Content-Range', part.headers.get('content-range'));
  ok('files.get alt=media: whole file and a Range request (206, Content-Range)');

  // Delete: the file is gone, and deleting the folder takes its children.
  await drive.files.delete({ fileId: small[0].id, supportsAllDrives: true });
  await expectError(drive.files.get({ fileId: small[0].id, supportsAllDrives: true }), 404, 'notFound', 'get after delete');
  await drive.files.delete({ fileId: folder.data.id, supportsAllDrives: true });
  await expectError(drive.files.get({ fileId: up.file.id, supportsAllDrives: true }), 404, 'notFound', 'child after folder delete');
  ok('files.delete: 204, then 404 notFound; deleting a folder deletes its children');
}

// A service account registered with the emulator, and the official client acting as it.
async function serviceAccountDrive(email) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drive-check-'));
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = path.join(dir, 'sa.json');
  fs.writeFileSync(keyFile, JSON.stringify({
    type: 'service_account', project_id: 'ramsafe-emulator', private_key_id: crypto.randomBytes(20).toString('hex'),
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }), client_email: email,
    client_id: '100000000000000000002', token_uri: `${base}/token`,
  }), { mode: 0o600 });
  await admin('POST', '/service-accounts', { client_email: email, public_key_pem: publicKey.export({ type: 'spki', format: 'pem' }) });
  const auth = new GoogleAuth({ keyFilename: keyFile, scopes: ['https://www.googleapis.com/auth/drive'] });
  const client = wire(await auth.getClient());
  fs.rmSync(dir, { recursive: true, force: true });
  return driveApi({ version: 'v3', auth: client, rootUrl: `${base}/` });
}

// files.generateIds, and the roles of a shared drive's members.
async function generatedIdAndRoleChecks() {
  const manager = 'manager@ramsafe-emulator.iam.gserviceaccount.com';
  const contentManager = 'content@ramsafe-emulator.iam.gserviceaccount.com';
  const contributor = 'contrib@ramsafe-emulator.iam.gserviceaccount.com';
  const outsider = 'outsider@ramsafe-emulator.iam.gserviceaccount.com';
  await admin('POST', '/drives', {
    id: 'sharedDriveRoles0001', name: 'Roles',
    members: { [manager]: 'organizer', [contentManager]: 'fileOrganizer', [contributor]: 'writer' },
  });
  const asManager = await serviceAccountDrive(manager);
  const asContent = await serviceAccountDrive(contentManager);
  const asContributor = await serviceAccountDrive(contributor);
  const asOutsider = await serviceAccountDrive(outsider);
  const all = { supportsAllDrives: true };

  const gen = await asContent.files.generateIds({ count: 2, space: 'drive', type: 'files' });
  check(gen.data.kind === 'drive#generatedIds' && gen.data.ids.length === 2, 'generateIds', gen.data);
  const folderMeta = {
    id: gen.data.ids[0], name: 'cluster', mimeType: 'application/vnd.google-apps.folder', parents: ['sharedDriveRoles0001'],
  };
  const made = await asContent.files.create({ ...all, requestBody: folderMeta, fields: 'id' });
  check(made.data.id === gen.data.ids[0], 'create keeps the generated id', made.data);
  await expectError(asContent.files.create({ ...all, requestBody: folderMeta }), 409, 'fileIdInUse', 'a repeated create with that id');
  await expectError(asContent.files.create({ ...all, requestBody: { ...folderMeta, id: 'madeUpId123' } }), 400, 'invalid',
    'create with an id generateIds did not issue');
  const twins = await asContent.files.list({
    ...all, q: "name = 'cluster'", corpora: 'drive', driveId: 'sharedDriveRoles0001', includeItemsFromAllDrives: true,
  });
  check(twins.data.files.length === 1, 'one folder after the repeated create', twins.data);
  ok('files.generateIds: create with a generated id, a repeat answers 409 fileIdInUse and makes no second file');

  const other = await asContent.files.create({
    ...all, fields: 'id', requestBody: { name: 'other', mimeType: 'application/vnd.google-apps.folder', parents: ['sharedDriveRoles0001'] },
  });
  const file = await asContributor.files.create({
    ...all, fields: 'id', requestBody: { name: 'f.bin', parents: [made.data.id] },
    media: { mimeType: 'application/octet-stream', body: Readable.from([Buffer.from('role check\n')]) },
  }, mediaRoot);
  await expectError(asContributor.files.update({ ...all, fileId: file.data.id, requestBody: { trashed: true } }),
    403, 'insufficientFilePermissions', 'a Contributor moving a file to the trash');
  await expectError(asContributor.files.update({ ...all, fileId: file.data.id, addParents: other.data.id, removeParents: made.data.id }),
    403, 'insufficientFilePermissions', 'a Contributor moving a file within the shared drive');
  const moved = await asContent.files.update({
    ...all, fileId: file.data.id, addParents: other.data.id, removeParents: made.data.id, fields: 'id,parents',
  });
  check(moved.data.parents.join() === other.data.id, 'a Content manager moves a file within the drive', moved.data);
  await expectError(asContent.files.delete({ ...all, fileId: file.data.id }), 403, 'insufficientFilePermissions',
    'a Content manager deleting a shared-drive file for good');
  const trashed = await asContent.files.update({ ...all, fileId: other.data.id, requestBody: { trashed: true }, fields: 'id,trashed' });
  check(trashed.data.trashed === true, 'a Content manager trashes a folder', trashed.data);
  const child = await asContent.files.get({ ...all, fileId: file.data.id, fields: 'trashed,explicitlyTrashed' });
  check(child.data.trashed === true && child.data.explicitlyTrashed === false, 'a trashed folder trashes its children', child.data);
  const live = await asContent.files.list({
    ...all, q: `'${other.data.id}' in parents and trashed = false`, corpora: 'drive', driveId: 'sharedDriveRoles0001',
    includeItemsFromAllDrives: true,
  });
  check(live.data.files.length === 0, 'trashed = false leaves the trashed folder\'s children out', live.data);
  await asManager.files.delete({ ...all, fileId: other.data.id });
  await expectError(asManager.files.get({ ...all, fileId: file.data.id }), 404, 'notFound', 'a child after the Manager deleted its folder');
  await expectError(asOutsider.files.get({ ...all, fileId: made.data.id }), 404, 'notFound', 'a non-member reading a shared-drive item');
  ok('shared-drive roles: Contributor creates, Content manager moves and trashes, only a Manager deletes; non-members see nothing');
}

async function userChecks() {
  await admin('POST', '/oauth-clients', { client_id: 'ramsafe-check.apps.googleusercontent.com', client_secret: 's3cret' });
  const { refresh_token: refreshToken } = await admin('POST', '/refresh-tokens',
    { client_id: 'ramsafe-check.apps.googleusercontent.com', user: 'alice@example.com' });
  const client = wire(new OAuth2Client({
    clientId: 'ramsafe-check.apps.googleusercontent.com', clientSecret: 's3cret',
    endpoints: { oauth2TokenUrl: `${base}/token` }, forceRefreshOnFailure: true,
  }));
  client.setCredentials({ refresh_token: refreshToken });
  const drive = driveApi({ version: 'v3', auth: client, rootUrl: `${base}/` });

  const about = await drive.about.get({ fields: 'user(emailAddress),storageQuota' });
  check(about.data.user.emailAddress === 'alice@example.com', 'user about', about.data);
  const folder = await drive.files.create({ requestBody: { name: 'ramsafe', mimeType: 'application/vnd.google-apps.folder' }, fields: 'id,parents' });
  const body = Buffer.from('hello from a user\n');
  const file = await drive.files.create({
    requestBody: { name: 'hello.txt', parents: [folder.data.id] }, fields: 'id,size,md5Checksum',
    media: { mimeType: 'text/plain', body: Readable.from([body]) },
  }, mediaRoot);
  check(file.data.md5Checksum === md5(body), 'user upload md5', file.data);
  ok('user: OAuth2Client refresh-token grant, folder and upload in My Drive');

  const before = (await admin('GET', '/stats')).requests.token || 0;
  await admin('POST', '/expire-tokens');
  const list = await drive.files.list({ q: `'${folder.data.id}' in parents`, fields: 'files(id,name)' });
  check(list.data.files.length === 1 && list.data.files[0].name === 'hello.txt', 'list after refresh', list.data);
  const after = (await admin('GET', '/stats')).requests.token || 0;
  check(after === before + 1, 'one refresh after the 401', { before, after });
  ok('user: after the emulator expires all access tokens, the client refreshes once on the 401 and succeeds');

  await admin('POST', '/refresh-tokens/revoke', { refresh_token: refreshToken });
  await admin('POST', '/expire-tokens');
  try {
    await drive.files.list({});
    fail('a revoked refresh token must not work');
  } catch (e) {
    check(e.response && e.response.status === 400 && e.response.data.error === 'invalid_grant', 'revoked refresh token',
      e.response && e.response.data);
  }
  ok('user: a revoked refresh token gets 400 invalid_grant');
}

(async () => {
  await serviceAccountChecks();
  await generatedIdAndRoleChecks();
  await userChecks();
  agent.destroy();
})().catch((e) => fail(`${e.stack}\n${e.response ? JSON.stringify(e.response.data) : ''}`));
