// Builds @smelt/client (../client), which the app imports and bundles: installs
// its dependencies on first use (npm ci) and compiles it (tsc), so that the
// build and the unit tests always use the library's current source.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const client = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'client');

function npm(...args) {
  const result = spawnSync('npm', args, { cwd: client, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`npm ${args.join(' ')} failed in ${client}`);
    process.exit(result.status ?? 1);
  }
}

if (!existsSync(join(client, 'node_modules', '.package-lock.json'))) npm('ci', '--no-audit', '--no-fund', '--loglevel=error');
npm('run', '--silent', 'build');
