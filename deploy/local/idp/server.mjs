// Local OAuth 2.0 server standing in for auth.atlassian.com, built on oidc-provider.
//
// Environment:
//   IDP_PORT               port to listen on (127.0.0.1)
//   IDP_ISSUER             issuer URL, e.g. http://127.0.0.1:PORT
//   IDP_CLIENTS            JSON array of {client_id, client_secret, redirect_uris}
//   IDP_ACCESS_TOKEN_TTL   access token lifetime in seconds (default 3600)
//   IDP_REQUIRED_AUDIENCE  value the `audience` authorize parameter must have
//                          (default api.atlassian.com; empty disables the check)
//
// Atlassian paths: GET /authorize, POST /oauth/token. Everything else keeps oidc-provider's
// defaults. Test control endpoints live under /__control (see controlMiddleware).

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.IDP_PORT ?? 0);
const issuer = process.env.IDP_ISSUER ?? `http://127.0.0.1:${port}`;
const accessTokenTtl = Number(process.env.IDP_ACCESS_TOKEN_TTL ?? 3600);
const requiredAudience = process.env.IDP_REQUIRED_AUDIENCE ?? 'api.atlassian.com';
const clients = JSON.parse(process.env.IDP_CLIENTS ?? '[]');

const CONFLUENCE_SCOPES = [
  'write:confluence-content',
  'read:confluence-content.all',
  'read:confluence-content.summary',
  'read:confluence-space.summary',
  'search:confluence',
  // Granular scopes, the ones Confluence REST v2 documents.
  'read:page:confluence',
  'write:page:confluence',
  'delete:page:confluence',
  'read:space:confluence',
  'read:comment:confluence',
  'write:comment:confluence',
];
const JIRA_SCOPES = ['read:jira-work', 'write:jira-work'];

// In-memory storage for every oidc-provider model. The bundled MemoryAdapter is an LRU capped
// at 1000 entries, which would silently forget grants in a long `make run`; this one also gives
// /__control/revoke-grants a way to reach every grant.
const store = new Map(); // `${model}:${id}` -> { payload, expiresAt }
const grantMembers = new Map(); // grantId -> Set of store keys
const sessionUids = new Map(); // session uid -> session id
const userCodes = new Map(); // user code -> device code id

class Adapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
    store.set(key, { payload, expiresAt });
    if (payload.grantId) {
      if (!grantMembers.has(payload.grantId)) grantMembers.set(payload.grantId, new Set());
      grantMembers.get(payload.grantId).add(key);
    }
    if (this.model === 'Session' && payload.uid) sessionUids.set(payload.uid, id);
    if (payload.userCode) userCodes.set(payload.userCode, id);
  }

  async find(id) {
    const key = this.key(id);
    const entry = store.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  async findByUid(uid) {
    const id = sessionUids.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = userCodes.get(userCode);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    revokeGrant(grantId);
  }
}

function revokeGrant(grantId) {
  for (const key of grantMembers.get(grantId) ?? []) store.delete(key);
  grantMembers.delete(grantId);
  store.delete(`Grant:${grantId}`);
}

function revokeAllGrants() {
  const grantIds = new Set(grantMembers.keys());
  for (const key of store.keys()) {
    if (key.startsWith('Grant:')) grantIds.add(key.slice('Grant:'.length));
  }
  for (const grantId of grantIds) revokeGrant(grantId);
  return grantIds.size;
}

function signingKeys() {
  // A fresh RSA key per run: only ID tokens (openid requests) are signed, with the default RS256.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { keys: [{ ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' }] };
}

const configuration = {
  adapter: Adapter,
  clients: clients.map((client) => ({
    client_id: client.client_id,
    client_secret: client.client_secret,
    redirect_uris: client.redirect_uris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  })),
  responseTypes: ['code'],
  routes: { authorization: '/authorize', token: '/oauth/token' },
  // Non-OIDC scopes must be listed here: oidc-provider only grants (and puts in the token
  // response `scope`) scopes it knows, either these or a resource server's. Listing them makes
  // the devInteractions consent add them to the grant as "missing OIDC scopes".
  scopes: ['openid', 'offline_access', ...CONFLUENCE_SCOPES, ...JIRA_SCOPES],
  claims: { openid: ['sub'] },
  extraParams: {
    async audience(_ctx, value) {
      if (requiredAudience && value !== requiredAudience) {
        throw new errors.InvalidRequest(`audience must be ${requiredAudience}`);
      }
    },
  },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
  },
  // A refresh token needs offline_access, which oidc-provider keeps only when the authorization
  // request has prompt=consent (Atlassian's flow always sends it).
  issueRefreshToken: async (_ctx, client, source) =>
    client.grantTypeAllowed('refresh_token') && source.scopes.has('offline_access'),
  // Atlassian rotates refresh tokens on every use. Reusing a rotated one (or replaying a code)
  // makes oidc-provider answer invalid_grant and revoke the whole grant.
  rotateRefreshToken: true,
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  jwks: signingKeys(),
  ttl: {
    AccessToken: accessTokenTtl,
    AuthorizationCode: 600,
    RefreshToken: 90 * 24 * 3600,
    Grant: 365 * 24 * 3600,
    Session: 14 * 24 * 3600,
    Interaction: 3600,
    IdToken: 3600,
  },
};

const provider = new Provider(issuer, configuration);

