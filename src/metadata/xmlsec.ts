/**
 * Signature verification of large metadata documents by the xmlsec1 tool (Debian package xmlsec1),
 * out of process: about 1 s for a 67 MB eduGAIN aggregate where xml-crypto needs minutes and GBs.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidMetadataError, MetadataUnavailableError } from '../core/errors.js';
import { NS } from './namespaces.js';

export const XMLSEC1 = 'xmlsec1';
const TIMEOUT_MS = 60_000;

export interface XmlsecOptions {
  /** Executable; default `xmlsec1` on the PATH. */
  command?: string;
  timeoutMs?: number;
}

/**
 * Verifies the first ds:Signature of `bytes` with the key of `certPem` only. `rootName` is the
 * local name of the root, whose ID attribute xmlsec1 must resolve `#ID` references against.
 * Resolves when valid; rejects with InvalidMetadataError when not, MetadataUnavailableError when
 * xmlsec1 cannot run.
 */
export async function verifyWithXmlsec(bytes: Uint8Array, certPem: string, rootName: string, opts: XmlsecOptions = {}): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fedgate-xmlsec-'));
  try {
    const documentPath = join(dir, 'metadata.xml');
    const certPath = join(dir, 'signer.pem');
    await Promise.all([writeFile(documentPath, bytes, { mode: 0o600 }), writeFile(certPath, certPem, { mode: 0o600 })]);
    await new Promise<void>((resolve, reject) => {
      execFile(opts.command ?? XMLSEC1, xmlsecVerifyArguments(documentPath, certPath, rootName), { timeout: opts.timeoutMs ?? TIMEOUT_MS, maxBuffer: 1024 * 1024 }, (err, _stdout, stderr) => {
        if (!err) return resolve();
        const e = err as NodeJS.ErrnoException & { killed?: boolean };
        if (e.code === 'ENOENT') {
          return reject(
            new MetadataUnavailableError(
              `cannot verify a large signed metadata document: the xmlsec1 tool is missing (install the Debian package xmlsec1)`,
              { cause: err },
            ),
          );
        }
        if (e.killed) return reject(new MetadataUnavailableError(`xmlsec1 did not finish within ${opts.timeoutMs ?? TIMEOUT_MS} ms`, { cause: err }));
        reject(new InvalidMetadataError(`metadata signature: xmlsec1 refused it: ${lastLines(stderr)}`, { cause: err }));
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The xmlsec1 arguments that verify `documentPath` with the key of the certificate at `certPath` only. */
export function xmlsecVerifyArguments(documentPath: string, certPath: string, rootName: string): string[] {
  return [
    '--verify',
    '--pubkey-cert-pem',
    certPath,
    '--id-attr:ID',
    `${NS.md}:${rootName}`,
    // Only a KeyName may be read from the document's KeyInfo, and it can only select a key we
    // loaded: a KeyValue or X509Data key in the document is never used.
    '--enabled-key-data',
    'key-name',
    '--enabled-reference-uris',
    'empty,same-doc',
    documentPath,
  ];
}

function lastLines(stderr: string): string {
  return stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 500);
}
