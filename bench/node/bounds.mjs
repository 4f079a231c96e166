// Reference bounds on the node side, per core: Argon2id verifications with idp's parameters
// (npm `argon2`) and RS256 signatures (node:crypto) per second of CPU time.
// Usage: node bounds.mjs SECONDS M T P RSA_BITS; prints one JSON object.

import { generateKeyPairSync, sign } from 'node:crypto';

import argon2 from 'argon2';

const [seconds, m, t, p, bits] = process.argv.slice(2).map(Number);

async function perCpuSecond(work) {
  const start = process.cpuUsage();
  const wall = Date.now();
  let count = 0;
  while (Date.now() - wall < seconds * 1000) {
    // One at a time: a verification runs on one libuv thread, i.e. one core.
    await work();
    count += 1;
  }
  const used = process.cpuUsage(start);
  return count / ((used.user + used.system) / 1e6);
}

const hash = await argon2.hash('bench-password', {
  type: argon2.argon2id, memoryCost: m, timeCost: t, parallelism: p,
});
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
const payload = Buffer.alloc(600, 'a');
console.log(JSON.stringify({
  argon2_per_core: await perCpuSecond(() => argon2.verify(hash, 'bench-password')),
  rs256_per_core: await perCpuSecond(async () => sign('sha256', payload, privateKey)),
}));
