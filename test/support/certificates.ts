import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificate {
  certFile: string;
  keyFile: string;
  /** Certificate then key, the one-file form HAProxy's `crt` takes. */
  pemFile: string;
  cert: string;
  /** SHA-256 fingerprint as Node reports it (`AA:BB:...`). */
  fingerprint256: string;
  /** base64 SHA-256 of the public key (SPKI), the form Chromium's --ignore-certificate-errors-spki-list takes. */
  spkiHash: string;
}

/**
 * A self-signed certificate for localhost and 127.0.0.1, made with the openssl CLI into `dir` under `name`. Each call
 * makes a new key, so a second certificate with the same name is told apart by its fingerprint.
 */
export async function makeCertificate(dir: string, name = 'node'): Promise<TestCertificate> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=wsgate test ${name}`, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', keyFile, '-out', certFile,
  ]);
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  const pemFile = join(dir, `${name}.pem`);
  await writeFile(pemFile, cert + key);
  const x509 = new X509Certificate(cert);
  const spki = x509.publicKey.export({ type: 'spki', format: 'der' });
  return { certFile, keyFile, pemFile, cert, fingerprint256: x509.fingerprint256, spkiHash: createHash('sha256').update(spki).digest('base64') };
}
