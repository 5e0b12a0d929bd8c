/**
 * Signature verification of large metadata documents by the xmlsec1 tool (Debian package xmlsec1),
 * out of process: about 1 s for a 67 MB eduGAIN aggregate where xml-crypto needs minutes and GBs.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidMetadataError, MetadataUnavailableError } from '../core/errors.js';
import { NS } from './namespaces.js';

export const XMLSEC1 = 'xmlsec1';
const TIMEOUT_MS = 60_000;
const MAX_STDERR = 64 * 1024;
/** Linux's shared-memory file system: files there never touch a disk. */
const RAM_FOLDER = '/dev/shm';

export interface XmlsecOptions {
  /** Executable; default `xmlsec1` on the PATH. */
  command?: string;
  timeoutMs?: number;
  /** Run it at low CPU priority (BACKGROUND_NICENESS). */
  lowPriority?: boolean;
  /** A folder in memory for the document it reads (default RAM_FOLDER); missing or full: standard input. */
  memoryFolder?: string;
}

/** The nice value of background metadata work: it gets about a tenth of a core that logins also want. */
export const BACKGROUND_NICENESS = 10;

/**
 * Verifies the first ds:Signature of `bytes` with the key of `certPem` only. `rootName` is the
 * local name of the root, whose ID attribute xmlsec1 must resolve `#ID` references against.
 * Resolves when valid; rejects with InvalidMetadataError when not, MetadataUnavailableError when
 * xmlsec1 cannot run.
 *
 * xmlsec1 reads the document from a file in memory (memoryFolder) when there is one with room: a
 * file on disk would wait on the disk whenever the machine writes much else, and its standard
 * input (the fallback) passes 64 kB at a time, which makes it a third slower.
 */
export async function verifyWithXmlsec(bytes: Uint8Array, certPem: string, rootName: string, opts: XmlsecOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? TIMEOUT_MS;
  const dir = await mkdtemp(join(tmpdir(), 'fedgate-xmlsec-'));
  const inMemory = await mkdtemp(join(opts.memoryFolder ?? RAM_FOLDER, 'fedgate-xmlsec-')).catch(() => undefined);
  try {
    const certPath = join(dir, 'signer.pem');
    await writeFile(certPath, certPem, { mode: 0o600 });
    let documentPath = '-';
    if (inMemory) {
      try {
        await writeFile(join(inMemory, 'metadata.xml'), bytes, { mode: 0o600 });
        documentPath = join(inMemory, 'metadata.xml');
      } catch {
        // Full (a container's /dev/shm is often 64 MB): standard input instead.
      }
    }
    await new Promise<void>((resolve, reject) => {
      const child = spawn(opts.command ?? XMLSEC1, xmlsecVerifyArguments(documentPath, certPath, rootName), {
        stdio: [documentPath === '-' ? 'pipe' : 'ignore', 'ignore', 'pipe'],
      });
      if (opts.lowPriority && child.pid !== undefined) {
        try {
          setPriority(child.pid, BACKGROUND_NICENESS);
        } catch {
          // Not allowed here (or gone already): it runs at the usual priority.
        }
      }
      // Not spawn's own timeout option: its timer stays behind when the command cannot start.
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      let stderr = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (text: string) => {
        if (stderr.length < MAX_STDERR) stderr += text;
      });
      if (child.stdin) {
        // xmlsec1 may stop reading early (a document it cannot parse): its exit status says why.
        child.stdin.on('error', () => undefined);
        child.stdin.end(bytes);
      }
      child.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (err.code === 'ENOENT') {
          reject(
            new MetadataUnavailableError(
              `cannot verify a large signed metadata document: the xmlsec1 tool is missing (install the Debian package xmlsec1)`,
              { cause: err },
            ),
          );
        } else {
          reject(new MetadataUnavailableError(`cannot run xmlsec1: ${err.message}`, { cause: err }));
        }
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) return resolve();
        if (timedOut) return reject(new MetadataUnavailableError(`xmlsec1 did not finish within ${timeoutMs} ms`));
        if (signal !== null) return reject(new MetadataUnavailableError(`xmlsec1 ended by ${signal}`));
        reject(new InvalidMetadataError(`metadata signature: xmlsec1 refused it: ${lastLines(stderr)}`));
      });
    });
  } finally {
    await Promise.all([dir, inMemory].map((d) => d && rm(d, { recursive: true, force: true })));
  }
}

/** The xmlsec1 arguments that verify `documentPath` ("-": standard input) with the key of the certificate at `certPath` only. */
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
