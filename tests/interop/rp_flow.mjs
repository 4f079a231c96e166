#!/usr/bin/env node
// Relying-party side of the interoperability test.
//
// Drives the idp OpenID Provider with openid-client (an independent,
// certified RP library) and prints ONE JSON object on stdout describing
// everything that happened. The Python tests (test_openid_client.py) assert on
// that JSON; this script only records outcomes, it does not judge policy.
//
// Usage:
//   node rp_flow.mjs '<json>'        (or the same JSON in $RP_FLOW_ARGS)
//   node rp_flow.mjs --self-test     (checks the HTML form parser and the
//                                     cookie jar; needs no server)
//
// JSON arguments:
//   issuer, client_id, client_secret (absent => public client, auth "none"),
//   token_endpoint_auth_method (client_secret_basic (default) | client_secret_post),
//   redirect_uri, post_logout_redirect_uri, identifier, password, scope.
//
// The "browser" part uses plain fetch with redirect: "manual" and a tiny
// cookie jar: it follows redirects, fills the login form, accepts consent
// and confirms logout, and stops as soon as a Location points at the RP's
// redirect URI (which is never fetched: nothing serves it).
//
// Exit status: 0 when the flow ran to the end (individual outcomes, expected
// errors included, are recorded in the JSON); 1 with {"ok": false, "step",
// "error", "code", "cause", ...} when a step the rest depends on failed.

import * as client from 'openid-client';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';

const HTTP_TIMEOUT_MS = 20_000;
const MAX_HOPS = 25;
const EXCERPT_CHARS = 800;

// ---------------------------------------------------------------------------
// HTML helpers (deliberately small and generic: no dependency on the IdP's
// markup beyond "a POST form with named inputs and submit buttons").
// ---------------------------------------------------------------------------

const NAMED_ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

export function decodeEntities(text) {
  return text.replace(/&(#[xX][0-9a-fA-F]+|#[0-9]+|[a-zA-Z][a-zA-Z0-9]*);/g, (whole, ent) => {
    if (ent[0] === '#') {
      const hex = ent[1] === 'x' || ent[1] === 'X';
      const codePoint = parseInt(ent.slice(hex ? 2 : 1), hex ? 16 : 10);
      try {
        return String.fromCodePoint(codePoint);
      } catch {
        return whole;
      }
    }
    const value = NAMED_ENTITIES[ent.toLowerCase()];
    return value === undefined ? whole : value;
  });
}

/** Parses the attributes of a start tag (the text between the tag name and ">"). */
export function parseAttributes(source) {
  const attrs = {};
  const re = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  let m;
  while ((m = re.exec(source)) !== null) {
    const name = m[1].toLowerCase();
    if (Object.hasOwn(attrs, name)) continue; // the first occurrence wins, as in browsers
    const raw = m[2] ?? m[3] ?? m[4];
    attrs[name] = raw === undefined ? '' : decodeEntities(raw);
  }
  return attrs;
}

function stripNonMarkup(html) {
  return html
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<(script|style|template)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, '');
}

const NON_DATA_INPUT_TYPES = new Set(['submit', 'image', 'button', 'reset', 'file']);

/**
 * Returns every <form> of the page:
 *   { method, action (absolute), fields: [[name, value]...] (what a browser
 *     would submit, submit buttons excluded), hidden: {name: value},
 *     inputNames: [...], submitters: [{name, value}] }
 * An absent or empty action means the current page URL.
 */
