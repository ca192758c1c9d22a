import { chromium, type Browser } from 'playwright-core';

/** The system Chromium the browser tests drive (scripts/install-system-deps.sh installs it). */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless Chromium without the sandbox (containers), QUIC or the background services that would reach the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
