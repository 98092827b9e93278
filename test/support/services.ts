/**
 * Starts the real services the integration tests talk to — PostgreSQL, Redis and an S3-compatible
 * server — on free loopback ports in a temporary folder, installing the Debian packages when they
 * are missing (CI runs on a fresh machine as root). Used by vitest's globalSetup and by bench/.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, chownSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface RunningServices {
  pgUrl?: string;
  redisUrl?: string;
  s3Endpoint?: string;
  s3Bucket?: string;
  stop(): Promise<void>;
}

/** A port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

let aptUpdated = false;
/**
 * Installs a Debian package (CI is a fresh Debian 12, as root). Test files may install at the same
 * time, so apt waits for the other's dpkg lock rather than failing.
 */
export function aptInstall(pkg: string): void {
  if (userInfo().uid !== 0) throw new Error(`${pkg} is missing; install it (apt-get install ${pkg}) or run the tests as root`);
  if (!aptUpdated) {
    execFileSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'update', '-qq'], { stdio: 'inherit' });
    aptUpdated = true;
  }
  execFileSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '-qq', pkg], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function pgBinDir(): string {
  const find = () => {
    if (!existsSync('/usr/lib/postgresql')) return undefined;
    const versions = readdirSync('/usr/lib/postgresql').filter((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));
    versions.sort((a, b) => Number(b) - Number(a));
    return versions[0] ? `/usr/lib/postgresql/${versions[0]}/bin` : undefined;
  };
  let dir = find();
  if (!dir) {
    aptInstall('postgresql');
    dir = find();
  }
  if (!dir) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql after installing postgresql');
  return dir;
}

/** The path of a command on PATH, or undefined. */
export function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

async function waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

/** Runs a PostgreSQL server binary as the postgres user when we are root (initdb refuses root). */
function asPostgres(bin: string, args: string[]): [string, string[]] {
  if (userInfo().uid === 0) return ['runuser', ['-u', 'postgres', '--', bin, ...args]];
  return [bin, args];
}

export async function startPostgres(root: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const bin = pgBinDir();
  const dir = join(root, 'pg');
  execFileSync('mkdir', ['-p', dir]);
  if (userInfo().uid === 0) {
    execFileSync('chown', ['-R', 'postgres:postgres', root]);
  }
  const port = await freePort();
  const [initCmd, initArgs] = asPostgres(join(bin, 'initdb'), ['-D', dir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  execFileSync(initCmd, initArgs, { stdio: 'ignore' });
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=256MB`;
  const [ctlCmd, ctlArgs] = asPostgres(join(bin, 'pg_ctl'), ['-D', dir, '-o', opts, '-l', join(dir, 'server.log'), '-w', 'start']);
  execFileSync(ctlCmd, ctlArgs, { stdio: 'ignore' });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    stop: async () => {
      const [c, a] = asPostgres(join(bin, 'pg_ctl'), ['-D', dir, '-m', 'immediate', '-w', 'stop']);
      try {
        execFileSync(c, a, { stdio: 'ignore' });
      } catch {
        /* already stopped */
      }
    },
  };
}

export async function startRedis(root: string): Promise<{ url: string; stop: () => Promise<void> }> {
  let bin = which('redis-server');
  if (!bin) {
    aptInstall('redis-server');
    bin = which('redis-server');
  }
  if (!bin) throw new Error('redis-server not found after installing it');
  const port = await freePort();
  const dir = join(root, 'redis');
  execFileSync('mkdir', ['-p', dir]);
  const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitFor(async () => {
    const { Socket } = await import('node:net');
    return new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.once('error', () => resolve(false));
      s.connect(port, '127.0.0.1', () => {
        s.write('PING\r\n');
        s.once('data', (d) => {
          s.destroy();
          resolve(d.toString().includes('PONG'));
        });
      });
    });
  }, 'redis-server');
  return { url: `redis://127.0.0.1:${port}`, stop: async () => killChild(child) };
}

export async function startS3(root: string): Promise<{ endpoint: string; bucket: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const dir = join(root, 's3');
  execFileSync('mkdir', ['-p', dir]);
  const bucket = 'sextant-test';
  const script = join(process.cwd(), 'node_modules', 's3rver', 'bin', 's3rver.js');
  // s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node 17+) only offers
  // through the legacy provider; without it every truncated list (> 1000 keys) answers 500 InternalError.
  const child: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', script, '-d', dir, '-p', String(port), '-a', '127.0.0.1', '--configure-bucket', bucket, '--silent'], {
    stdio: 'ignore',
  });
  await waitFor(async () => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/${bucket}?list-type=2`);
      return res.status === 200;
    } catch {
      return false;
    }
  }, 's3rver');
  return { endpoint: `http://127.0.0.1:${port}`, bucket, stop: async () => killChild(child) };
}

function killChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}

/** Starts the services named, in parallel where they can be. */
export async function startServices(which: { postgres?: boolean; redis?: boolean; s3?: boolean }): Promise<RunningServices> {
  const root = mkdtempSync(join(tmpdir(), 'sextant-services-'));
  const stops: Array<() => Promise<void>> = [];
  const out: RunningServices = {
    stop: async () => {
      await Promise.all(stops.map((s) => s().catch(() => undefined)));
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    // apt-get may run inside the starters; keep them sequential so two installs never race for the lock.
    if (which.postgres) {
      const pg = await startPostgres(root);
      stops.push(pg.stop);
      out.pgUrl = pg.url;
    }
    if (which.redis) {
      const r = await startRedis(root);
      stops.push(r.stop);
      out.redisUrl = r.url;
    }
    if (which.s3) {
      const s3 = await startS3(root);
      stops.push(s3.stop);
      out.s3Endpoint = s3.endpoint;
      out.s3Bucket = s3.bucket;
    }
  } catch (err) {
    await out.stop();
    throw err;
  }
  writeFileSync(join(root, 'README'), 'Temporary services of a Sextant test run; removed when it ends.\n');
  if (userInfo().uid === 0) chownSync(join(root, 'README'), 0, 0);
  return out;
}