export function parseForms(html, pageUrl) {
  const forms = [];
  const cleaned = stripNonMarkup(html);
  for (const formMatch of cleaned.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form\s*>/gi)) {
    const formAttrs = parseAttributes(formMatch[1]);
    const body = formMatch[2];
    const actionUrl = new URL((formAttrs.action ?? '').trim() || pageUrl, pageUrl);
    actionUrl.hash = ''; // the fragment is never sent
    const form = {
      method: (formAttrs.method || 'get').trim().toLowerCase(),
      action: actionUrl.href,
      fields: [],
      hidden: {},
      inputNames: [],
      submitters: [],
    };
    const controlRe = /<(input|button|textarea|select)\b([^>]*)>/gi;
    let m;
    while ((m = controlRe.exec(body)) !== null) {
      const tag = m[1].toLowerCase();
      const attrs = parseAttributes(m[2]);
      if (!attrs.name || Object.hasOwn(attrs, 'disabled')) continue;
      if (tag === 'button') {
        const type = (attrs.type || 'submit').toLowerCase();
        if (type === 'submit') form.submitters.push({ name: attrs.name, value: attrs.value ?? '' });
        continue;
      }
      if (tag === 'textarea') {
        const end = body.indexOf('</textarea', controlRe.lastIndex);
        const content = end === -1 ? '' : body.slice(controlRe.lastIndex, end);
        form.inputNames.push(attrs.name);
        form.fields.push([attrs.name, decodeEntities(content.replace(/^\r?\n/, ''))]);
        continue;
      }
      if (tag === 'select') {
        // Submit the selected option (or the first one), like a browser.
        const end = body.indexOf('</select', controlRe.lastIndex);
        const options = [...body.slice(controlRe.lastIndex, end === -1 ? undefined : end)
          .matchAll(/<option\b([^>]*)>([^<]*)/gi)].map((o) => {
          const oa = parseAttributes(o[1]);
          return { value: oa.value ?? decodeEntities(o[2]).trim(), selected: Object.hasOwn(oa, 'selected') };
        });
        const chosen = options.find((o) => o.selected) ?? options[0];
        form.inputNames.push(attrs.name);
        if (chosen) form.fields.push([attrs.name, chosen.value]);
        continue;
      }
      const type = (attrs.type || 'text').toLowerCase();
      if (type === 'submit' || type === 'image') {
        form.submitters.push({ name: attrs.name, value: attrs.value ?? '' });
        continue;
      }
      if (NON_DATA_INPUT_TYPES.has(type)) continue;
      form.inputNames.push(attrs.name);
      if ((type === 'checkbox' || type === 'radio') && !Object.hasOwn(attrs, 'checked')) continue;
      const value = attrs.value ?? (type === 'checkbox' || type === 'radio' ? 'on' : '');
      form.fields.push([attrs.name, value]);
      if (type === 'hidden') form.hidden[attrs.name] = value;
    }
    forms.push(form);
  }
  return forms;
}

/**
 * Builds an application/x-www-form-urlencoded body from a parsed form:
 * the form's own fields, with `overrides` replacing (or adding) values, and
 * the chosen submit button's name=value, if any.
 */
export function buildFormBody(form, overrides = {}, submitter = null) {
  const body = new URLSearchParams();
  const used = new Set();
  for (const [name, value] of form.fields) {
    if (Object.hasOwn(overrides, name)) {
      if (used.has(name)) continue;
      used.add(name);
      body.append(name, overrides[name]);
    } else {
      body.append(name, value);
    }
  }
  for (const [name, value] of Object.entries(overrides)) {
    if (!used.has(name)) body.append(name, value);
  }
  if (submitter && submitter.name) body.append(submitter.name, submitter.value ?? '');
  return body;
}

