// The agent's own name and version, read once from package.json (one level above src/ and dist/).

import { readFileSync } from 'node:fs';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
};

export const AGENT_NAME = manifest.name;
export const AGENT_VERSION = manifest.version;
export const USER_AGENT = `${manifest.name}/${manifest.version}`;
