/**
 * What a preset supplies when the operator leaves it out (spec/attributes.md §7,
 * dependencies.md §6). `generic` is any OpenID Provider with discovery; the others are the
 * social providers fedgate knows by name.
 */
import type { Localized } from '../../metadata/types.js';

export const PRESET_NAMES = ['generic', 'google', 'orcid', 'github'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export interface Preset {
  /** OpenID Connect with discovery, or plain OAuth2 with endpoints known in advance (GitHub). */
  protocol: 'oidc' | 'oauth2';
  /** Issuer for discovery; for GitHub a pseudo-issuer that names it as an upstream. */
  issuer?: string;
  scopes: string[];
  displayName?: Localized;
  /** A social (low-assurance) provider, AARC-G021 "Assam". */
  social: boolean;
  /** Fetch the userinfo endpoint after the token request. */
  userinfo: boolean;
}

export const PRESETS: Record<PresetName, Preset> = {
  generic: { protocol: 'oidc', scopes: ['openid', 'profile', 'email'], social: false, userinfo: true },
  // Google puts the profile and email claims into the ID token: no userinfo round trip needed.
  google: {
    protocol: 'oidc',
    issuer: 'https://accounts.google.com',
    scopes: ['openid', 'profile', 'email'],
    displayName: { en: 'Google' },
    social: true,
    userinfo: false,
  },
  // ORCID releases the iD as `sub` with scope openid; names come from userinfo.
  orcid: { protocol: 'oidc', issuer: 'https://orcid.org', scopes: ['openid'], displayName: { en: 'ORCID' }, social: true, userinfo: true },
  // GitHub is OAuth2 only: no discovery, no ID token. `https://github.com` is not an OIDC issuer,
  // only the name under which GitHub appears as an upstream (discovery, hints, Identity.issuer).
  github: {
    protocol: 'oauth2',
    issuer: 'https://github.com',
    scopes: ['read:user', 'user:email'],
    displayName: { en: 'GitHub' },
    social: true,
    userinfo: false,
  },
};

/** GitHub's OAuth2 endpoints and REST API (overridable in configuration, for tests and GitHub Enterprise). */
export const GITHUB_ENDPOINTS = {
  authorization: 'https://github.com/login/oauth/authorize',
  token: 'https://github.com/login/oauth/access_token',
  api: 'https://api.github.com',
} as const;
