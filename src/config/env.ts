// `${NAME}` in any string value of the config is replaced by the environment variable NAME, so one
// ConfigMap can serve every pod while pod-specific values (POD_UID, the namespace) come from the
// downward API. An unset variable is an error that names the key; `$${` escapes a literal `${`.

const REFERENCE = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Returns a copy of `value` with references expanded; collects a message per unset variable. */
export function expandEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  issues: string[],
  path = '',
): unknown {
  if (typeof value === 'string') {
    return value.replace(REFERENCE, (whole, escape: string, name: string) => {
      if (escape === '$') {
        return whole.slice(1);
      }
      const found = env[name];
      if (found === undefined) {
        issues.push(
          `${path || '(top level)'}: ${JSON.stringify(value)} uses \${${name}}, which is not set in the environment`,
        );
        return whole;
      }
      return found;
    });
  }
  if (Array.isArray(value)) {
    return value.map((item, index) => expandEnv(item, env, issues, `${path}[${index}]`));
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        expandEnv(item, env, issues, path === '' ? key : `${path}.${key}`),
      ]),
    );
  }
  return value;
}
