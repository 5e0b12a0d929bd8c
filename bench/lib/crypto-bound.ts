/**
 * The crypto bound of this machine: how many RSA-2048 signatures (SHA-256, PKCS#1 v1.5, as in
 * XML signatures and RS256) one core makes per second through node:crypto. Login figures are
 * printed beside it, so a slow or busy machine reads as such. Counted per CPU second of this
 * process, like fedgate's CPU per login, so both hold up when other processes share the cores.
 */
import { generateKeyPairSync, sign } from 'node:crypto';

export interface CryptoBound {
  /** Signatures per CPU second. */
  rsa2048SignsPerSecond: number;
  /** CPU ms per signature (1000 / signs per second). */
  msPerSign: number;
  /** Signatures per wall-clock second, lower than the above when the core was shared. */
  wallSignsPerSecond: number;
}

/** Signs for about `durationMs` (bounded by time and count) after a short warm-up. */
export function measureRsaSigns(durationMs = 1000): CryptoBound {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const data = Buffer.alloc(256, 7);
  for (let i = 0; i < 20; i++) sign('sha256', data, privateKey);
  let count = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let elapsed = 0;
  while (elapsed < durationMs && count < 1_000_000) {
    sign('sha256', data, privateKey);
    count++;
    elapsed = performance.now() - start;
  }
  const cpu = process.cpuUsage(cpuStart);
  const perCpuSecond = count / ((cpu.user + cpu.system) / 1e6);
  return { rsa2048SignsPerSecond: perCpuSecond, msPerSign: 1000 / perCpuSecond, wallSignsPerSecond: count / (elapsed / 1000) };
}
