/**
 * The signing keys of the provider's cookies, in the shape Koa's `cookies` module takes instead of
 * an array of secrets (`sign`, `verify`, `index`, as keygrip has them).
 *
 * Given an array, `cookies` builds a keygrip per request, and keygrip imports the secret anew for
 * every HMAC and compares each signature through tsscmp: random bytes and two more HMACs. A login
 * checks or sets some ten signed cookies, and that was a measurable part of the provider's CPU.
 * Here each secret is imported once, and a presented signature is compared with
 * crypto.timingSafeEqual. The signatures are keygrip's own (HMAC-SHA1, base64url without padding),
 * so cookies signed before an upgrade, or by another instance sharing the store, still verify.
 * Written here because keygrip offers no way to keep its keys imported.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/** Every signature is this long: 20 bytes of SHA-1 in base64url without padding. */
const SIGNATURE_LENGTH = 27;

export class CookieKeys {
  readonly #keys: readonly KeyObject[];

  /** `secrets` in order: the first signs, all verify (rotate by prepending). */
  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new TypeError('cookie keys: at least one secret is needed');
    this.#keys = secrets.map((secret) => createSecretKey(Buffer.from(secret, 'utf8')));
  }

  sign(data: string): string {
    return signature(data, this.#keys[0]!);
  }

  verify(data: string, digest: string): boolean {
    return this.index(data, digest) > -1;
  }

  /** The index of the key that signed `data` as `digest`, or -1. */
  index(data: string, digest: string): number {
    // The length of a well-formed signature is public; only its content is compared in constant time.
    if (typeof digest !== 'string') return -1;
    const presented = Buffer.from(digest, 'utf8');
    if (presented.length !== SIGNATURE_LENGTH) return -1;
    for (let i = 0; i < this.#keys.length; i++) {
      if (timingSafeEqual(presented, Buffer.from(signature(data, this.#keys[i]!), 'utf8'))) return i;
    }
    return -1;
  }
}

function signature(data: string, key: KeyObject): string {
  return createHmac('sha1', key).update(data).digest('base64url');
}