const stats = { authorization_code: 0, refresh_token: 0, total: 0 };
let faults = [];
// Atlassian accepts a rotated refresh token again for a while (10 minutes); oidc-provider never
// does. With a leeway set, a rotated token presented again within it gets the answer its first
// use got, and never reaches the provider (which would revoke the whole grant).
let reuseLeewayMs = Number(process.env.IDP_REFRESH_REUSE_LEEWAY_SECONDS ?? 0) * 1000;
const rotated = new Map(); // rotated refresh token -> { body, at }

async function readRaw(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(ctx) {
  const raw = await readRaw(ctx.req);
  return raw ? JSON.parse(raw) : {};
}

function countTokenRequest(grantType) {
  stats.total += 1;
  if (grantType in stats && grantType !== 'total') stats[grantType] += 1;
}

function validFault(fault) {
  if (!fault || typeof fault !== 'object') return false;
  if (fault.kind === 'status') return Number.isInteger(fault.status);
  if (fault.kind === 'delay') return typeof fault.seconds === 'number' && fault.seconds >= 0;
  return fault.kind === 'drop_refresh_token';
}

async function handleControl(ctx) {
  const route = `${ctx.method} ${ctx.path}`;
  switch (route) {
    case 'GET /__control/stats':
      ctx.body = { token_requests: { ...stats } };
      return;
    case 'POST /__control/stats/reset':
      stats.authorization_code = 0;
      stats.refresh_token = 0;
      stats.total = 0;
      ctx.body = { token_requests: { ...stats } };
      return;
    case 'POST /__control/faults': {
      const body = await readJson(ctx);
      const added = body.token ?? [];
      if (!Array.isArray(added) || !added.every(validFault)) {
        ctx.status = 400;
        ctx.body = { error: 'token must be a list of {kind: status|delay|drop_refresh_token}' };
        return;
      }
      faults.push(...added);
      ctx.body = { queued: faults.length };
      return;
    }
    case 'DELETE /__control/faults':
      faults = [];
      ctx.body = { queued: 0 };
      return;
    case 'POST /__control/refresh-reuse-leeway': {
      const { seconds } = await readJson(ctx);
      if (typeof seconds !== 'number' || seconds < 0) {
        ctx.status = 400;
        ctx.body = { error: 'seconds must be a number >= 0' };
        return;
      }
      reuseLeewayMs = seconds * 1000;
      rotated.clear();
      ctx.body = { seconds };
      return;
    }
    case 'POST /__control/revoke-grants':
      ctx.body = { revoked: revokeAllGrants() };
      return;
    case 'POST /__control/introspect': {
      const { token } = await readJson(ctx);
      const found = typeof token === 'string' ? await provider.AccessToken.find(token) : undefined;
      ctx.body = found
        ? {
            active: true,
            scope: found.scope ?? '',
            client_id: found.clientId,
            sub: found.accountId,
            exp: found.exp,
          }
        : { active: false };
      return;
    }
    default:
      ctx.status = 404;
      ctx.body = { error: `no control route ${route}` };
  }
}

function replayWithinLeeway(ctx, form) {
  if (form.get('grant_type') !== 'refresh_token') return false;
  const seen = rotated.get(form.get('refresh_token'));
  if (!seen || Date.now() - seen.at > reuseLeewayMs) return false;
  countTokenRequest('refresh_token');
  ctx.status = 200;
  ctx.body = seen.body;
  return true;
}

async function tokenWithFaults(ctx, next) {
  let form;
  if (reuseLeewayMs > 0) {
    // Read the form here to see the presented token; the provider then parses the same text.
    const raw = await readRaw(ctx.req);
    ctx.request.body = raw;
    form = new URLSearchParams(raw);
    if (replayWithinLeeway(ctx, form)) return;
  }
  const fault = faults.shift();
  if (fault?.kind === 'status') {
    // The provider never sees this request, so read the grant type here.
    const presented = form ?? new URLSearchParams(await readRaw(ctx.req));
    countTokenRequest(presented.get('grant_type'));
    ctx.status = fault.status;
    for (const [name, value] of Object.entries(fault.headers ?? {})) ctx.set(name, String(value));
    ctx.body = fault.body ?? { error: 'temporarily_unavailable' };
    return;
  }

  try {
    await next();
  } finally {
    countTokenRequest(ctx.oidc?.body?.grant_type);
  }

  if (form?.get('grant_type') === 'refresh_token' && ctx.status === 200 && ctx.body?.access_token) {
    rotated.set(form.get('refresh_token'), { body: { ...ctx.body }, at: Date.now() });
  }

  if (fault?.kind === 'delay') {
    // Sleep after the provider answered: the grant (and any rotation) has happened even if the
    // caller times out before it reads the response.
    await sleep(fault.seconds * 1000);
  } else if (fault?.kind === 'drop_refresh_token' && ctx.body && typeof ctx.body === 'object') {
    delete ctx.body.refresh_token;
  }
}

provider.use(async (ctx, next) => {
  if (ctx.path.startsWith('/__control/')) {
    try {
      await handleControl(ctx);
    } catch (error) {
      ctx.status = 400;
      ctx.body = { error: String(error?.message ?? error) };
    }
    return;
  }
  if (ctx.method === 'POST' && ctx.path === '/oauth/token') {
    await tokenWithFaults(ctx, next);
    return;
  }
  await next();
});

provider.on('server_error', (_ctx, error) => console.error('server_error', error));

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`idp listening on ${issuer} (port ${port})`);
});
// A port that cannot be bound ends the process, so whoever started it learns at once.
server.on('error', (error) => {
  console.error('idp cannot listen:', error?.message ?? error);
  process.exit(1);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
