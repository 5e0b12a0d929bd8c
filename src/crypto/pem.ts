/**
 * PEM text of a certificate from the base64 DER that metadata carries. Apart from keys.ts, whose
 * certificate code (@peculiar/x509) would add a quarter second to the start of the metadata worker.
 */

/** A PEM certificate from the base64 DER found in ds:X509Certificate (whitespace ignored). */
export function pemFromBase64(b64: string): string {
  const body = b64.replace(/\s+/g, '');
  const lines: string[] = [];
  // Sliced rather than matched by /.{1,64}/g, which is slower: this runs for every key of an aggregate.
  for (let i = 0; i < body.length; i += 64) lines.push(body.slice(i, i + 64));
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
