import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Certificate {
  /** PEM of the self-signed certificate: trust it as a CA to reach the server. */
  cert: string;
  key: string;
  /** Path of the certificate's PEM file (for config keys that take a CA file). */
  certFile: string;
  remove(): Promise<void>;
}

/** A fresh self-signed certificate for 127.0.0.1 and localhost, made by `openssl`, valid for a day. */
export async function generateCertificate(): Promise<Certificate> {
  const dir = await mkdtemp(join(tmpdir(), 'wsgate-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', keyFile, '-out', certFile, '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  return {
    cert: await readFile(certFile, 'utf8'),
    key: await readFile(keyFile, 'utf8'),
    certFile,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
