/**
 * The provider's optional grants and features beyond authorization code and refresh token, one
 * module each in this folder. Adding one is adding it here (and its grant type to GRANT_TYPES in
 * ../config.ts when clients are configured with it).
 */
import type { OidcOpExtension } from '../extensions.js';
import { deviceFlow } from './device.js';
import { tokenExchange } from './token-exchange.js';

export const EXTENSIONS: readonly OidcOpExtension[] = [tokenExchange, deviceFlow];
