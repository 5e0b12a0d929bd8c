/**
 * Whether a scope is one an upstream may assert (spec/attributes.md §5). Literal scopes compare
 * case-insensitively, as domains do. Regexp scopes come from metadata, i.e. from a third party:
 * each is compiled once and anchored, runs only on bounded input, and under a time budget, so a
 * catastrophic pattern costs one short stall and is then disabled instead of hanging the process.
 */
import vm from 'node:vm';
import type { Scope } from '../metadata/types.js';

/** eduPersonUniqueId allows a 256-character scope, subject-id 127: nothing longer is a scope. */
export const MAX_SCOPE_LENGTH = 256;
const REGEXP_BUDGET_MS = 25;

/**
 * What follows the first '@' (spec §3 splits scoped affiliations there). A scope that still
 * contains '@' is no domain, so values with several '@' never match, whichever '@' one split at;
 * undefined when there is no scope or no local part.
 */
export function scopeOf(value: string): string | undefined {
  const at = value.indexOf('@');
  if (at <= 0) return undefined;
  const scope = value.slice(at + 1);
  return isPlausibleScope(scope) ? scope : undefined;
}

export function isPlausibleScope(scope: string): boolean {
  return scope.length > 0 && scope.length <= MAX_SCOPE_LENGTH && !scope.includes('@');
}

// V8 can interrupt a running regexp only through vm's watchdog; one context serves every test.
const sandbox = vm.createContext({});
const runTest = new vm.Script('pattern.test(input)');

export class ScopeMatcher {
  /** Compiled regexp scopes; null when the pattern is unusable (invalid, or it ran out of time). */
  private readonly compiled = new Map<string, RegExp | null>();

  constructor(
    private readonly options: {
      honourRegexp: boolean;
      /** Told once per pattern that is disabled, and why. */
      onBadPattern(pattern: string, problem: string): void;
    },
  ) {}

  matches(scope: string, allowed: readonly Scope[]): boolean {
    if (!isPlausibleScope(scope)) return false;
    const lower = scope.toLowerCase();
    return allowed.some((s) => (s.regexp ? this.options.honourRegexp && this.matchesPattern(s.value, scope) : s.value.toLowerCase() === lower));
  }

  private matchesPattern(pattern: string, scope: string): boolean {
    const regexp = this.compile(pattern);
    if (!regexp) return false;
    sandbox.pattern = regexp;
    sandbox.input = scope;
    try {
      return runTest.runInContext(sandbox, { timeout: REGEXP_BUDGET_MS }) === true;
    } catch (error) {
      // Errors from the sandbox belong to its realm: recognise them by code, not by class.
      if ((error as { code?: unknown }).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw error;
      this.disable(pattern, `matching took longer than ${REGEXP_BUDGET_MS} ms`);
      return false;
    } finally {
      sandbox.pattern = undefined;
      sandbox.input = undefined;
    }
  }

  private compile(pattern: string): RegExp | null {
    const known = this.compiled.get(pattern);
    if (known !== undefined) return known;
    try {
      // Parsed alone first: a pattern such as "x)|(.*" would otherwise close the anchoring group.
      new RegExp(pattern);
      // Anchored whatever the pattern says: "dept\.example\.org" must not match "dept.example.org.evil.com".
      const regexp = new RegExp(`^(?:${pattern})$`, 'i');
      this.compiled.set(pattern, regexp);
      return regexp;
    } catch (error) {
      this.disable(pattern, `not a valid regular expression: ${(error as Error).message}`);
      return null;
    }
  }

  private disable(pattern: string, problem: string): void {
    this.compiled.set(pattern, null);
    this.options.onBadPattern(pattern, problem);
  }
}
