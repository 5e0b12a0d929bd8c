/**
 * The identifiers the assurance filter reasons about (spec/assurance.md): REFEDS RAF values, the
 * rules that tie them together, REFEDS MFA and Sirtfi, and the words a user reads for them.
 */

export const RAF_PREFIX = 'https://refeds.org/assurance';

export const RAF = {
  conformance: RAF_PREFIX,
  idUnique: `${RAF_PREFIX}/ID/unique`,
  eppnUniqueNoReassign: `${RAF_PREFIX}/ID/eppn-unique-no-reassign`,
  eppnUniqueReassign1y: `${RAF_PREFIX}/ID/eppn-unique-reassign-1y`,
  iapLow: `${RAF_PREFIX}/IAP/low`,
  iapMedium: `${RAF_PREFIX}/IAP/medium`,
  iapHigh: `${RAF_PREFIX}/IAP/high`,
  iapLocalEnterprise: `${RAF_PREFIX}/IAP/local-enterprise`,
  epa1m: `${RAF_PREFIX}/ATP/ePA-1m`,
  epa1d: `${RAF_PREFIX}/ATP/ePA-1d`,
  cappuccino: `${RAF_PREFIX}/profile/cappuccino`,
  espresso: `${RAF_PREFIX}/profile/espresso`,
  version2: `${RAF_PREFIX}/version/2`,
} as const;

/** Every RAF value, in the order fedgate emits them. */
export const RAF_VALUES: readonly string[] = Object.values(RAF);

/** RAF values an upstream may pass on; profiles are never passed, always recomputed (spec §2). */
export const PASSABLE_RAF_VALUES = RAF_VALUES.filter((v) => v !== RAF.cappuccino && v !== RAF.espresso) as [string, ...string[]];

/** Misspellings published by NFDI and KIT pages (spec §1): accepted inbound when configured, never emitted. */
export const WRONG_SPELLINGS: Readonly<Record<string, string>> = {
  [`${RAF_PREFIX}/ID/no-eppn-reassign`]: RAF.eppnUniqueNoReassign,
  [`${RAF_PREFIX}/ID/eppn-reassign-1y`]: RAF.eppnUniqueReassign1y,
};

/** Cumulative values: asserting the key asserts these too (spec §1, as SWAMID, EGI and Helmholtz deploy). */
export const IMPLIED: Readonly<Record<string, readonly string[]>> = {
  [RAF.iapHigh]: [RAF.iapMedium, RAF.iapLow],
  [RAF.iapMedium]: [RAF.iapLow],
  [RAF.epa1d]: [RAF.epa1m],
};

/** Components of each profile (spec §2); espresso additionally needs REFEDS MFA for the login. */
export const PROFILE_COMPONENTS: Readonly<Record<string, readonly string[]>> = {
  [RAF.cappuccino]: [RAF.conformance, RAF.idUnique, RAF.iapMedium, RAF.epa1m],
  [RAF.espresso]: [RAF.conformance, RAF.idUnique, RAF.iapHigh, RAF.epa1m],
};

/** What a social provider's login never carries, however it is configured (spec §7). */
export const NEVER_FROM_SOCIAL: ReadonlySet<string> = new Set([RAF.iapMedium, RAF.iapHigh, RAF.epa1m, RAF.epa1d]);

export const REFEDS_MFA = 'https://refeds.org/profile/mfa';
export const REFEDS_SFA = 'https://refeds.org/profile/sfa';

/** Sirtfi v2 compliance implies v1 (refeds.md §5), so either value makes an entity Sirtfi. */
export const SIRTFI_VALUES: readonly string[] = ['https://refeds.org/sirtfi', 'https://refeds.org/sirtfi2'];

export const EGI_LOA = {
  low: 'https://aai.egi.eu/LoA#Low',
  substantial: 'https://aai.egi.eu/LoA#Substantial',
  high: 'https://aai.egi.eu/LoA#High',
} as const;

const RAF_WORDS: Readonly<Record<string, string>> = {
  [RAF.conformance]: 'an identity provider that follows the REFEDS Assurance Framework',
  [RAF.idUnique]: 'a unique identifier that is never given to anyone else',
  [RAF.eppnUniqueNoReassign]: 'a user name (eduPersonPrincipalName) that is never given to anyone else',
  [RAF.eppnUniqueReassign1y]: 'a user name (eduPersonPrincipalName) not given to anyone else within a year',
  [RAF.iapLow]: 'a confirmed identity at the low level',
  [RAF.iapMedium]: 'an identity your organisation has verified at the medium level',
  [RAF.iapHigh]: 'an identity your organisation has verified at the high level',
  [RAF.iapLocalEnterprise]: 'an identity your organisation trusts for its own internal systems',
  [RAF.epa1m]: 'an affiliation (e.g. staff or student) your organisation confirmed within the last month',
  [RAF.epa1d]: 'an affiliation (e.g. staff or student) your organisation confirmed within the last day',
  [RAF.cappuccino]: 'REFEDS Cappuccino assurance',
  [RAF.espresso]: 'REFEDS Espresso assurance',
  [REFEDS_MFA]: 'a login with multi-factor authentication',
};

/** A phrase for an assurance value, for pages; unknown values are shown as they are. */
export function describeAssurance(value: string): string {
  return RAF_WORDS[value] ?? `“${value}”`;
}

/** A short name for an authentication level URI: REFEDS profiles by name, others by their last part. */
export function levelName(uri: string): string {
  if (uri === REFEDS_MFA) return 'multi-factor (REFEDS MFA)';
  if (uri === REFEDS_SFA) return 'single-factor (REFEDS SFA)';
  const last = uri.split(/[#/:]/).filter(Boolean).pop();
  return last ?? uri;
}
