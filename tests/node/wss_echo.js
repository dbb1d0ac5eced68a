// A WebSocket echo server on the npm `ws` package behind TLS (node's https):
// a peer stampede's wss:// client is tested against (tests/e2e/tls_node.sh).
// usage: node wss_echo.js PORT CERT KEY   (0 picks a free port; prints
// "listening PORT"). It listens on 127.0.0.1 and, when it exists, on ::1 at
// the same port (a URL naming localhost may resolve to either).
// On SIGTERM it prints its counters, one "name N" a line.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const https = require('https');
const { WebSocketServer } = require('ws');

const [portArg, certFile, keyFile] = process.argv.slice(2);
if (!certFile || !keyFile) {
  console.error('usage: node wss_echo.js PORT CERT KEY');
  process.exit(2);
}
// one set of ticket keys for both listeners: a ticket from one resumes on the other
const tlsOpts = {
  cert: fs.readFileSync(certFile),
  key: fs.readFileSync(keyFile),
  ticketKeys: crypto.randomBytes(48),
};
const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
let handshakes = 0, msgsIn = 0, tlsHandshakes = 0, tlsResumed = 0, tlsErrors = 0;
wss.on('connection', (ws) => {
  handshakes++;
  ws.on('message', (data, isBinary) => { msgsIn++; ws.send(data, { binary: isBinary }); });
});

function makeServer() {
  const s = https.createServer(tlsOpts, (req, res) => { res.writeHead(404); res.end(); });
  s.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  s.on('secureConnection', (tlsSocket) => {
    tlsHandshakes++;
    if (tlsSocket.isSessionReused()) tlsResumed++;
  });
  s.on('tlsClientError', () => { tlsErrors++; });
  return s;
}

const v4 = makeServer();
v4.listen(Number(portArg || 0), '127.0.0.1', () => {
  const port = v4.address().port;
  const v6 = makeServer();
  const ready = () => console.log(`listening ${port}`);
  v6.once('error', ready); // no ::1 here, or the port is taken on it: v4 only
  v6.listen(port, '::1', ready);
});
process.on('SIGTERM', () => {
  console.log(`ws_handshakes ${handshakes}`);
  console.log(`ws_msgs_in ${msgsIn}`);
  console.log(`tls_handshakes ${tlsHandshakes}`);
  console.log(`tls_sessions_resumed ${tlsResumed}`);
  console.log(`tls_errors ${tlsErrors}`);
  process.exit(0);
});
