/**
 * Builds the optional native conv kernels (spikedrive_kernels.cc) with the host C++ compiler the first time they
 * are needed and caches the binary by source, Node ABI, platform and CPU. node-gyp is not used: it downloads Node
 * headers, which fails offline, while the headers that ship beside the node binary are enough for N-API. Every
 * failure is reported as a reason string so callers fall back to the pure-JS kernels; nothing here throws for a
 * missing compiler.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { arch, cpus, platform, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const NATIVE_SOURCE = join(here, 'spikedrive_kernels.cc');

export interface NativeBuildResult {
  /** Absolute path of the built (or cached) `.node` file, or null when it could not be built. */
  path: string | null;
  /** What happened, for logs and `backendInfo()`. */
  reason: string;
  /** Whether this call ran the compiler (false when the cache already had the binary). */
  compiled: boolean;
  /** Compiler and flags used. */
  compiler: string | null;
}

/** Directory the binaries are cached in: `SPIKEDRIVE_NATIVE_CACHE` or `node_modules/.cache/spikedrive-native`. */
export function nativeCacheDir(): string {
  const fromEnv = process.env.SPIKEDRIVE_NATIVE_CACHE;
  if (fromEnv) return resolve(fromEnv);
  const repoRoot = resolve(here, '..', '..', '..', '..');
  const nodeModules = join(repoRoot, 'node_modules');
  return existsSync(nodeModules) ? join(nodeModules, '.cache', 'spikedrive-native') : privateTempDir();
}

/** CPU identity for the cache key: the binary is built with -march=native, so it must not move between CPUs. */
function cpuIdentity(): string {
  if (platform() === 'linux') {
    try {
      const text = readFileSync('/proc/cpuinfo', 'utf8');
      const flags = /^flags\s*:\s*(.*)$/m.exec(text)?.[1] ?? '';
      const model = /^model name\s*:\s*(.*)$/m.exec(text)?.[1] ?? '';
      return `${model}|${flags}`;
    } catch {
      // fall through to the os module's view
    }
  }
  return cpus()[0]?.model ?? 'unknown-cpu';
}

/** Per-user directory under the system temp dir (a shared /tmp must not hand us someone else's binary). */
function privateTempDir(): string {
  return join(tmpdir(), `spikedrive-native-${process.getuid?.() ?? 'user'}`);
}

/** A binary is only loaded from a directory we own that others cannot write (where the OS has owners). */
function safeDir(dir: string): boolean {
  if (platform() === 'win32' || process.getuid === undefined) return true;
  if (!dir.startsWith(tmpdir())) return true; // the project's own node_modules: trusted like the code itself
  try {
    const st = statSync(dir);
    return st.uid === process.getuid() && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

function nodeIncludeDirs(): string[] {
  const candidates = [
    join(dirname(process.execPath), '..', 'include', 'node'),
    join(
      String((process.config.variables as Record<string, unknown>).node_prefix ?? '/usr'),
      'include',
      'node',
    ),
    '/usr/include/node',
    '/usr/local/include/node',
  ];
  return candidates.filter((dir) => existsSync(join(dir, 'node_api.h')));
}

function run(file: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; output: string }> {
  return new Promise((done) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 4 << 20 }, (error, stdout, stderr) => {
      done({ ok: error === null, output: `${stdout}${stderr}`.trim() || String(error?.message ?? '') });
    });
  });
}

async function findCompiler(): Promise<string | null> {
  const candidates = [process.env.CXX, 'c++', 'g++', 'clang++'].filter((c): c is string => Boolean(c));
  for (const cxx of candidates) {
    const probe = await run(cxx, ['--version'], 10_000);
    if (probe.ok) return cxx;
  }
  return null;
}

let pending: Promise<NativeBuildResult> | null = null;

/**
 * Returns the cached native binary, compiling it first when absent. Concurrent callers in one thread share one
 * build; concurrent processes each compile to a private temporary file and rename it into place atomically.
 */
