// The Athenz name grammar (core/zts RDL Names.tdl), matched against the whole string. Names end
// up in file names and URL paths, so nothing that fails these checks goes anywhere near either.

const SIMPLE = '[a-zA-Z0-9_][a-zA-Z0-9_-]*';

/** SimpleName: a service name in the instance API. */
export const SIMPLE_NAME = new RegExp(`^${SIMPLE}$`);

/** CompoundName: domains, roles and services. Dots separate parts; no `/`, `:` or `..`. */
export const COMPOUND_NAME = new RegExp(`^(${SIMPLE}\\.)*${SIMPLE}$`);

/** ZMS refuses domain names longer than this (athenz.zms.domain_name_max_len). */
export const DOMAIN_NAME_MAX_LENGTH = 128;

export function isCompoundName(name: string): boolean {
  return COMPOUND_NAME.test(name);
}

export function isDomainName(name: string): boolean {
  return name.length <= DOMAIN_NAME_MAX_LENGTH && COMPOUND_NAME.test(name);
}
