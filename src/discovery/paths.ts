/** Where discovery answers; the SAML SP backend publishes the return path in its metadata. */
export const DISCOVERY_PATH = '/discovery';
/** The JSON search API over all upstreams. */
export const SEARCH_PATH = '/discovery/search';
/** Where an external discovery service sends the user back (idpdisc:DiscoveryResponse of fedgate's SP). */
export const DISCOVERY_RETURN_PATH = '/discovery/return';
/** The script that turns the page's search form into a type-ahead search. */
export const SCRIPT_PATH = '/static/discovery.js';
