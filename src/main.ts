/**
 * The `fedgate` command: serve, check-config, keys, explain. Configuration problems and unusable
 * arguments print one line per problem and exit with status 2; anything else unexpected exits with 1.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG_PATH, loadConfig } from './config/load.js';
import { ConfigError, StartupError, UsageError } from './core/errors.js';

const USAGE = `Usage: fedgate <command> [options]

Commands:
  serve          start the proxy
  check-config   validate the configuration and print every problem
  keys           generate a self-signed key pair (RSA-2048) for signing or encryption
  explain        run IDENTITY.json through the pipeline for one service and show what each
                 filter added, removed and why:
                   fedgate explain --service ID [--upstream ID] [--json] IDENTITY.json
                 IDENTITY.json: { "issuer": "…", "attributes": { "mail": ["…"] }, "subject"?, "authn"? }
  metadata check verify and summarise a metadata document or aggregate:
                   fedgate metadata check FILE|URL [--cert PEM | --fingerprint SHA256]

Options:
  -c, --config PATH   configuration file (default: $FEDGATE_CONFIG or ${DEFAULT_CONFIG_PATH})
  --out DIR           keys: folder to write NAME.key and NAME.crt into (default: .)
  --name NAME         keys: file name stem (default: both signing and encryption)
  --cn TEXT           keys: certificate subject common name (default: fedgate)
  --service ID        explain: the SP entityID (or OIDC client_id) the login is for
  --upstream ID       explain: the upstream IdP entityID (default: the identity's issuer)
  --json              explain: print the trace as JSON
  -h, --help          show this help`;

async function serve(configPath: string): Promise<void> {
  const config = loadConfig(configPath);
  // Loaded here so check-config and keys start without the whole server.
  const { buildApp } = await import('./app.js');
  const { app, summary, metadata } = await buildApp(config);
  const shutdown = async (signal: string) => {
    app.log.info({ signal }, 'shutting down');
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  // Fetch every metadata URL now rather than at its next refresh (after a federation announced an
  // urgent change, say); a refresh already under way is not started twice.
  process.on('SIGHUP', () => {
    app.log.info('SIGHUP: refreshing metadata from its URLs');
    void Promise.all([metadata.idps.refresh(), metadata.sps.refresh()]);
  });
  await app.listen({ host: config.server.host, port: config.server.port });
  const front = config.demo.enabled ? `${config.server.baseUrl}/demo` : `${config.server.baseUrl}/saml/idp/metadata`;
  process.stdout.write(`fedgate is running: open ${front}\nLoaded from ${configPath}: ${summary}\n`);
}

export async function main(argv: string[]): Promise<number> {
  // Its own options (--cert, --fingerprint), so dispatched before the shared ones are parsed.
  if (argv[0] === 'metadata') {
    const { runMetadataCommand } = await import('./metadata/check-command.js');
    return runMetadataCommand(argv.slice(1));
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      out: { type: 'string', default: '.' },
      name: { type: 'string' },
      cn: { type: 'string', default: 'fedgate' },
      service: { type: 'string' },
      upstream: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  const configPath = values.config ?? process.env.FEDGATE_CONFIG ?? DEFAULT_CONFIG_PATH;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }
  switch (command) {
    case 'serve':
      await serve(configPath);
      return 0;
    case 'check-config':
      loadConfig(configPath);
      process.stdout.write(`${configPath}: configuration is valid\n`);
      return 0;
    case 'keys':
      const { runKeysCommand } = await import('./crypto/keys-command.js');
      for (const name of values.name ? [values.name] : ['signing', 'encryption']) {
        const made = await runKeysCommand({ out: values.out, name, cn: values.cn });
        process.stdout.write(`${name}: ${made.keyPath} and ${made.certPath} (SHA-256 ${made.fingerprint})\n`);
      }
      return 0;
    case 'explain': {
      const { runExplain } = await import('./explain/command.js');
      return runExplain({
        configPath,
        service: values.service,
        upstream: values.upstream,
        identityFile: positionals[1],
        json: values.json,
        color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
        write: (text) => process.stdout.write(text),
      });
    }
    default:
      process.stderr.write(`fedgate: unknown command "${command}"\n\n${USAGE}\n`);
      return 2;
  }
}

export function run(argv: string[]): void {
  main(argv).then(
    (code) => {
      if (code !== 0) process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof ConfigError) {
        process.stderr.write(`Configuration problems:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
        process.exitCode = 2;
        return;
      }
      // parseArgs refuses unknown options with ERR_PARSE_ARGS_*: a usage problem, not a crash.
      const parseArgsError = typeof (err as { code?: unknown }).code === 'string' && (err as { code: string }).code.startsWith('ERR_PARSE_ARGS_');
      if (err instanceof UsageError || parseArgsError) {
        process.stderr.write(`fedgate: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      if (err instanceof StartupError) {
        process.stderr.write(`fedgate: cannot start: ${err.message}\n`);
        process.exitCode = 1;
        return;
      }
      process.stderr.write(`fedgate: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
