// Turns zod issues into one line each: `<key path>: <value> <rule>`.

import type * as z from 'zod';

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
};

const show = (value: unknown): string =>
  typeof value === 'number' ? String(value) : JSON.stringify(value);

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const key = formatPath(issue.path);
    switch (issue.code) {
      case 'unrecognized_keys':
        return issue.keys
          .map(
            (name) =>
              `${joinKey(key, name)}: unknown key (check the spelling against config/example.yaml)`,
          )
          .join('; ');
      case 'invalid_type':
        if (!issue.message.startsWith('Invalid input')) {
          return `${key}: ${issue.message}`;
        }
        return issue.input === undefined
          ? `${key}: required (expected ${TYPE_NAMES[issue.expected] ?? issue.expected})`
          : `${key}: ${show(issue.input)} is not ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
      case 'too_small':
      case 'too_big':
        return `${key}: ${show(issue.input)} ${issue.message.replace(/^Too (small|big): expected \w+ to (have|be) /, 'must be ')}`;
      default:
        return `${key}: ${issue.message}`;
    }
  });
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

function joinKey(parent: string, name: string): string {
  return parent === '(top level)' ? name : `${parent}.${name}`;
}
