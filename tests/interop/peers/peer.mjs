// Interop peer on Node's `ws`: the scenarios of tests/interop/README.md, as
// a client or as a server.
//
//   node peer.mjs client ws://127.0.0.1:PORT   every scenario, without then with compression
//   node peer.mjs server                        prints "PORT n", then serves until stdin closes
//
// Every connection ends with one line on stdout, this side's verdict:
// verdict<TAB>side<TAB>scenario<TAB>deflate|plain<TAB>ok|FAIL<TAB>detail

import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { WebSocket, WebSocketServer } from "ws";

const version = createRequire(import.meta.url)("ws/package.json").version;
const SCENARIOS = ["text", "binary", "fragmented", "large", "ping", "client-close",
  "server-close", "client-eof", "server-eof"];
const TEXT = "héllo wörld ✓ 日本語 🦀";
const BINARY = Buffer.concat([Buffer.from([...Array(256).keys()]), Buffer.alloc(1000)]);
// Split inside the three bytes of "✓": the text is valid only as a whole.
const FRAGMENTED = Buffer.from("fragmented ✓ text");
const CUTS = [4, 12];
const LARGE = Buffer.concat([randomBytes(8 << 20),
  Buffer.from("wsmachine interop ".repeat(Math.floor((8 << 20) / 18)))]);

function verdict(side, scenario, deflate, ok, detail = "") {
  const fields = ["verdict", side, scenario, deflate ? "deflate" : "plain", ok ? "ok" : "FAIL",
    String(detail).split(/\s+/).join(" ")];
  process.stdout.write(fields.join("\t") + "\n");
}

// Wraps a socket: awaitable messages, pongs and the close.
function events(ws) {
  const queue = [];
  const waiting = [];
  const push = (item) => (waiting.length ? waiting.shift()(item) : queue.push(item));
  ws.on("message", (data, isBinary) => push({ data: isBinary ? data : data.toString() }));
  ws.on("pong", (data) => push({ pong: data.toString() }));
  const closed = new Promise((resolve) => ws.on("close", (code, reason) => {
    const clean = ws._closeFrameReceived && ws._closeFrameSent;
    resolve({ code, reason: reason.toString(), clean });
    push({ closed: true });
  }));
  ws.on("error", () => {});
  const next = () => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("nothing within 30 s")), 30000);
    const done = (item) => { clearTimeout(timer); resolve(item); };
    queue.length ? done(queue.shift()) : waiting.push(done);
  });
  return { next, closed };
}

function sendFragments(ws, buf, cuts, binary) {
  const points = [0, ...cuts, buf.length];
  for (let i = 0; i + 1 < points.length; i++) {
    ws.send(buf.subarray(points[i], points[i + 1]), { binary, fin: i + 2 === points.length });
  }
}

const same = (a, b) => (Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : a === b);

// ------------------------------------------------------------------ client

async function clientScenario(ws, ev, name) {
  const echo = async (data) => {
    ws.send(data);
    const got = await ev.next();
    return same(got.data, data);
  };
  switch (name) {
    case "text": if (!(await echo(TEXT))) return [false, "text echo differs"]; break;
    case "binary": if (!(await echo(BINARY))) return [false, "binary echo differs"]; break;
    case "large": if (!(await echo(LARGE))) return [false, "16 MiB echo differs"]; break;
    case "fragmented": {
      sendFragments(ws, FRAGMENTED, CUTS, false);
      const got = await ev.next();
      if (got.data !== FRAGMENTED.toString()) return [false, `echo ${JSON.stringify(got.data)}`];
      break;
    }
    case "ping": {
      ws.ping("c-ping");
      const pong = await ev.next();
      if (pong.pong !== "c-ping") return [false, `expected our pong, got ${JSON.stringify(pong)}`];
      ws.send("ping me");
      const got = await ev.next();
      if (got.data !== "pong ok") return [false, `server said ${JSON.stringify(got)}`];
      break;
    }
    case "client-close": {
      ws.close(4001, "client bye");
      const c = await ev.closed;
      return [c.code === 4001 && c.clean, `echo ${c.code}, clean ${c.clean}`];
    }
    case "server-close": {
      ws.send("close me");
      const c = await ev.closed;
      return [c.code === 4002 && c.reason === "server bye" && c.clean,
        `${c.code} ${JSON.stringify(c.reason)} clean ${c.clean}`];
    }
    case "client-eof": {
      ws.send("eof");
      await new Promise((r) => setTimeout(r, 50));
      ws.terminate();
      await ev.closed;
      return [true, "dropped the connection"];
    }
    case "server-eof": {
      ws.send("eof me");
      const c = await ev.closed;
      return [c.code === 1006 && !c.clean, `${c.code}, clean ${c.clean}`];
    }
  }
  ws.close(1000);
  const c = await ev.closed;
  return [c.code === 1000 && c.clean, `closed ${c.code}, clean ${c.clean}`];
}

