// The benchmark peer: node-oidc-provider configured like idp (see docs/benchmarks.md).
//
// One confidential client (client_secret_basic), authorization code with PKCE S256,
// refresh tokens rotated on every use, RS256 ID tokens, opaque access tokens, every
// model stored in Redis (the library's Redis adapter pattern), and a login page that
// verifies an Argon2id hash with idp's parameters through the npm `argon2` package.
// Runs one process per core (node:cluster), as idp runs one gunicorn worker per core.
//
// Usage: node provider.mjs CONFIG.json (written by bench/peer.py).

import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';

import argon2 from 'argon2';
import Redis from 'ioredis';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

// Workers only: the primary just forks and watches.
const redis = cluster.isPrimary ? null : new Redis(config.redisUrl, { keyPrefix: 'oidc:' });

// Models consumed once (codes, refresh tokens) are hashes so that `consume` can flag them.
const CONSUMABLE = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest']);
const GRANTABLE = new Set([...CONSUMABLE, 'AccessToken']);

// The adapter of node-oidc-provider's example/adapters/redis.js, with ioredis.
class RedisAdapter {
  constructor(name) {
    this.name = name;
  }

  key(id) {
    return `${this.name}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const multi = redis.multi();
    if (CONSUMABLE.has(this.name)) {
      multi.hset(key, { payload: JSON.stringify(payload) });
    } else {
      multi.set(key, JSON.stringify(payload));
    }
    if (expiresIn) multi.expire(key, expiresIn);
    if (GRANTABLE.has(this.name) && payload.grantId) {
      const grantKey = `grant:${payload.grantId}`;
      multi.rpush(grantKey, key);
      const ttl = await redis.ttl(grantKey);
      if (expiresIn > ttl) multi.expire(grantKey, expiresIn);
    }
    if (payload.uid) {
      multi.set(`uid:${payload.uid}`, id);
      if (expiresIn) multi.expire(`uid:${payload.uid}`, expiresIn);
    }
    await multi.exec();
  }

  async find(id) {
    const data = CONSUMABLE.has(this.name)
      ? await redis.hgetall(this.key(id))
      : await redis.get(this.key(id));
    if (!data || (typeof data === 'object' && !data.payload)) return undefined;
    if (typeof data === 'string') return JSON.parse(data);
    const { payload, ...rest } = data;
    return { ...rest, ...JSON.parse(payload) };
  }

  async findByUid(uid) {
    const id = await redis.get(`uid:${uid}`);
    return id ? this.find(id) : undefined;
  }

  async findByUserCode() {
    return undefined;
  }

  async consume(id) {
    await redis.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
  }

  async destroy(id) {
    await redis.del(this.key(id));
  }

  async revokeByGrantId(grantId) {
    const grantKey = `grant:${grantId}`;
    const keys = await redis.lrange(grantKey, 0, -1);
    const multi = redis.multi();
    // Keys in the list already carry the prefix-less model key; ioredis adds the prefix.
    keys.forEach((key) => multi.del(key));
    multi.del(grantKey);
    await multi.exec();
  }
}

async function account(identifier) {
  const raw = await redis.get(`account:${identifier}`);
  return raw ? JSON.parse(raw) : undefined;
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
      if (body.length > 65536) reject(new Error('body too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

const LOGIN_PAGE = (uid) => `<!doctype html><html lang="fr"><head><meta charset="utf-8">
<title>Connexion</title></head><body><form method="post" action="/interaction/${uid}/login">
<label>Identifiant <input name="identifier"></label>
<label>Mot de passe <input type="password" name="password"></label>
<button>Se connecter</button></form></body></html>`;

function serve() {
  const client = config.client;
  const provider = new Provider(config.issuer, {
    adapter: RedisAdapter,
    clients: [{
      client_id: client.id,
      client_secret: client.secret,
      redirect_uris: [client.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    }],
    jwks: { keys: [config.jwk] },
    cookies: { keys: config.cookieKeys },
    claims: {
      openid: ['sub'],
      profile: ['given_name', 'family_name'],
      email: ['email', 'email_verified'],
    },
    features: {
      devInteractions: { enabled: false },
      introspection: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
    },
    pkce: { required: () => true },
    // idp issues a refresh token to every client allowed the grant, and rotates it on
    // every use; node-oidc-provider would otherwise need prompt=consent and rotate late.
    issueRefreshToken: async (ctx, c) => c.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    // First-party client: no consent page (idp's first_party flag), the grant is implied.
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) {
        const existing = await ctx.oidc.provider.Grant.find(grantId);
        if (existing) return existing;
      }
      if (!ctx.oidc.session.accountId) return undefined;
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(ctx.oidc.params.scope);
      await grant.save();
      return grant;
    },
    findAccount: async (ctx, sub) => {
      const found = await account(`sub:${sub}`);
      if (!found) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...found.claims }) };
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    // idp's lifetimes (idp/config.py); the bench lengthens codes on both sides alike.
    ttl: {
      AuthorizationCode: config.ttl.code,
      AccessToken: config.ttl.accessToken,
      IdToken: config.ttl.idToken,
      RefreshToken: config.ttl.refreshIdle,
      Grant: config.ttl.refreshAbsolute,
      Session: config.ttl.session,
      Interaction: 3600,
    },
    renderError: async (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
  });

  provider.use(async (ctx, next) => {
    const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(ctx.path);
    if (!match) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (!match[2] && ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = LOGIN_PAGE(details.uid);
      return undefined;
    }
    if (match[2] && ctx.method === 'POST') {
      const form = await readForm(ctx.req);
      const found = await account(form.get('identifier') || '');
      // Unknown identifiers cost a hash too, as in idp.
      const ok = await argon2.verify(found ? found.hash : config.dummyHash,
        form.get('password') || '');
      if (!found || !ok) {
        ctx.status = 401;
        ctx.type = 'html';
        ctx.body = LOGIN_PAGE(details.uid);
        return undefined;
      }
      ctx.respond = false;
      await provider.interactionFinished(ctx.req, ctx.res, {
        login: { accountId: found.sub, acr: 'eidas1', amr: ['pwd'] },
      }, { mergeWithLastSubmission: false });
      return undefined;
    }
    return next();
  });

  provider.listen(config.port, '127.0.0.1');
}

if (cluster.isPrimary) {
  for (let i = 0; i < config.workers; i += 1) cluster.fork();
  cluster.on('exit', (worker, code) => {
    // A worker dying mid-run would skew the figures: stop everything, loudly.
    console.error(`worker ${worker.process.pid} exited with ${code}`);
    process.exit(1);
  });
} else {
  serve();
}
