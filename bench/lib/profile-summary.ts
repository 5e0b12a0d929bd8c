/**
 * Where a V8 CPU profile's time went: self and total time per function and self time per module
 * (package or source folder), largest first, as a share of the profile's sampled time.
 *
 *   node … bench/lib/profile-summary.ts FILE.cpuprofile [--top 40] [--match TEXT] [--skip-ms 3000] [--logins N]
 *
 * Total time counts a function once per sample even when it recurses. --match keeps only
 * functions whose name or file contains TEXT (e.g. --match pipeline). --skip-ms leaves out the
 * profile's first milliseconds (start-up: module loading, metadata); --logins N adds a column of
 * milliseconds per login (the logins the profiled part completed, warm-up included).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Row {
  name: string;
  selfMs: number;
  totalMs: number;
}

/** node_modules/<pkg> (or @scope/pkg), a source folder (src/backends/saml-sp), or a V8 category. */
export function moduleOf(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith('node:')) return url.split('/')[0]!;
  const src = url.match(/\/(dist|src)\/(.*)\/[^/]+$/);
  if (src) return `src/${src[2]}`;
  const top = url.match(/\/(dist|src)\/[^/]+$/);
  return top ? 'src' : url;
}

function frameName(frame: CallFrame): string {
  const file = frame.url.replace(/^.*node_modules\//, '').replace(/^.*\/(dist|src)\//, '$1/');
  return `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
}

export function summarise(profile: CpuProfile, skipMs = 0): { sampledMs: number; functions: Row[]; modules: Row[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  for (let i = 0, atUs = 0; i < profile.samples.length; i++) {
    atUs += profile.timeDeltas[i] ?? 0;
    if (atUs < skipMs * 1000) continue;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const functions = new Map<string, Row>();
  const modules = new Map<string, Row>();
  let sampledUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)' || node.callFrame.functionName === '(program)') continue;
    sampledUs += us;
    const ms = us / 1000;
    const seenFns = new Set<string>();
    const seenMods = new Set<string>();
    for (let cur: number | undefined = id, first = true; cur !== undefined; cur = parent.get(cur), first = false) {
      const frame = byId.get(cur)!.callFrame;
      if (frame.functionName === '(root)') break;
      const fn = frameName(frame);
      const mod = moduleOf(frame.url);
      const f = functions.get(fn) ?? { name: fn, selfMs: 0, totalMs: 0 };
      const m = modules.get(mod) ?? { name: mod, selfMs: 0, totalMs: 0 };
      if (first) f.selfMs += ms;
      if (first) m.selfMs += ms;
      if (!seenFns.has(fn)) f.totalMs += ms;
      if (!seenMods.has(mod)) m.totalMs += ms;
      seenFns.add(fn);
      seenMods.add(mod);
      functions.set(fn, f);
      modules.set(mod, m);
    }
  }
  return { sampledMs: sampledUs / 1000, functions: [...functions.values()], modules: [...modules.values()] };
}

function table(title: string, rows: Row[], key: 'selfMs' | 'totalMs', top: number, sampledMs: number, logins?: number): string {
  const pct = (ms: number): string => ((100 * ms) / sampledMs).toFixed(1).padStart(5);
  const perLogin = (ms: number): string => (logins ? `  ${(ms / logins).toFixed(3).padStart(6)}` : '');
  const sorted = [...rows].sort((a, b) => b[key] - a[key]).slice(0, top);
  return [
    `${title} (by ${key === 'selfMs' ? 'self' : 'total'} time)`,
    `  self%  total%${logins ? '  ms/login (self, total)' : ''}`,
    ...sorted.map((r) => `  ${pct(r.selfMs)}  ${pct(r.totalMs)}${perLogin(r.selfMs)}${perLogin(r.totalMs)}  ${r.name}`),
  ].join('\n');
}

function main(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      top: { type: 'string', default: '40' },
      match: { type: 'string' },
      'skip-ms': { type: 'string', default: '0' },
      logins: { type: 'string' },
    },
  });
  const file = positionals[0];
  if (!file) {
    console.error('usage: profile-summary.ts FILE.cpuprofile [--top N] [--match TEXT]');
    return 2;
  }
  const top = Number(values.top);
  const logins = values.logins ? Number(values.logins) : undefined;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const { sampledMs, functions, modules } = summarise(profile, Number(values['skip-ms']));
  const fns = values.match ? functions.filter((f) => f.name.includes(values.match!)) : functions;
  const perLogin = logins ? `, ${(sampledMs / logins).toFixed(2)} ms per login` : '';
  console.log(`${file}: ${sampledMs.toFixed(0)} ms sampled (idle and (program) excluded)${perLogin}\n`);
  console.log(table('Modules', modules, 'selfMs', top, sampledMs, logins) + '\n');
  console.log(table('Modules', modules, 'totalMs', top, sampledMs, logins) + '\n');
  console.log(table('Functions', fns, 'selfMs', top, sampledMs, logins) + '\n');
  console.log(table('Functions', fns, 'totalMs', top, sampledMs, logins));
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = main(process.argv.slice(2));
