'use strict';
// OAuth 2.0 as Google's token server speaks it: the service-account JWT bearer
// grant, the refresh-token grant, and the device flow ("TV and limited-input
// devices"). Errors use Google's OAuth error bodies and status codes, which differ
// from the Drive API's JSON error envelope.
const crypto = require('crypto');
const { HttpError } = require('./http_util');

const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const DEFAULT_SCOPE = 'https://www.googleapis.com/auth/drive';
// Google tolerates some clock skew on iat; so do we.
const CLOCK_SKEW_S = 300;

const oauthError = (status, error, description) =>
  new HttpError(status, description === undefined ? { error } : { error, error_description: description });

function randomToken(prefix, bytes = 24) {
  return prefix + crypto.randomBytes(bytes).toString('base64url');
}

function b64urlJson(part, what) {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw oauthError(400, 'invalid_grant', `Invalid JWT: ${what} is not valid JSON.`);
  }
}

class TokenService {
  constructor(settings) {
    this.settings = settings; // shared, mutable: token_lifetime, device_interval
    this.serviceAccounts = new Map(); // client_email -> KeyObject
    this.clients = new Map(); // client_id -> client_secret
    this.refreshTokens = new Map(); // token -> {clientId, user, scope}
    this.accessTokens = new Map(); // token -> {principal, kind, scope, expiresAt}
    this.deviceCodes = new Map(); // device_code -> state
  }

  // ---- admin side ------------------------------------------------------------
  addServiceAccount(email, publicKeyPem) {
    if (!email || !publicKeyPem) throw oauthError(400, 'invalid_request', 'client_email and public_key_pem are required');
    let key;
    try {
      key = crypto.createPublicKey(publicKeyPem); // accepts a certificate or a key
    } catch (e) {
      throw oauthError(400, 'invalid_request', `public_key_pem: ${e.message}`);
    }
    this.serviceAccounts.set(email, key);
  }

  addClient(id, secret) {
    if (!id || secret === undefined) throw oauthError(400, 'invalid_request', 'client_id and client_secret are required');
    this.clients.set(id, secret);
  }

  addRefreshToken({ client_id: clientId, user, refresh_token: given, scope }) {
    if (!this.clients.has(clientId)) throw oauthError(400, 'invalid_request', `unknown client_id ${clientId}`);
    if (!user) throw oauthError(400, 'invalid_request', 'user is required');
    const token = given || randomToken('1//emu-');
    this.refreshTokens.set(token, { clientId, user, scope: scope || DEFAULT_SCOPE });
    return token;
  }

  revokeRefreshTokens({ refresh_token: token, all }) {
    if (all) {
      const n = this.refreshTokens.size;
      this.refreshTokens.clear();
      return n;
    }
    return this.refreshTokens.delete(token) ? 1 : 0;
  }

  expireAccessTokens() {
    const n = this.accessTokens.size;
    this.accessTokens.clear();
    return n;
  }

  deviceDecision(userCode, approved, user) {
    for (const d of this.deviceCodes.values()) {
      if (d.userCode === userCode) {
        d.state = approved ? 'approved' : 'denied';
        d.user = user || 'user@example.com';
        return true;
      }
    }
    return false;
  }

  // ---- access tokens ---------------------------------------------------------
  issueAccessToken(principal, kind, scope) {
    const lifetime = Number(this.settings.token_lifetime);
    const token = randomToken('ya29.emu-');
    this.accessTokens.set(token, { principal, kind, scope, expiresAt: Date.now() + lifetime * 1000 });
    return { access_token: token, expires_in: lifetime, token_type: 'Bearer' };
  }

