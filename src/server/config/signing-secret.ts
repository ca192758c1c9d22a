/** The webhook signing secret format (`webhooks.secrets`), read where the config is checked and where requests are signed. */

const SECRET_PREFIX = 'whsec_';

/**
 * Decodes a Standard Webhooks secret (`whsec_` + base64 of 24 to 64 random bytes) to its key; throws saying what is
 * wrong with it (never echoing the secret).
 */
export function decodeSigningSecret(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error(`a signing secret starts with "${SECRET_PREFIX}"`);
  const encoded = secret.slice(SECRET_PREFIX.length);
  const key = Buffer.from(encoded, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || key.length < 24 || key.length > 64) {
    throw new Error('a signing secret is "whsec_" followed by the base64 of 24 to 64 bytes');
  }
  return key;
}
