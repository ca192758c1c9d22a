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
    const material = { cert: readFileSync(this.config.cert), key: readFileSync(this.config.key) };
    // Fails here, naming the problem, when the key does not belong to the certificate or either is not PEM.
    createSecureContext(material);
    return material;
  }

  reload(server: TlsServer): void {
    server.setSecureContext(this.read());
  }
}