  // Returns the token's record or null when missing, unknown or expired.
  authenticate(authHeader) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authHeader || '');
    if (!m) return null;
    const rec = this.accessTokens.get(m[1]);
    if (!rec) return null;
    if (rec.expiresAt <= Date.now()) {
      this.accessTokens.delete(m[1]);
      return null;
    }
    return rec;
  }

  // ---- POST /token -----------------------------------------------------------
  token(form, ownTokenUrl) {
    switch (form.grant_type) {
      case JWT_GRANT: return this.jwtGrant(form.assertion, ownTokenUrl);
      case 'refresh_token': return this.refreshGrant(form);
      case DEVICE_GRANT: return this.deviceGrant(form);
      case undefined: throw oauthError(400, 'unsupported_grant_type', 'Invalid grant_type: ');
      default: throw oauthError(400, 'unsupported_grant_type', `Invalid grant_type: ${form.grant_type}`);
    }
  }

  jwtGrant(assertion, ownTokenUrl) {
    const parts = (assertion || '').split('.');
    if (parts.length !== 3) throw oauthError(400, 'invalid_grant', 'Invalid JWT: Malformed.');
    const header = b64urlJson(parts[0], 'header');
    const claims = b64urlJson(parts[1], 'claim set');
    if (header.alg !== 'RS256') throw oauthError(400, 'invalid_grant', 'Invalid JWT Signature.');
    const key = this.serviceAccounts.get(claims.iss);
    if (!key) throw oauthError(400, 'invalid_grant', 'Invalid grant: account not found');
    const ok = crypto.verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`),
      key, Buffer.from(parts[2], 'base64url'));
    if (!ok) throw oauthError(400, 'invalid_grant', 'Invalid JWT Signature.');
    if (claims.aud !== ownTokenUrl && claims.aud !== GOOGLE_TOKEN_URL) {
      throw oauthError(400, 'invalid_grant',
        `Invalid JWT: Failed audience check. The right audience is ${ownTokenUrl}`);
    }
    const now = Date.now() / 1000;
    const { iat, exp } = claims;
    if (typeof iat !== 'number' || typeof exp !== 'number' || exp <= now || iat > now + CLOCK_SKEW_S ||
        exp - iat > 3600) {
      throw oauthError(400, 'invalid_grant',
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. ' +
        'Check your iat and exp values in the JWT claim.');
    }
    if (!claims.scope) {
      throw oauthError(400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    }
    // Domain-wide delegation (`sub`) is accepted without an allow-list: the token
    // then acts as that user, as Google's would once an admin granted it.
    if (claims.sub) return this.issueAccessToken(claims.sub, 'user', claims.scope);
    return this.issueAccessToken(claims.iss, 'service_account', claims.scope);
  }

  checkClient(form) {
    const secret = this.clients.get(form.client_id);
    if (secret === undefined || secret !== form.client_secret) {
      throw oauthError(401, 'invalid_client', 'Unauthorized');
    }
  }

  refreshGrant(form) {
    this.checkClient(form);
    const rec = this.refreshTokens.get(form.refresh_token);
    if (!rec || rec.clientId !== form.client_id) {
      throw oauthError(400, 'invalid_grant', 'Token has been expired or revoked.');
    }
    const out = this.issueAccessToken(rec.user, 'user', rec.scope);
    return { ...out, scope: rec.scope };
  }

  // ---- device flow -----------------------------------------------------------
  deviceCode(form) {
    if (!this.clients.has(form.client_id)) throw oauthError(401, 'invalid_client', 'The OAuth client was not found.');
    const letters = 'BCDFGHJKLMNPQRSTVWXZ';
    const pick = () => Array.from(crypto.randomBytes(4), (b) => letters[b % letters.length]).join('');
    const userCode = `${pick()}-${pick()}`;
    const deviceCode = randomToken('AH-emu-', 32);
    const interval = Number(this.settings.device_interval);
    this.deviceCodes.set(deviceCode, {
      userCode, clientId: form.client_id, scope: form.scope || DEFAULT_SCOPE,
      expiresAt: Date.now() + 1800 * 1000, interval, lastPoll: 0, state: 'pending', user: null,
    });
    return {
      device_code: deviceCode, user_code: userCode,
      verification_url: 'https://www.google.com/device', expires_in: 1800, interval,
    };
  }

  deviceGrant(form) {
    this.checkClient(form);
    const d = this.deviceCodes.get(form.device_code);
    if (!d || d.clientId !== form.client_id) throw oauthError(400, 'invalid_grant', 'Malformed auth code.');
    const now = Date.now();
    if (now >= d.expiresAt) throw oauthError(400, 'expired_token', 'Expired device code.');
    // Polling faster than the advertised interval earns slow_down (10% slack for
    // timer jitter in well-behaved clients).
    const tooSoon = d.lastPoll && now - d.lastPoll < d.interval * 900;
    d.lastPoll = now;
    if (tooSoon) throw oauthError(403, 'slow_down', 'Forbidden');
    if (d.state === 'denied') throw oauthError(403, 'access_denied', 'Forbidden');
    if (d.state === 'pending') throw oauthError(428, 'authorization_pending', 'Precondition Required');
    this.deviceCodes.delete(form.device_code); // a device code is exchanged once
    const refresh = this.addRefreshToken({ client_id: d.clientId, user: d.user, scope: d.scope });
    return { ...this.issueAccessToken(d.user, 'user', d.scope), refresh_token: refresh, scope: d.scope };
  }

  expireDeviceCodes() {
    for (const d of this.deviceCodes.values()) d.expiresAt = 0;
  }
}

module.exports = { TokenService, oauthError };