async function runClient(base) {
  let failures = 0;
  for (const deflate of [false, true]) {
    for (const name of SCENARIOS) {
      let ok, detail;
      try {
        const ws = new WebSocket(`${base}/${name}`, { perMessageDeflate: deflate, maxPayload: 64 << 20 });
        const ev = events(ws);
        await new Promise((resolve, reject) => {
          ws.once("open", resolve);
          ws.once("error", reject);
        });
        if (ws.extensions.includes("permessage-deflate") !== deflate) {
          [ok, detail] = [false, "compression not as offered"];
          ws.terminate();
        } else {
          [ok, detail] = await clientScenario(ws, ev, name);
        }
      } catch (e) {
        [ok, detail] = [false, String(e)];
      }
      failures += ok ? 0 : 1;
      verdict("client", name, deflate, ok, detail);
    }
  }
  return failures ? 1 : 0;
}

// ------------------------------------------------------------------ server

async function serverScenario(ws, ev, name) {
  switch (name) {
    case "text": case "binary": case "large": {
      const got = await ev.next();
      ws.send(got.data);
      break;
    }
    case "fragmented": {
      const got = Buffer.from((await ev.next()).data);
      sendFragments(ws, got, CUTS, false);
      break;
    }
    case "ping": {
      await ev.next();
      ws.ping("s-ping");
      const pong = await ev.next();
      if (pong.pong !== "s-ping") return [false, `expected our pong, got ${JSON.stringify(pong)}`];
      ws.send("pong ok");
      break;
    }
    case "client-close": {
      const c = await ev.closed;
      return [c.code === 4001 && c.reason === "client bye" && c.clean,
        `${c.code} ${JSON.stringify(c.reason)} clean ${c.clean}`];
    }
    case "server-close": {
      await ev.next();
      ws.close(4002, "server bye");
      const c = await ev.closed;
      return [c.code === 4002 && c.clean, `echo ${c.code}, clean ${c.clean}`];
    }
    case "client-eof": {
      const got = await ev.next();
      const c = await ev.closed;
      return [got.data === "eof" && c.code === 1006 && !c.clean, `${c.code}, clean ${c.clean}`];
    }
    case "server-eof": {
      await ev.next();
      ws.terminate();
      await ev.closed;
      return [true, "dropped the connection"];
    }
    default: return [false, `unknown scenario ${name}`];
  }
  const c = await ev.closed;
  return [c.code === 1000 && c.clean, `closed ${c.code}, clean ${c.clean}`];
}

function runServer() {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: true, maxPayload: 64 << 20 });
  server.on("listening", () => process.stdout.write(`PORT ${server.address().port}\n`));
  server.on("connection", async (ws, req) => {
    const name = req.url.replace(/^\/+/, "");
    const deflate = ws.extensions.includes("permessage-deflate");
    const ev = events(ws);
    let ok, detail;
    try {
      [ok, detail] = await serverScenario(ws, ev, name);
    } catch (e) {
      [ok, detail] = [false, String(e)];
    }
    verdict("server", name, deflate, ok, detail);
  });
  // Serve until the driver closes our stdin.
  process.stdin.resume();
  process.stdin.on("end", () => { server.close(); process.exit(0); });
}

process.stderr.write(`# ws ${version}\n`);
if (process.argv[2] === "client") {
  process.exitCode = await runClient(process.argv[3].replace(/\/+$/, ""));
} else {
  runServer();
}
