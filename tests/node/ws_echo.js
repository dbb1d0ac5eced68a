// A WebSocket echo server on the npm `ws` package: a peer stampede's
// WebSocket client is tested against (tests/e2e/ws_node.sh).
// usage: node ws_echo.js PORT   (0 picks a free port; prints "listening PORT")
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

const server = http.createServer((req, res) => { res.writeHead(404); res.end(); });
const wss = new WebSocketServer({ server, maxPayload: 1 << 20 });
let handshakes = 0, msgsIn = 0;
wss.on('connection', (ws) => {
  handshakes++;
  ws.on('message', (data, isBinary) => { msgsIn++; ws.send(data, { binary: isBinary }); });
});
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
process.on('SIGTERM', () => {
  console.log(`ws_handshakes ${handshakes}`);
  console.log(`ws_msgs_in ${msgsIn}`);
  process.exit(0);
});
