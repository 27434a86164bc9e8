/**
 * Config discovery, as size-limit and ESLint do it: with no config argument, memplan reads
 * `memplan.yaml`, else `.memplanrc.yaml`, else the `memplan` key of package.json (a path to a run
 * config), in the current directory; else the one run config there (a YAML file with a top-level
 * `model:` key). Several candidates, or none, is an error that lists what was found.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MemplanError } from '../core/errors.js';
import { isRunConfig } from './expand.js';
import { confine, readBounded } from '../io/files.js';

export const CONFIG_NAMES = ['memplan.yaml', '.memplanrc.yaml'] as const;

function fromPackageJson(dir: string): string | undefined {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return undefined;
  let pkg: unknown;
  try {
    const r = readBounded(file);
    if (r.text === undefined) return undefined;
    pkg = JSON.parse(r.text);
  } catch {
    return undefined;
  }
  const v = (pkg as { memplan?: unknown } | null)?.memplan;
  if (v === undefined) return undefined;
  const path = typeof v === 'string' ? v : typeof v === 'object' && v && typeof (v as { config?: unknown }).config === 'string' ? (v as { config: string }).config : undefined;
  if (!path) {
    throw new MemplanError('E_CONFIG', 'the "memplan" key of package.json names no config', {
      file: 'package.json',
      path: 'memplan',
      expected: '"memplan": "path/to/run-config.yaml" (or {"config": "path"})',
    });
  }
  // The path comes from the repository's own file, like a config's model:, and is confined the same way (docs/security.md).
  const config = resolve(dir, path);
  const refused = confine(config, file, false);
  if (refused) {
    throw new MemplanError('E_FILE', `the config package.json names is refused: ${refused.replace("config's", "package.json's")}`, {
      file: 'package.json',
      path: 'memplan',
      expected: 'a run config inside the repository',
      hint: 'name the config on the command line if you mean to read it',
    });
  }
  return config;
}

/** The config a command without a config argument reads in `dir`. */
export function discoverConfig(dir = process.cwd()): string {
  for (const name of CONFIG_NAMES) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  const pkg = fromPackageJson(dir);
  if (pkg) return pkg;
  const yamls = readdirSync(dir).filter((f) => /\.ya?ml$/i.test(f)).sort();
  const runs = yamls.filter((f) => isRunConfig(join(dir, f)));
  if (runs.length === 1) return join(dir, runs[0]!);
  if (runs.length > 1) {
    throw new MemplanError('E_CONFIG', `${runs.length} run configs here and no memplan.yaml: which one?`, {
      path: '<config>',
      expected: `one of ${runs.join(', ')}`,
      hint: `name one (memplan estimate ${runs[0]}), or add memplan.yaml (or a "memplan" key in package.json) for the default`,
    });
  }
  throw new MemplanError('E_FILE', 'no config given and none found in this directory', {
    path: '<config>',
    expected: 'memplan.yaml, .memplanrc.yaml, a "memplan" key in package.json, or one run config (YAML with model:) here',
    hint: yamls.length ? `the YAML here (${yamls.join(', ')}) has no top-level model: key; run \`memplan init\` for a starter` : 'run `memplan init` to write a starter memplan.yaml and model.yaml',
  });
}

/** The config argument as typed, or the discovered one. */
export function configArg(file: string | undefined): string {
  return file ?? discoverConfig();
}
