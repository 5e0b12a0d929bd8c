/**
 * From the bytes of a binding to the XML text of a SAML message, with hard size limits: a few
 * hundred bytes of DEFLATE can inflate to gigabytes, so inflating stops at the limit.
 */
import { inflateRawSync } from 'node:zlib';
import { MalformedRequestError, PayloadTooLargeError } from '../../core/errors.js';

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

/** HTTP-Redirect binding: base64 of raw DEFLATE (SAML bindings §3.4.4.1), of at most `maxBytes` once inflated. */
export function decodeRedirectMessage(value: string, maxBytes: number): string {
  const deflated = base64Bytes(value, 'SAMLRequest');
  let xml: Buffer;
  try {
    xml = inflateRawSync(deflated, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new PayloadTooLargeError(`SAMLRequest inflates to more than ${maxBytes} bytes`, { cause: err });
    }
    throw new MalformedRequestError(`SAMLRequest is not raw DEFLATE: ${(err as Error).message}`, { cause: err });
  }
  return utf8(xml, 'SAMLRequest');
}

/** HTTP-POST binding: plain base64 of at most `maxBytes`. */
export function decodePostMessage(value: string, maxBytes: number): string {
  const xml = base64Bytes(value, 'SAMLRequest');
  if (xml.length > maxBytes) throw new PayloadTooLargeError(`SAMLRequest is larger than ${maxBytes} bytes`);
  return utf8(xml, 'SAMLRequest');
}
