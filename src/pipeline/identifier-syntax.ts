/** Identifier grammars of spec/attributes.md §3: validated on input, guaranteed on output. */

/** subject-id and pairwise-id: uniqueID (1–127 of [A-Za-z0-9=-], first alphanumeric) "@" scope. */
export const SUBJECT_ID = /^[A-Za-z0-9][A-Za-z0-9=-]{0,126}@[A-Za-z0-9][A-Za-z0-9.-]{0,126}$/;

/** The scope part of a subject-id: 1–127 of [A-Za-z0-9.-], first alphanumeric. */
export const SUBJECT_ID_SCOPE = /^[A-Za-z0-9][A-Za-z0-9.-]{0,126}$/;

/** eduPersonUniqueId: up to 64 of [A-Za-z0-9] "@" a scope of at most 256 characters. */
export const EDUPERSON_UNIQUE_ID = /^[A-Za-z0-9]{1,64}@[^@\s]{1,256}$/;

/** eduPersonPrincipalName: user "@" administrative domain, exactly one '@'. */
export const EDUPERSON_PRINCIPAL_NAME = /^[^@\s]+@[^@\s]+$/;
