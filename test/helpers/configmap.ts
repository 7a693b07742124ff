// Reproduces how kubelet updates a mounted ConfigMap (AtomicWriter): the data lives in a
// `..<timestamp>` folder, `..data` links to it, and the visible `config.yaml` links to
// `..data/config.yaml` and never changes. An update writes a new folder, points `..data_tmp` at
// it, renames `..data_tmp` over `..data`, then deletes the old folder.
import { mkdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export class ConfigMapDir {
  readonly dir: string;
  #generation = 0;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** The path the agent is given. */
  get path(): string {
    return join(this.dir, 'config.yaml');
  }

  async init(content: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const folder = await this.#folder(content);
    await symlink(folder, join(this.dir, '..data'));
    await symlink(join('..data', 'config.yaml'), this.path);
  }

  /** One kubelet update. With `missingForMs`, the new folder lacks the file for that long. */
  async swap(content: string, options: { missingForMs?: number } = {}): Promise<void> {
    const previous = await readlink(join(this.dir, '..data'));
    const folder = await this.#folder(options.missingForMs === undefined ? content : undefined);
    await symlink(folder, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    await rm(join(this.dir, previous), { recursive: true, force: true });
    if (options.missingForMs !== undefined) {
      await new Promise((resolve) => setTimeout(resolve, options.missingForMs));
      await writeFile(join(this.dir, folder, 'config.yaml'), content);
    }
  }

  async #folder(content: string | undefined): Promise<string> {
    this.#generation += 1;
    const name = `..2026_12_04_10_00_${String(this.#generation).padStart(2, '0')}.${process.pid}`;
    await mkdir(join(this.dir, name));
    if (content !== undefined) {
      await writeFile(join(this.dir, name, 'config.yaml'), content);
    }
    return name;
  }
}
