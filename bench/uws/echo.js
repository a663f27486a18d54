// uWebSockets' echo server, through its Node.js binding: every message is
// sent back as it came. Prints `listening ADDR` once bound.
const uWS = require('uwebsockets');

const report = process.argv.includes('--report');
uWS.App()
  .ws('/*', {
    compression: uWS.DISABLED,
    maxPayloadLength: 64 * 1024 * 1024,
    maxBackpressure: 64 * 1024 * 1024,
    idleTimeout: 0,
    message: (ws, message, isBinary) => {
      ws.send(message, isBinary);
    },
  })
  .listen('127.0.0.1', 0, (token) => {
    if (!token) {
      process.exit(1);
    }
    console.log(`listening 127.0.0.1:${uWS.us_socket_local_port(token)}`);
  });

if (report) {
  // One line in, one line out: the heap and the resident set.
  process.stdin.on('data', () => {
    const m = process.memoryUsage();
    const heap = m.heapUsed + m.external + m.arrayBuffers;
    console.log(`heap ${heap} rss_kib ${Math.round(m.rss / 1024)}`);
  });
}
