/**
 * uWebSockets.js topic pub/sub, the way its README broadcasts: every connection subscribes to one topic on open, and a
 * message is `ws.publish`ed to it, which reaches every other subscriber (the sender is left out, as in the `ws` loop).
 * The C++ side walks the topic tree and writes each socket once per loop iteration, batching frames that queue up in it.
 * Heartbeat: uWS's own (`sendPingsAutomatically` with an idle timeout), the nearest it has to a fixed ping interval.
 * Usage: node --import tsx bench/servers/uws-broadcast-server.ts <pingIntervalMs>
 */
import uWS from 'uwebsockets';

const TOPIC = 'broadcast';
const pingIntervalMs = Number(process.argv[2] ?? 25_000);
/** uWS takes the idle timeout in seconds, 0 or at least 8, in steps of 4; it pings an idle socket before closing it. */
const idleTimeoutSeconds = Math.max(8, Math.ceil(pingIntervalMs / 1000 / 4) * 4);

uWS
  .App()
  .ws('/*', {
    compression: uWS.DISABLED,
    idleTimeout: idleTimeoutSeconds,
    sendPingsAutomatically: true,
    // uWS drops frames for a socket past this backlog (default 64 KiB); `ws` and Socket.IO never drop, so neither may it.
    maxBackpressure: 64 * 1024 * 1024,
    open: (ws) => {
      ws.subscribe(TOPIC);
    },
    message: (ws, message, isBinary) => {
      ws.publish(TOPIC, message, isBinary);
    },
  })
  .listen('127.0.0.1', 0, (listenSocket) => {
    if (!listenSocket) {
      console.error('uws: could not listen');
      process.exit(1);
    }
    process.send?.({ ev: 'listening', port: uWS.us_socket_local_port(listenSocket) });
  });
