'use strict';
// Partial responses: the `fields` parameter ("nextPageToken,files(id,name)",
// "files/id", "id,size,md5Checksum", "*"). Field names are checked against the
// real Drive v3 schema so a typo in the client gets Google's 400 rather than a
// silently missing field; fields the emulator does not model are accepted and
// simply absent, as Google omits unset fields.
const { driveFail } = require('./http_util');

// Every top-level field of Drive v3's File resource (developers.google.com
// reference). Only some are modelled (see files.js); the rest are valid but unset.
const FILE_FIELDS = [
  'kind', 'id', 'name', 'mimeType', 'description', 'starred', 'trashed', 'explicitlyTrashed',
  'parents', 'properties', 'appProperties', 'spaces', 'version', 'webContentLink', 'webViewLink',
  'iconLink', 'hasThumbnail', 'thumbnailLink', 'thumbnailVersion', 'viewedByMe', 'viewedByMeTime',
  'createdTime', 'modifiedTime', 'modifiedByMeTime', 'modifiedByMe', 'sharedWithMeTime', 'sharingUser',
  'owners', 'teamDriveId', 'driveId', 'lastModifyingUser', 'shared', 'ownedByMe', 'capabilities',
  'viewersCanCopyContent', 'copyRequiresWriterPermission', 'writersCanShare', 'permissions',
  'permissionIds', 'hasAugmentedPermissions', 'folderColorRgb', 'originalFilename', 'fullFileExtension',
  'fileExtension', 'md5Checksum', 'sha1Checksum', 'sha256Checksum', 'size', 'quotaBytesUsed',
  'headRevisionId', 'contentHints', 'imageMediaMetadata', 'videoMediaMetadata', 'isAppAuthorized',
  'exportLinks', 'shortcutDetails', 'contentRestrictions', 'resourceKey', 'linkShareMetadata',
  'labelInfo', 'trashedTime', 'trashingUser', 'inheritedPermissionsDisabled', 'downloadRestrictions',
];
const ANY = '*any*'; // a subtree whose keys are free-form (appProperties, capabilities ...)
const FILE = Object.fromEntries(FILE_FIELDS.map((f) => [f, ANY]));
const SCHEMAS = {
  file: FILE,
  fileList: { kind: ANY, nextPageToken: ANY, incompleteSearch: ANY, files: FILE },
  about: {
    kind: ANY, user: ANY, storageQuota: ANY, driveThemes: ANY, canCreateDrives: ANY,
    importFormats: ANY, exportFormats: ANY, appInstalled: ANY, maxImportSizes: ANY,
    maxUploadSize: ANY, folderColorPalette: ANY, teamDriveThemes: ANY, canCreateTeamDrives: ANY,
  },
};

const invalidSelection = (what) =>
  driveFail(400, `Invalid field selection ${what}`, 'invalidParameter', { location: 'fields' });

// Parses a mask into a tree: {name: subtree | true}. `*` is kept as a key.
function parseMask(src) {
  let i = 0;
  const name = () => {
    const m = /^(\*|[A-Za-z_][A-Za-z0-9_]*)/.exec(src.slice(i));
    if (!m) throw invalidSelection(src.slice(i) || src);
    i += m[0].length;
    return m[0];
  };
  const list = (depth) => {
    const tree = {};
    for (;;) {
      while (src[i] === ' ') i++;
      // path a/b/c: nest one level per segment
      const path = [name()];
      while (src[i] === '/') { i++; path.push(name()); }
      let sub = true;
      if (src[i] === '(') {
        i++;
        sub = list(depth + 1);
        if (src[i] !== ')') throw invalidSelection(src);
        i++;
      }
      for (let k = path.length - 1; k > 0; k--) sub = { [path[k]]: sub };
      tree[path[0]] = merge(tree[path[0]], sub);
      while (src[i] === ' ') i++;
      if (src[i] === ',') { i++; continue; }
      if (depth > 0 && src[i] === ')') return tree;
      if (depth === 0 && i === src.length) return tree;
      throw invalidSelection(src);
    }
  };
  return list(0);
}

function merge(a, b) {
  if (a === undefined) return b;
  if (a === true || b === true) return true;
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = merge(out[k], v);
  return out;
}

function validate(tree, schema) {
  if (tree === true || schema === ANY) return;
  for (const [k, sub] of Object.entries(tree)) {
    if (k === '*') continue;
    if (!(k in schema)) throw invalidSelection(k);
    validate(sub, schema[k]);
  }
}

function project(value, tree) {
  if (tree === true || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => project(v, tree));
  if (tree['*']) return value;
  const out = {};
  for (const [k, sub] of Object.entries(tree)) {
    if (value[k] !== undefined) out[k] = project(value[k], sub);
  }
  return out;
}

// Applies `fields` (or the method's default mask) to a response object.
function applyFields(obj, fieldsParam, schemaName, defaultMask) {
  const mask = fieldsParam === null || fieldsParam === undefined || fieldsParam === '' ? defaultMask : fieldsParam;
  const tree = parseMask(mask);
  validate(tree, SCHEMAS[schemaName]);
  return project(obj, tree);
}

module.exports = { applyFields, parseMask };
