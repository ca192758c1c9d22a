import { readFileSync } from 'node:fs';
import { createSecureContext, type Server as TlsServer } from 'node:tls';
import type { Config } from '../config/schema.js';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

/**
 * The node's certificate and key, read from `tls.cert` and `tls.key`. `reload` reads them again and swaps them into
 * the running server: new connections get the new certificate, open ones keep theirs (nothing is dropped). A file
 * that cannot be read or a pair that does not match throws, and the server keeps what it had.
 */
export class TlsFiles {
  constructor(private readonly config: Readonly<Config['tls']>) {}

  /** True when the node terminates TLS itself. */
  get enabled(): boolean {
    return this.config.cert !== '' && this.config.key !== '';
  }

  read(): TlsMaterial {
    const material = { cert: readPem(this.config.cert, 'tls.cert'), key: readPem(this.config.key, 'tls.key') };
    try {
      // Fails here when the key does not belong to the certificate or either is not PEM.
      createSecureContext(material);
    } catch (error) {
      throw new Error(`tls.cert/tls.key: ${(error as Error).message}`, { cause: error });
    }
    return material;
  }

  reload(server: TlsServer): void {
    server.setSecureContext(this.read());
  }
}

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`${key}: cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}