export function buildNativeKernels(
  options: { log?: (message: string) => void } = {},
): Promise<NativeBuildResult> {
  pending ??= doBuild(options.log).finally(() => {
    pending = null;
  });
  return pending;
}

/** The flags a build uses; part of the cache key. */
function compileFlags(): string[] {
  const flags = [
    '-O3',
    '-std=c++17',
    '-shared',
    '-fPIC',
    '-pthread',
    '-fno-exceptions',
    '-fvisibility=hidden',
  ];
  if (platform() === 'darwin') flags.push('-undefined', 'dynamic_lookup');
  return flags;
}

async function doBuild(log?: (message: string) => void): Promise<NativeBuildResult> {
  if (!existsSync(NATIVE_SOURCE)) {
    return {
      path: null,
      reason: `native source missing (${NATIVE_SOURCE})`,
      compiled: false,
      compiler: null,
    };
  }
  if (platform() === 'win32') {
    return { path: null, reason: 'native kernels are not built on Windows', compiled: false, compiler: null };
  }
  const source = readFileSync(NATIVE_SOURCE);
  const key = createHash('sha256')
    .update(source)
    .update(compileFlags().join(' '))
    .update(`${process.versions.modules}|${process.versions.napi}|${platform()}|${arch()}|${cpuIdentity()}`)
    .digest('hex')
    .slice(0, 16);
  // The cache dir, or a private temp dir when node_modules is read-only (and no cache dir was set explicitly).
  const dirs = [nativeCacheDir()];
  if (!process.env.SPIKEDRIVE_NATIVE_CACHE) dirs.push(privateTempDir());
  const name = `spikedrive_kernels-${key}.node`;
  for (const d of dirs) {
    if (existsSync(join(d, name)) && safeDir(d)) {
      return { path: join(d, name), reason: 'cached build', compiled: false, compiler: null };
    }
  }

  const includes = nodeIncludeDirs();
  if (includes.length === 0) {
    return {
      path: null,
      reason: 'Node headers (node_api.h) not found beside the node binary',
      compiled: false,
      compiler: null,
    };
  }
  const cxx = await findCompiler();
  if (cxx === null) {
    return {
      path: null,
      reason: 'no C++ compiler (set CXX, or install g++)',
      compiled: false,
      compiler: null,
    };
  }
  let dir: string | null = null;
  const failures: string[] = [];
  for (const d of dirs) {
    try {
      mkdirSync(d, { recursive: true, mode: 0o700 });
      accessSync(d, constants.W_OK);
      if (!safeDir(d)) throw new Error('owned by another user or writable by others');
      dir = d;
      break;
    } catch (error) {
      failures.push(`${d}: ${String((error as Error).message ?? error)}`);
    }
  }
  if (dir === null) {
    return {
      path: null,
      reason: `no writable cache dir (${failures.join('; ')})`,
      compiled: false,
      compiler: cxx,
    };
  }
  const target = join(dir, name);
  log?.(`building native conv kernels with ${cxx} (once; cached in ${dir})`);
  const tmp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  // -march=native first (AVX-512/AVX2 where present); a plain build if the compiler rejects it.
  for (const march of [['-march=native'], []]) {
    const args = [...compileFlags(), ...march, ...includes.map((d) => `-I${d}`), '-o', tmp, NATIVE_SOURCE];
    const result = await run(cxx, args, 180_000);
    if (result.ok && existsSync(tmp)) {
      renameSync(tmp, target);
      return {
        path: target,
        reason: 'built now',
        compiled: true,
        compiler: `${cxx} ${[...march].join(' ')}`.trim(),
      };
    }
    rmSync(tmp, { force: true });
    if (march.length === 0) {
      return {
        path: null,
        reason: `compiler failed: ${result.output.split('\n').slice(0, 3).join(' ')}`,
        compiled: true,
        compiler: cxx,
      };
    }
  }
  return { path: null, reason: 'unreachable', compiled: false, compiler: cxx };
}
