/** `fedgate keys`: writes a new key pair for operators who keep their keys outside the data folder. */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { generateKeyPair, sha256Fingerprint } from './keys.js';

export interface KeysCommandResult {
  keyPath: string;
  certPath: string;
  /** SHA-256 of the new certificate, lowercase hex. */
  fingerprint: string;
}

export async function runKeysCommand(args: { out: string; name: string; cn: string }): Promise<KeysCommandResult> {
  const keyPath = join(args.out, `${args.name}.key`);
  const certPath = join(args.out, `${args.name}.crt`);
  const existing = [keyPath, certPath].filter((p) => existsSync(p));
  if (existing.length > 0) {
    throw new ConfigError(existing.map((p) => `${p} already exists; refusing to overwrite it`));
  }
  await mkdir(args.out, { recursive: true, mode: 0o700 });
  const pair = await generateKeyPair(args.cn);
  // 'wx' closes the gap between the check above and the write.
  await writeFile(keyPath, pair.keyPem, { mode: 0o600, flag: 'wx' });
  await writeFile(certPath, pair.certPem, { mode: 0o644, flag: 'wx' });
  return { keyPath, certPath, fingerprint: sha256Fingerprint(pair.certPem) };
}
