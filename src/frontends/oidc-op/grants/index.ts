/**
 * The provider's optional grants and features beyond authorization code and refresh token, one
 * module each in this folder. Adding one is adding it here (and its grant type to GRANT_TYPES in
 * ../config.ts when clients are configured with it).
 */
import type { OidcOpExtension } from '../extensions.js';

export const EXTENSIONS: readonly OidcOpExtension[] = [];
