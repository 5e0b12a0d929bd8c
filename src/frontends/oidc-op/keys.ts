/**
 * The provider's signing keys as a private JWKS: from the configured files (the first signs, all
 * are published so tokens signed before a rollover still verify), or an RS256 and an ES256 key
 * generated into dataDir on first start. RS256 comes first there: every relying party supports it.
 */
import type { KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { ConfigError } from '../../core/errors.js';
import { loadOrCreatePrivateKey } from '../../crypto/keys.js';
import { readSigningKey, type OidcFrontendConfig, type SigningAlg } from './config.js';

export interface SigningKeys {
  /** Private JWKs for oidc-provider's `jwks` setting, the signing key first. */
  jwks: { keys: JWK[] };
  /** Algorithm of the first key: what ID tokens are signed with unless a client registered another. */
  alg: SigningAlg;
}

async function jwkOf(key: KeyObject, alg: SigningAlg, kid?: string): Promise<JWK> {
  const jwk = key.export({ format: 'jwk' }) as JWK;
  // The RFC 7638 thumbprint reads only the public members.
  return { ...jwk, kid: kid ?? (await calculateJwkThumbprint(jwk, 'sha256')), alg, use: 'sig' };
}

export async function loadSigningKeys(config: OidcFrontendConfig, dataDir: string): Promise<SigningKeys> {
  const configured = config.signingKeys;
  if (!configured) {
    const keys = [
      await jwkOf(await loadOrCreatePrivateKey(dataDir, 'oidc-rs256', 'rsa'), 'RS256'),
      await jwkOf(await loadOrCreatePrivateKey(dataDir, 'oidc-es256', 'ec'), 'ES256'),
    ];
    return { jwks: { keys }, alg: 'RS256' };
  }
  const keys: JWK[] = [];
  for (const [i, entry] of configured.entries()) {
    let key: KeyObject;
    try {
      // Read again: the file may have changed since the configuration was checked.
      key = readSigningKey(entry.key, entry.alg);
    } catch (err) {
      throw new ConfigError([`frontends.oidc.signingKeys[${i}].key: ${(err as Error).message}`]);
    }
    keys.push(await jwkOf(key, entry.alg, entry.kid));
  }
  const kids = keys.map((k) => k.kid);
  if (new Set(kids).size !== kids.length) throw new ConfigError(['frontends.oidc.signingKeys: two keys have the same kid']);
  return { jwks: { keys }, alg: configured[0]!.alg };
}
