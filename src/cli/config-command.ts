import type { Command } from 'commander';
import { stringify } from 'yaml';
import { loadConfig } from '../server/config/load.js';
import { redactConfig } from '../server/config/redact.js';
import { ConfigSchema } from '../server/config/schema.js';
import { configFromOptions, exitOnConfigError, withConfigOptions, type ConfigOptions } from './config-options.js';

/** `wsgate config print` and `wsgate config check FILE`. */
export function registerConfigCommands(program: Command, version: string): void {
  const config = program.command('config').description('show or check a configuration');

  withConfigOptions(config.command('print'))
    .description('print the configuration a node would run with (defaults < --dev < file < environment < flags), secrets redacted')
    .option('--json', 'JSON instead of YAML')
    .action((options: ConfigOptions & { json?: boolean }) => {
      const effective = inSchemaOrder(redactConfig(exitOnConfigError(() => configFromOptions(options, process.env))), ConfigSchema as SchemaNode);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(effective, null, 2)}\n`);
      } else {
        process.stdout.write(`# wsgate ${version}: effective configuration, secrets redacted\n${stringify(effective)}`);
      }
    });

  config.command('check')
    .argument('<file>', 'YAML or JSON config file')
    .description('validate a config file on its own (the environment and flags are not applied): exit 0 when valid, 2 when not')
    .action((file: string) => {
      exitOnConfigError(() => loadConfig({ file }));
      process.stdout.write(`${file}: valid\n`);
    });
}

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

/** Keys in the schema's order rather than the order the layers set them in, so every print reads the same way. */
function inSchemaOrder(value: unknown, schema: SchemaNode | undefined): unknown {
  if (Array.isArray(value)) return value.map((item) => inSchemaOrder(item, schema?.items));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  const order = Object.keys(schema?.properties ?? {});
  const rank = (key: string) => (order.includes(key) ? order.indexOf(key) : order.length);
  const childSchema = (key: string) => schema?.properties?.[key] ?? Object.values(schema?.patternProperties ?? {})[0];
  return Object.fromEntries(entries
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([key, child]) => [key, inSchemaOrder(child, childSchema(key))]));
}
