#!/usr/bin/env node
// Bundles the client SDK for browsers: dist/web/wsgate-client.js, one minified ES module with a source map. The gateway
// serves it at /client.js, so pages can `import { WsgateClient } from '/client.js'` without a build step of their own.
import { build } from 'esbuild';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// The protocol modules only declare constants, types and classes. Saying so lets esbuild drop the ones the client does
// not use (the server's error catalogue is a fifth of the bundle otherwise): a class extending Error counts as a
// possible side effect unless the module is declared free of them.
const protocolDir = join(root, 'src/protocol');
const protocolHasNoSideEffects = {
  name: 'protocol-has-no-side-effects',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /\.js$/ }, async (args) => {
      if (args.pluginData?.resolved) return undefined;
      const result = await pluginBuild.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { resolved: true },
      });
      return result.path.startsWith(protocolDir) ? { ...result, sideEffects: false } : result;
    });
  },
};
// `--outfile <path>` builds elsewhere (the bundle test builds into a temporary directory).
const outfileFlag = process.argv.indexOf('--outfile');
const outfile = outfileFlag === -1 ? join(root, 'dist/web/wsgate-client.js') : resolve(process.argv[outfileFlag + 1]);

await build({
  entryPoints: [join(root, 'src/client/index.ts')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // Browsers with native private class fields and `??`; everything the SDK uses is older than that.
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  plugins: [protocolHasNoSideEffects],
  logLevel: 'warning',
  legalComments: 'none',
});

async function report(file) {
  const { size } = await stat(file);
  const gzipped = gzipSync(await readFile(file)).length;
  console.log(`${relative(process.cwd(), file)}: ${(size / 1024).toFixed(1)} KiB (${(gzipped / 1024).toFixed(1)} KiB gzipped)`);
}
await report(outfile);

// The operator console (/admin): its script with uPlot, and its stylesheet with uPlot's, into dist/web/admin.
if (outfileFlag === -1) {
  const adminDir = join(root, 'dist/web/admin');
  await build({
    entryPoints: [join(root, 'web/admin/console.ts'), join(root, 'web/admin/console.css')],
    outdir: adminDir,
    entryNames: '[name]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    logLevel: 'warning',
    legalComments: 'none',
  });
  await report(join(adminDir, 'console.js'));
}
