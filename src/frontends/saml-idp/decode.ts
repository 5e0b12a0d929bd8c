/**
 * From the bytes of a binding to the XML text of a SAML message, with hard size limits: a few
 * hundred bytes of DEFLATE can inflate to gigabytes.
 */
import { inflateRawSync } from 'node:zlib';
import { MalformedRequestError } from '../../core/errors.js';

/** Largest SAML request XML accepted; real AuthnRequests are a few kB. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function base64Bytes(value: string, what: string): Buffer {
  const compact = value.replace(/\s+/g, '');
  if (compact === '' || compact.length % 4 === 1 || !BASE64.test(compact)) {
    throw new MalformedRequestError(`${what} is not base64`);
  }
  return Buffer.from(compact, 'base64');
}

function utf8(bytes: Buffer, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new MalformedRequestError(`${what} is not UTF-8`);
  }
}

/** HTTP-Redirect binding: base64 of raw DEFLATE (SAML bindings §3.4.4.1). */
export function decodeRedirectMessage(value: string): string {
  const deflated = base64Bytes(value, 'SAMLRequest');
  let xml: Buffer;
  try {
    xml = inflateRawSync(deflated, { maxOutputLength: MAX_MESSAGE_BYTES });
  } catch (err) {
    throw new MalformedRequestError(`SAMLRequest does not inflate within ${MAX_MESSAGE_BYTES} bytes: ${(err as Error).message}`, { cause: err });
  }
  return utf8(xml, 'SAMLRequest');
}

/** HTTP-POST binding: plain base64. */
export function decodePostMessage(value: string): string {
  const xml = base64Bytes(value, 'SAMLRequest');
  if (xml.length > MAX_MESSAGE_BYTES) throw new MalformedRequestError(`SAMLRequest is larger than ${MAX_MESSAGE_BYTES} bytes`);
  return utf8(xml, 'SAMLRequest');
}
