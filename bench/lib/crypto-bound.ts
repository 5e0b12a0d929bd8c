/**
 * The crypto bound of this machine: how many RSA-2048 signatures (SHA-256, PKCS#1 v1.5, as in
 * XML signatures and RS256) one core makes per second through node:crypto. Login figures are
 * printed beside it, so a slow or busy machine reads as such.
 */
import { generateKeyPairSync, sign } from 'node:crypto';

export interface CryptoBound {
  rsa2048SignsPerSecond: number;
  /** 1000 / signs per second. */
  msPerSign: number;
}

/** Signs for about `durationMs` (bounded by time and count) after a short warm-up. */
export function measureRsaSigns(durationMs = 1000): CryptoBound {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const data = Buffer.alloc(256, 7);
  for (let i = 0; i < 20; i++) sign('sha256', data, privateKey);
  let count = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < durationMs && count < 1_000_000) {
    sign('sha256', data, privateKey);
    count++;
    elapsed = performance.now() - start;
  }
  const perSecond = count / (elapsed / 1000);
  return { rsa2048SignsPerSecond: perSecond, msPerSign: 1000 / perSecond };
}
