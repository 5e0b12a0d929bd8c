/** Short reference ids a user can quote to support, and that logs carry. */
import { randomBytes } from 'node:crypto';

/** Base32-like, no ambiguous characters. */
export function referenceId(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return [...randomBytes(10)].map((b) => alphabet[b % alphabet.length]).join('');
}
