/**
 * `npm run bench [-- NAME [options]]`: runs one benchmark by name (with its options), or all of
 * them in turn with their defaults.
 * Each benchmark module exports `main(argv): Promise<number>` (its exit status).
 */
const BENCHMARKS: Record<string, () => Promise<{ main(argv: string[]): Promise<number> }>> = {
  load: () => import('./load.js'),
  metadata: () => import('./metadata/main.js'),
};

async function run(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    let status = 0;
    for (const [name, bench] of Object.entries(BENCHMARKS)) {
      process.stdout.write(`\n== ${name} ==\n`);
      status = Math.max(status, await (await bench()).main([]));
    }
    return status;
  }
  const bench = BENCHMARKS[first];
  if (!bench) {
    process.stderr.write(`unknown benchmark "${first}" (known: ${Object.keys(BENCHMARKS).join(', ')}); options follow the name\n`);
    return 2;
  }
  return (await bench()).main(rest);
}

run(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
