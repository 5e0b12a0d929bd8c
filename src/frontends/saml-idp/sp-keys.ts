/** An SP's keys from its verified metadata, by purpose (a KeyDescriptor without use serves both). */
import type { EntityKey } from '../../metadata/types.js';

/** Every key the SP may sign with: all are tried, for key rollover (IIP-MD07). */
export function signingCerts(keys: EntityKey[]): string[] {
  return keys.filter((k) => k.use !== 'encryption').map((k) => k.certPem);
}

/** The key to encrypt to; any of several may be used (IIP-MD08). */
export function encryptionCert(keys: EntityKey[]): string | undefined {
  return keys.find((k) => k.use !== 'signing')?.certPem;
}