/** Visible text of a page, for error messages. */
export function textExcerpt(html, max = EXCERPT_CHARS) {
  const text = decodeEntities(stripNonMarkup(html).replace(/<[^>]+>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

/** The <main> (else <body>) markup of a page, the part worth showing in errors. */
function mainMarkup(html) {
  const m = /<main\b[^>]*>([\s\S]*?)<\/main\s*>/i.exec(html) ?? /<body\b[^>]*>([\s\S]*)/i.exec(html);
  return (m ? m[1] : html).replace(/\n\s*\n+/g, '\n').trim();
}

// ---------------------------------------------------------------------------
// Cookie jar (RFC 6265, simplified: host-only cookies, path matching,
// expiry through Max-Age / Expires; Secure/SameSite are ignored because the
// test issuer is plain http on the loopback interface).
// ---------------------------------------------------------------------------

function defaultCookiePath(url) {
  const path = url.pathname;
  if (!path.startsWith('/')) return '/';
  const idx = path.lastIndexOf('/');
  return idx <= 0 ? '/' : path.slice(0, idx);
}

function pathMatches(requestPath, cookiePath) {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

export class CookieJar {
  constructor() {
    this.cookies = []; // { name, value, host, path, expiresAt (ms or null) }
  }

  /** Stores the cookies of a response (`setCookies`: array of Set-Cookie values). */
  store(requestUrl, setCookies, now = Date.now()) {
    const url = new URL(requestUrl);
    for (const header of setCookies ?? []) {
      const [pair, ...attributeParts] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (!name) continue;
      let path = null;
      let maxAge = null;
      let expires = null;
      for (const part of attributeParts) {
        const aeq = part.indexOf('=');
        const key = (aeq === -1 ? part : part.slice(0, aeq)).trim().toLowerCase();
        const val = aeq === -1 ? '' : part.slice(aeq + 1).trim();
        if (key === 'path' && val.startsWith('/')) path = val;
        else if (key === 'max-age' && /^-?\d+$/.test(val)) maxAge = parseInt(val, 10);
        else if (key === 'expires') {
          const t = Date.parse(val);
          if (!Number.isNaN(t)) expires = t;
        }
      }
      path ??= defaultCookiePath(url);
      let expiresAt = null;
      if (maxAge !== null) expiresAt = maxAge <= 0 ? 0 : now + maxAge * 1000;
      else if (expires !== null) expiresAt = expires;
      this.cookies = this.cookies.filter(
        (c) => !(c.name === name && c.host === url.host && c.path === path),
      );
      if (expiresAt !== null && expiresAt <= now) continue; // deletion
      this.cookies.push({ name, value, host: url.host, path, expiresAt });
    }
  }

  /** The Cookie request header for `requestUrl`, or '' when none applies. */
  header(requestUrl, now = Date.now()) {
    const url = new URL(requestUrl);
    return this.cookies
      .filter((c) => c.host === url.host && pathMatches(url.pathname, c.path))
      .filter((c) => c.expiresAt === null || c.expiresAt > now)
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  names() {
    return this.cookies.map((c) => c.name).sort();
  }
}

// ---------------------------------------------------------------------------
// Minimal browser: fetch + cookie jar + redirects + form submission.
// ---------------------------------------------------------------------------

export class BrowserError extends Error {
  constructor(message, details) {
    super(message);
    this.name = 'BrowserError';
    this.code = 'BROWSER_FLOW';
    this.cause = details;
  }
}

async function httpRequest(jar, url, { method = 'GET', body, referer } = {}) {
  const headers = {
    accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8',
    'accept-language': 'fr-FR,fr;q=0.9,en;q=0.5',
    'user-agent': 'idp-interop-rp (openid-client)',
  };
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  if (referer) headers.referer = referer;
  if (body !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    if (referer) headers.origin = new URL(referer).origin;
  }
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : body.toString(),
    redirect: 'manual',
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  jar.store(url, response.headers.getSetCookie());
  const text = await response.text();
  return {
    status: response.status,
    location: response.headers.get('location'),
    contentType: response.headers.get('content-type') ?? '',
    text,
  };
}

/**
 * Walks from `startUrl` until a redirect's Location starts with `stopPrefix`.
 * Options: identifier/password (login form), decisions (accepted values for
 * the `decision` submit button, in order of preference), interactive (when
 * false any HTML page is an error: used for prompt=none).
 */
async function browse(jar, startUrl, { stopPrefix, identifier, password, decisions = [], interactive = true }) {
  const trace = [];
  const seen = { loginForms: [], decisionForms: [] };
  const postedLogin = new Set();
  const postedDecision = new Map();
  let request = { method: 'GET', url: startUrl, body: undefined, referer: undefined };

  for (let hop = 0; hop < MAX_HOPS; hop += 1) {
    const res = await httpRequest(jar, request.url, request);
    const entry = { method: request.method, url: request.url, status: res.status };
    if (res.location) entry.location = res.location;
    trace.push(entry);
    const fail = (message, extra = {}) => {
      throw new BrowserError(message, {
        trace,
        status: res.status,
        content_type: res.contentType,
        text_excerpt: textExcerpt(res.text),
        html_excerpt: mainMarkup(res.text).slice(0, EXCERPT_CHARS),
        ...extra,
      });
    };

    if (res.status >= 300 && res.status < 400) {
      if (!res.location) fail(`HTTP ${res.status} without a Location header`);
      const next = new URL(res.location, request.url).href;
      if (next.startsWith(stopPrefix)) {
        return { finalUrl: next, trace, seen };
      }
      request = res.status === 307 || res.status === 308
        ? { ...request, url: next }
        : { method: 'GET', url: next, body: undefined, referer: request.referer };
      continue;
    }

    if (res.status !== 200) fail(`unexpected HTTP ${res.status} from ${request.method} ${request.url}`);
    if (!/html/i.test(res.contentType)) fail(`unexpected content type ${JSON.stringify(res.contentType)}`);
    if (!interactive) fail('an HTML page was shown where the IdP must answer without interaction');

    const forms = parseForms(res.text, request.url).filter((f) => f.method === 'post');
    const loginForm = forms.find(
      (f) => f.inputNames.includes('password') || f.inputNames.includes('identifier'),
    );
    const decisionForm = forms.find((f) => f.submitters.some((s) => s.name === 'decision'));

    if (loginForm) {
      const kind = ['identifier', 'password'].filter((n) => loginForm.inputNames.includes(n)).join('+');
      if (postedLogin.has(kind)) fail('the login form was shown again after submitting it (credentials rejected?)');
      postedLogin.add(kind);
      seen.loginForms.push({
        url: request.url,
        action: loginForm.action,
        hidden_fields: Object.keys(loginForm.hidden).sort(),
        input_names: loginForm.inputNames,
      });
      const overrides = {};
      if (loginForm.inputNames.includes('identifier')) overrides.identifier = identifier;
      if (loginForm.inputNames.includes('password')) overrides.password = password;
      const submitter = loginForm.submitters.length === 1 ? loginForm.submitters[0] : null;
      request = {
        method: 'POST',
        url: loginForm.action,
        body: buildFormBody(loginForm, overrides, submitter),
        referer: request.url,
      };
      continue;
    }

    if (decisionForm) {
      const offered = decisionForm.submitters.filter((s) => s.name === 'decision').map((s) => s.value);
      const choice = decisions.find((d) => offered.includes(d));
      if (choice === undefined) {
        fail(`decision form offers ${JSON.stringify(offered)}, expected one of ${JSON.stringify(decisions)}`);
      }
      const times = postedDecision.get(choice) ?? 0;
      if (times >= 2) fail(`the decision form was shown again after posting decision=${choice}`);
      postedDecision.set(choice, times + 1);
      seen.decisionForms.push({
        url: request.url,
        action: decisionForm.action,
        offered,
        posted: choice,
        hidden_fields: Object.keys(decisionForm.hidden).sort(),
      });
      request = {
        method: 'POST',
        url: decisionForm.action,
        body: buildFormBody(decisionForm, {}, { name: 'decision', value: choice }),
        referer: request.url,
      };
      continue;
    }

    fail('HTML page without a login, consent or logout form', {
      forms: forms.map((f) => ({ action: f.action, input_names: f.inputNames, submitters: f.submitters })),
    });
  }
  throw new BrowserError(`more than ${MAX_HOPS} hops without reaching ${stopPrefix}`, { trace });
}

// ---------------------------------------------------------------------------
// Result helpers
// ---------------------------------------------------------------------------

function toPlain(value, depth = 0) {
  if (value === null || value === undefined) return value ?? null;
  if (depth > 8) return String(value);  // a guard against cycles; PSC claims nest 6 deep
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object') return typeof value === 'function' ? undefined : value;
  if (value instanceof URLSearchParams) return Object.fromEntries(value);
  if (value instanceof URL) return value.href;
  if (typeof Response !== 'undefined' && value instanceof Response) {
    return { status: value.status, url: value.url };
  }
  if (value instanceof Error) {
    return { name: value.name, message: value.message, code: value.code, cause: toPlain(value.cause, depth + 1) };
  }
  if (Array.isArray(value)) return value.map((v) => toPlain(v, depth + 1));
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    const p = toPlain(v, depth + 1);
    if (p !== undefined) out[k] = p;
  }
  return out;
}

/** The OAuth error code carried by an openid-client error, if any. */
function oauthErrorCode(err) {
  if (typeof err?.error === 'string') return err.error;
  if (Array.isArray(err?.cause)) {
    // WWWAuthenticateChallengeError: [{ scheme, parameters: { error } }]
    for (const challenge of err.cause) {
      if (challenge?.parameters?.error) return challenge.parameters.error;
    }
  }
  if (typeof err?.cause?.error === 'string') return err.cause.error;
  return null;
}

function describeError(err) {
  return {
    name: err?.name ?? null,
    error: String(err),
    code: err?.code ?? null,
    oauth_error: oauthErrorCode(err),
    error_description: err?.error_description ?? err?.cause?.error_description ?? null,
    status: err?.status ?? err?.response?.status ?? null,
    cause: toPlain(err?.cause),
  };
}

/** Runs an operation whose failure is an outcome to record, not a fatal error. */
async function attempt(fn) {
  try {
    const value = await fn();
    return { ok: true, value: toPlain(value) ?? null };
  } catch (err) {
    return { ok: false, ...describeError(err) };
  }
}

function decodeJwtHeader(jwt) {
  if (typeof jwt !== 'string') return null;
  try {
    return JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString('utf8'));
  } catch {
    return null;
  }
}

function describeTokens(tokens) {
  return {
    token_type: tokens.token_type ?? null,
    expires_in: tokens.expires_in ?? null,
    scope: tokens.scope ?? null,
    has_access_token: typeof tokens.access_token === 'string' && tokens.access_token.length > 0,
    has_refresh_token: typeof tokens.refresh_token === 'string' && tokens.refresh_token.length > 0,
    has_id_token: typeof tokens.id_token === 'string' && tokens.id_token.length > 0,
    id_token_header: decodeJwtHeader(tokens.id_token),
    id_token_claims: toPlain(tokens.claims?.() ?? null),
    response_keys: Object.keys(tokens).sort(),
  };
}

function describeLogin(login) {
  return {
    authorization_request: Object.fromEntries(
      [...login.authUrl.searchParams].filter(([k]) => k !== 'code_challenge'),
    ),
    callback_params: Object.fromEntries(
      [...login.callbackUrl.searchParams].map(([k, v]) => [k, k === 'code' ? '<redacted>' : v]),
    ),
    login_forms: login.seen.loginForms,
    decision_forms: login.seen.decisionForms,
    trace: login.trace,
  };
}

// ---------------------------------------------------------------------------
// The flow
// ---------------------------------------------------------------------------

function parseArgs() {
  const raw = process.argv[2] ?? process.env.RP_FLOW_ARGS;
  if (!raw) throw new TypeError('missing arguments: pass a JSON object as argv[2] or in $RP_FLOW_ARGS');
  const args = JSON.parse(raw);
  for (const key of ['issuer', 'client_id', 'redirect_uri', 'post_logout_redirect_uri', 'identifier', 'password']) {
    if (typeof args[key] !== 'string' || !args[key]) throw new TypeError(`missing argument "${key}"`);
  }
  args.scope ??= 'openid profile email offline_access';
  return args;
}

function clientAuthentication(args) {
  if (!args.client_secret) return client.None();
  const method = args.token_endpoint_auth_method ?? 'client_secret_basic';
  if (method === 'client_secret_basic') return client.ClientSecretBasic(args.client_secret);
  if (method === 'client_secret_post') return client.ClientSecretPost(args.client_secret);
  throw new TypeError(`unsupported token_endpoint_auth_method ${JSON.stringify(method)}`);
}

async function runFlow(args, out, setStep) {
  const jar = new CookieJar();
  const confidential = Boolean(args.client_secret);
  out.client = {
    client_id: args.client_id,
    confidential,
    token_endpoint_auth_method: confidential ? (args.token_endpoint_auth_method ?? 'client_secret_basic') : 'none',
  };

  // 1. Discovery (the issuer is http on the loopback interface).
  setStep('discovery');
  const metadata = { id_token_signed_response_alg: 'RS256' };
  if (confidential) metadata.client_secret = args.client_secret;
  const config = await client.discovery(
    new URL(args.issuer),
    args.client_id,
    metadata,
    clientAuthentication(args),
    { execute: [client.allowInsecureRequests], timeout: 30 },
  );
  const serverMetadata = toPlain(config.serverMetadata());
  out.discovery = { issuer: serverMetadata.issuer, metadata: serverMetadata };

  // 2.-4. Authorization code flow with PKCE, nonce and state.
  const login = async (extra = {}, browseOptions = {}) => {
    const pkceCodeVerifier = client.randomPKCECodeVerifier();
    const codeChallenge = await client.calculatePKCECodeChallenge(pkceCodeVerifier);
    const nonce = client.randomNonce();
    const state = client.randomState();
    const authUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: args.redirect_uri,
      scope: args.scope,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
      nonce,
      state,
      ...extra,
    });
    const walk = await browse(jar, authUrl.href, {
      stopPrefix: args.redirect_uri,
      identifier: args.identifier,
      password: args.password,
      decisions: ['allow'],
      ...browseOptions,
    });
    const callbackUrl = new URL(walk.finalUrl);
    const grant = () => client.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier,
      expectedNonce: nonce,
      expectedState: state,
      idTokenExpected: true,
    });
    return { authUrl, callbackUrl, trace: walk.trace, seen: walk.seen, grant, state };
  };

  setStep('login');
  const first = await login();
  out.login = describeLogin(first);
  setStep('authorization_code_grant');
  const tokens = await first.grant();
  out.tokens = describeTokens(tokens);
  const claims = tokens.claims();
  const sub = claims.sub;

  // 5. UserInfo.
  setStep('userinfo');
  out.userinfo = toPlain(await client.fetchUserInfo(config, tokens.access_token, sub));

  // 6. Introspection (client-authenticated; recorded, the Python side judges).
  setStep('introspection');
  out.introspection = await attempt(() => client.tokenIntrospection(config, tokens.access_token));
  out.introspection_unknown_token = await attempt(
    () => client.tokenIntrospection(config, `not-a-token-${client.randomState()}`),
  );

  // 7. Refresh token rotation and replay detection.
  setStep('refresh');
  if (typeof tokens.refresh_token !== 'string' || !tokens.refresh_token) {
    out.refresh = { skipped: 'no refresh_token in the token response' };
  } else {
    const oldRefreshToken = tokens.refresh_token;
    const refreshed = await client.refreshTokenGrant(config, oldRefreshToken);
    out.refresh = {
      ...describeTokens(refreshed),
      refresh_token_rotated: typeof refreshed.refresh_token === 'string'
        && refreshed.refresh_token.length > 0
        && refreshed.refresh_token !== oldRefreshToken,
      access_token_changed: refreshed.access_token !== tokens.access_token,
    };
    out.refresh.userinfo_with_new_access_token = await attempt(
      () => client.fetchUserInfo(config, refreshed.access_token, sub),
    );
    setStep('refresh_replay');
    out.refresh_replay_old = await attempt(() => client.refreshTokenGrant(config, oldRefreshToken));
    if (typeof refreshed.refresh_token === 'string' && refreshed.refresh_token !== oldRefreshToken) {
      out.refresh_new_after_replay = await attempt(
        () => client.refreshTokenGrant(config, refreshed.refresh_token),
      );
    } else {
      out.refresh_new_after_replay = { skipped: 'the refresh token was not rotated' };
    }
    // Informational: does the replay also kill the access token of the family?
    out.refresh_family_access_token_after_replay = await attempt(
      () => client.tokenIntrospection(config, refreshed.access_token),
    );
  }

  // 8. A second login (the IdP session normally makes it silent), then
  //    revocation of its refresh token.
  setStep('second_login');
  const second = await login();
  out.second_login = describeLogin(second);
  setStep('second_authorization_code_grant');
  const tokens2 = await second.grant();
  out.second_tokens = describeTokens(tokens2);
  setStep('revocation');
  if (typeof tokens2.refresh_token !== 'string' || !tokens2.refresh_token) {
    out.revocation = { skipped: 'no refresh_token in the token response' };
  } else {
    out.revocation = await attempt(
      () => client.tokenRevocation(config, tokens2.refresh_token, { token_type_hint: 'refresh_token' }),
    );
    out.refresh_after_revocation = await attempt(
      () => client.refreshTokenGrant(config, tokens2.refresh_token),
    );
    out.introspection_refresh_token_after_revocation = await attempt(
      () => client.tokenIntrospection(config, tokens2.refresh_token, { token_type_hint: 'refresh_token' }),
    );
    out.introspection_access_token_after_revocation = await attempt(
      () => client.tokenIntrospection(config, tokens2.access_token),
    );
    out.userinfo_after_revocation = await attempt(
      () => client.fetchUserInfo(config, tokens2.access_token, sub),
    );
  }

  // 9. RP-initiated logout.
  setStep('logout');
  const logoutState = client.randomState();
  const endSessionUrl = client.buildEndSessionUrl(config, {
    id_token_hint: tokens2.id_token,
    post_logout_redirect_uri: args.post_logout_redirect_uri,
    state: logoutState,
  });
  const cookiesBeforeLogout = jar.names();
  const logoutWalk = await browse(jar, endSessionUrl.href, {
    stopPrefix: args.post_logout_redirect_uri,
    decisions: ['logout'],
    identifier: args.identifier,
    password: args.password,
  });
  const finalLogoutUrl = new URL(logoutWalk.finalUrl);
  out.logout = {
    end_session_request: Object.fromEntries(
      [...endSessionUrl.searchParams].filter(([k]) => k !== 'id_token_hint'),
    ),
    final_location: logoutWalk.finalUrl,
    expected_state: logoutState,
    returned_state: finalLogoutUrl.searchParams.get('state'),
    final_params: Object.fromEntries(finalLogoutUrl.searchParams),
    login_forms: logoutWalk.seen.loginForms,
    decision_forms: logoutWalk.seen.decisionForms,
    cookies_before: cookiesBeforeLogout,
    cookies_after: jar.names(),
    trace: logoutWalk.trace,
  };

  // 10. prompt=none after logout must answer login_required (validated by
  //     openid-client: state and iss are checked before the error is raised).
  setStep('prompt_none_after_logout');
  const silent = await login({ prompt: 'none' }, { interactive: false });
  const outcome = await attempt(() => silent.grant());
  out.prompt_none_after_logout = {
    callback_params: Object.fromEntries(silent.callbackUrl.searchParams),
    expected_state: silent.state,
    unexpected_success: outcome.ok,
    error: outcome.ok ? null : outcome.oauth_error,
    library_error: outcome.ok ? null : outcome,
    trace: silent.trace,
  };

  setStep('done');
}

