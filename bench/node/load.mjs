// The load generator of the single-request scenarios, the same for both servers: autocannon,
// bounded by a number of requests and by a time limit, whichever comes first.
//
// Usage: node load.mjs JOB.json; prints one JSON object with the results.
// JOB: {url, method, kind, connections, amount, maxSeconds, basic?, material?}
//   kind "get":        GET url
//   kind "code":       POST grant_type=authorization_code, one fresh code per request
//                      (material: [{code, verifier, redirectUri}])
//   kind "refresh":    POST grant_type=refresh_token; each response's rotated refresh
//                      token feeds the next request (material: the starting tokens)
//   kind "bearer":     GET url with Authorization: Bearer (material: access tokens)
//   kind "introspect": POST token=... (material: access tokens)

import { readFileSync } from 'node:fs';

import autocannon from 'autocannon';

const job = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const material = job.material || [];
const form = { 'content-type': 'application/x-www-form-urlencoded' };
const basic = job.basic ? { authorization: `Basic ${job.basic}` } : {};
let next = 0;

function take() {
  if (next >= material.length) return null;
  next += 1;
  return material[next - 1];
}

function encode(fields) {
  return new URLSearchParams(fields).toString();
}

const builders = {
  get: () => ({ method: 'GET' }),
  code: () => ({
    method: 'POST',
    headers: { ...form, ...basic },
    setupRequest: (req) => {
      const item = take();
      if (!item) return null;
      return { ...req, body: encode({ grant_type: 'authorization_code', code: item.code,
        redirect_uri: item.redirectUri, code_verifier: item.verifier }) };
    },
  }),
  refresh: () => ({
    method: 'POST',
    headers: { ...form, ...basic },
    setupRequest: (req) => {
      const token = material.pop();
      if (!token) return null;
      return { ...req, body: encode({ grant_type: 'refresh_token', refresh_token: token }) };
    },
    // Rotation: the new refresh token goes back to the pool for the next request.
    onResponse: (status, body) => {
      if (status === 200) material.unshift(JSON.parse(body).refresh_token);
    },
  }),
  bearer: () => ({
    method: 'GET',
    setupRequest: (req) => ({ ...req,
      headers: { authorization: `Bearer ${material[(next += 1) % material.length]}` } }),
  }),
  introspect: () => ({
    method: 'POST',
    headers: { ...form, ...basic },
    setupRequest: (req) => ({ ...req,
      body: encode({ token: material[(next += 1) % material.length] }) }),
  }),
};

const latencies = [];
const started = performance.now();
let finished = started;
const instance = autocannon({
  url: job.url,
  connections: job.connections,
  amount: job.amount,
  timeout: 30,
  requests: [builders[job.kind]()],
});
// autocannon's own clock and histogram tick by whole seconds and milliseconds: keep ours.
instance.on('response', (client, status, bytes, responseTime) => {
  finished = performance.now();
  latencies.push(responseTime);
});
// `amount` makes autocannon ignore its duration: the time limit is ours.
const timer = setTimeout(() => instance.stop(), job.maxSeconds * 1000);

const result = await instance;
clearTimeout(timer);
latencies.sort((a, b) => a - b);
const quantile = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
const seconds = (finished - started) / 1000;
console.log(JSON.stringify({
  requests: latencies.length,
  seconds,
  rps: latencies.length / seconds,
  p50_ms: quantile(0.5),
  p99_ms: quantile(0.99),
  errors: result.errors + result.timeouts + result.non2xx,
  non2xx: result.non2xx,
}));
