/**
 * Reads the YAML configuration and validates it against the schema. Every problem becomes one
 * line `key.path[2].name: what is wrong`, so an operator can fix them all in one go.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { configSchema, type Config } from './schema.js';

export const DEFAULT_CONFIG_PATH = 'config/fedgate.yaml';

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(top level)';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown key${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`;
  }
  if (issue.code === 'invalid_union' && issue.path.length > 0) {
    return 'not one of the accepted forms';
  }
  return issue.message;
}

/** Validates an already-parsed configuration object. */
export function parseConfig(raw: unknown): Config {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${formatPath(i.path)}: ${describeIssue(i)}`));
  }
  return result.data;
}

/** Reads and validates the YAML file at `path`. */
export function loadConfig(path: string = DEFAULT_CONFIG_PATH): Config {
  if (!existsSync(path)) throw new ConfigError([`${path}: configuration file not found`]);
  const doc = parseDocument(readFileSync(path, 'utf8'), { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${path}: YAML syntax: ${e.message.split('\n')[0]}`));
  }
  return parseConfig(doc.toJS());
}