async function main() {
  const out = { ok: false };
  let step = 'arguments';
  const setStep = (name) => {
    step = name;
  };
  let exitCode = 0;
  try {
    const args = parseArgs();
    out.scenario = args.scenario ?? null;
    await runFlow(args, out, setStep);
    out.ok = true;
  } catch (err) {
    exitCode = 1;
    Object.assign(out, { ok: false, step, ...describeError(err) });
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`, () => process.exit(exitCode));
}

// ---------------------------------------------------------------------------
// Self-test of the helpers (no server needed): node rp_flow.mjs --self-test
// ---------------------------------------------------------------------------

function selfTest() {
  const page = 'http://127.0.0.1:5000/login?next=%2Fauthorize%3Fx%3D1';
  const loginHtml = `<!doctype html><html><head><title>Connexion</title>
    <script>var s = '<form method="post" action="/evil">';</script></head><body>
    <!-- <form method="post" action="/commented-out"><input name="password"></form> -->
    <form action="/lang" method="get"><select name="lang"><option value="fr" selected>FR</option></select></form>
    <form method="POST" class="login">
      <input type="hidden" name="csrf_token" value="abc&amp;123&#x3D;">
      <input type=hidden name='next' value='/authorize?a=1&amp;b=2'>
      <label>Identifiant <input type="text" name="identifier" autocomplete="username" required></label>
      <input type="password" name="password">
      <input type="checkbox" name="remember" value="1">
      <input type="checkbox" name="terms" checked>
      <input type="text" name="disabled_field" value="x" disabled>
      <button type="submit">Se connecter</button>
    </form></body></html>`;
  const forms = parseForms(loginHtml, page);
  assert.equal(forms.length, 2);
  const login = forms[1];
  assert.equal(login.method, 'post');
  assert.equal(login.action, page, 'a missing action means the current URL');
  assert.deepEqual(login.hidden, { csrf_token: 'abc&123=', next: '/authorize?a=1&b=2' });
  assert.deepEqual(login.inputNames, ['csrf_token', 'next', 'identifier', 'password', 'remember', 'terms']);
  assert.deepEqual(login.submitters, []);
  const body = buildFormBody(login, { identifier: 'kit.doc@example.fr', password: 'p@ss w&rd' });
  assert.equal(
    body.toString(),
    'csrf_token=abc%26123%3D&next=%2Fauthorize%3Fa%3D1%26b%3D2&identifier=kit.doc%40example.fr'
      + '&password=p%40ss+w%26rd&terms=on',
  );

  const consentHtml = `<form method="post" action="consent?uid=42&amp;x=y">
    <input type="hidden" name="csrf_token" value="tok">
    <button type="submit" name="decision" value="deny">Refuser</button>
    <button name="decision" value="allow" class="primary">Autoriser</button>
    <button type="button" name="decision" value="ignored">JS only</button>
  </form>`;
  const [consent] = parseForms(consentHtml, 'http://127.0.0.1:5000/oauth/authorize?client_id=a');
  assert.equal(consent.action, 'http://127.0.0.1:5000/oauth/consent?uid=42&x=y', 'relative action');
  assert.deepEqual(consent.submitters, [
    { name: 'decision', value: 'deny' },
    { name: 'decision', value: 'allow' },
  ]);
  assert.equal(
    buildFormBody(consent, {}, { name: 'decision', value: 'allow' }).toString(),
    'csrf_token=tok&decision=allow',
  );
  const [empty] = parseForms('<form method="post" action=""><input type="submit" name="decision" value="logout"></form>',
    'http://127.0.0.1:5000/logout?state=s#frag');
  assert.equal(empty.action, 'http://127.0.0.1:5000/logout?state=s', 'empty action means the current URL');
  assert.deepEqual(empty.submitters, [{ name: 'decision', value: 'logout' }]);

  assert.equal(textExcerpt('<p>Mot de passe <b>incorrect</b>&nbsp;!</p><script>x()</script>'), 'Mot de passe incorrect !');

  const jar = new CookieJar();
  const now = Date.parse('2030-01-01T00:00:00Z');
  jar.store('http://127.0.0.1:5000/authorize?x=1', [
    'session=s1; HttpOnly; Path=/; SameSite=Lax',
    'lang=fr',
    'scoped=1; Path=/oauth',
  ], now);
  jar.store('http://127.0.0.1:5000/login/password', ['step=2'], now); // default path /login
  assert.equal(jar.header('http://127.0.0.1:5000/', now), 'session=s1; lang=fr');
  assert.equal(jar.header('http://127.0.0.1:5000/oauth/token', now), 'scoped=1; session=s1; lang=fr');
  assert.equal(jar.header('http://127.0.0.1:5000/oauthx', now), 'session=s1; lang=fr');
  assert.equal(jar.header('http://127.0.0.1:5000/login/x', now), 'step=2; session=s1; lang=fr');
  assert.equal(jar.header('http://127.0.0.1:5001/', now), '', 'cookies are per host:port');
  jar.store('http://127.0.0.1:5000/x', ['session=s2; Path=/'], now);
  assert.equal(jar.header('http://127.0.0.1:5000/', now), 'lang=fr; session=s2');
  jar.store('http://127.0.0.1:5000/logout', [
    'session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/',
    'lang=; Max-Age=-1',
    'short=1; Max-Age=60; Path=/',
  ], now);
  assert.equal(jar.header('http://127.0.0.1:5000/', now), 'short=1');
  assert.equal(jar.header('http://127.0.0.1:5000/', now + 61_000), '', 'Max-Age expiry');
  assert.deepEqual(jar.names(), ['scoped', 'short', 'step']);

  process.stdout.write(`${JSON.stringify({ ok: true, self_test: 'passed' })}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === '--self-test') {
    selfTest();
  } else {
    await main();
  }
}
