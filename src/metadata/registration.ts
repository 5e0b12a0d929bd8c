/** Registrations of SAML entities, read from their verified metadata records. */
import { fromSamlName } from '../core/attributes.js';
import { ENTITY_ATTRIBUTE, type ServiceRegistration, type UpstreamRegistration } from '../core/registration.js';
import { HIDE_FROM_DISCOVERY, type EntityRecord } from './types.js';

const SUBJECT_ID_REQUIREMENTS = ['subject-id', 'pairwise-id', 'any', 'none'] as const;

/** A SAML SP as a service; its requested attributes by internal name (unknown names are left out). */
export function serviceFromEntity(record: EntityRecord): ServiceRegistration {
  const requirement = record.entityAttributes[ENTITY_ATTRIBUTE.subjectIdRequirement]?.[0];
  return {
    id: record.entityId,
    protocol: 'saml',
    name: record.sp?.ui.displayName ?? record.organizationDisplayName,
    entityCategories: record.entityAttributes[ENTITY_ATTRIBUTE.category] ?? [],
    requestedAttributes: (record.sp?.requestedAttributes ?? []).flatMap((a) => {
      const definition = fromSamlName(a.name);
      return definition ? [{ name: definition.name, required: a.isRequired }] : [];
    }),
    ...((SUBJECT_ID_REQUIREMENTS as readonly string[]).includes(requirement ?? '')
      ? { subjectIdRequirement: requirement as ServiceRegistration['subjectIdRequirement'] }
      : {}),
  };
}

/** A SAML IdP as an upstream of `backend`; `hidden` when configuration or its category says so. */
export function upstreamFromEntity(record: EntityRecord, backend: string, hiddenByConfig: boolean): UpstreamRegistration | undefined {
  if (!record.idp) return undefined;
  const ui = record.idp.ui;
  const displayName =
    Object.keys(ui.displayName).length > 0
      ? ui.displayName
      : Object.keys(record.organizationDisplayName).length > 0
        ? record.organizationDisplayName
        : { '': record.entityId };
  const logo = ui.logos.find((l) => /^(https:\/\/|data:image\/)/i.test(l.url))?.url;
  const hidden = hiddenByConfig || (record.entityAttributes[ENTITY_ATTRIBUTE.category] ?? []).includes(HIDE_FROM_DISCOVERY);
  const keywords = Object.values(ui.keywords ?? {}).flat();
  const domainHints = record.idp.discoHints?.domainHints ?? [];
  return {
    id: record.entityId,
    backend,
    protocol: 'saml',
    social: false,
    displayName,
    ...(logo ? { logo } : {}),
    hidden,
    ...(keywords.length > 0 ? { keywords } : {}),
    ...(domainHints.length > 0 ? { domainHints } : {}),
    scopes: record.idp.scopes,
    ...(record.registrationAuthority ? { registrationAuthority: record.registrationAuthority } : {}),
    entityAttributes: record.entityAttributes,
  };
}
