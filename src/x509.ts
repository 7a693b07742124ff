// The one door to @peculiar/x509. Since v2 it needs a Reflect polyfill loaded before it, and ESM
// hoists imports, so every module must import x509 from here and never from the package.

import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export * from '@peculiar/x509';
