/**
 * The provider's signing keys: from the configured files (the first signs, all are published so
 * tokens signed before a rollover still verify), or an RS256 and an ES256 key generated into
 * dataDir on first start. RS256 comes first there: every relying party supports it.
 *
 * oidc-provider gets them as external signing keys that sign with node:crypto and the key parsed
 * here once: given private JWKs it signs through jose and WebCrypto, an asynchronous job costing
 * about a quarter more CPU than the RSA signature itself (load bench, SAML→OIDC).
 */
import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { ExternalSigningKey } from 'oidc-provider';
import { ConfigError } from '../../core/errors.js';
import { loadOrCreatePrivateKey } from '../../crypto/keys.js';
import { readSigningKey, type OidcFrontendConfig, type SigningAlg } from './config.js';

/** Which experimental version of oidc-provider's external signing this code follows (its `ack`). */
export const EXTERNAL_SIGNING_ACK = 'experimental-01';

/** A key oidc-provider signs with through node:crypto. */
class NodeSigningKey extends ExternalSigningKey {
  readonly #private: KeyObject;
  readonly #public: KeyObject;

  constructor(key: KeyObject, alg: SigningAlg, kid: string) {
    super();
    this.#private = key;
    this.#public = createPublicKey(key);
    this.kid = kid;
    this.alg = alg;
  }

  override keyObject(): KeyObject {
    return this.#public;
  }

  override sign(data: Buffer): Buffer {
    // JWS ES256 wants the raw r||s form (RFC 7518 §3.4), not DER.
    return sign('sha256', data, this.alg === 'ES256' ? { key: this.#private, dsaEncoding: 'ieee-p1363' } : this.#private);
  }
}

export interface SigningKeys {
  /** oidc-provider's `jwks` setting, the signing key first. */
  jwks: { keys: ExternalSigningKey[] };
  /** Algorithm of the first key: what ID tokens are signed with unless a client registered another. */
  alg: SigningAlg;
}

async function signingKey(key: KeyObject, alg: SigningAlg, kid?: string): Promise<NodeSigningKey> {
  // The RFC 7638 thumbprint reads only the public members.
  return new NodeSigningKey(key, alg, kid ?? (await calculateJwkThumbprint(key.export({ format: 'jwk' }) as JWK, 'sha256')));
}

export async function loadSigningKeys(config: OidcFrontendConfig, dataDir: string): Promise<SigningKeys> {
  const configured = config.signingKeys;
  if (!configured) {
    const keys = [
      await signingKey(await loadOrCreatePrivateKey(dataDir, 'oidc-rs256', 'rsa'), 'RS256'),
      await signingKey(await loadOrCreatePrivateKey(dataDir, 'oidc-es256', 'ec'), 'ES256'),
    ];
    return { jwks: { keys }, alg: 'RS256' };
  }
  const keys: NodeSigningKey[] = [];
  for (const [i, entry] of configured.entries()) {
    let key: KeyObject;
    try {
      // Read again: the file may have changed since the configuration was checked.
      key = readSigningKey(entry.key, entry.alg);
    } catch (err) {
      throw new ConfigError([`frontends.oidc.signingKeys[${i}].key: ${(err as Error).message}`]);
    }
    keys.push(await signingKey(key, entry.alg, entry.kid));
  }
  const kids = keys.map((k) => k.kid);
  if (new Set(kids).size !== kids.length) throw new ConfigError(['frontends.oidc.signingKeys: two keys have the same kid']);
  return { jwks: { keys }, alg: configured[0]!.alg };
}
