// A legacy agency back end that speaks the line protocol, for trying the connector and for its conformance
// run: a vehicle technical-inspection register (مرکز معاینه فنی) answering whether a vehicle's inspection
// certificate is valid.
//
//   request:  ASK <operation> <params as JSON>\n      or  PING\n
//   answer:   FOUND <result as JSON>\n | NOTFOUND <message>\n | DENIED <message>\n | ERROR <message>\n | PONG\n
//
// Run it alone with `node agency.js [port]`; it prints its address.
import { createHash } from "node:crypto";
import { createServer } from "node:net";

const VIN = /^[A-HJ-NPR-Z0-9]{17}$/;

/** The register's answer for one request line. */
function answer(line) {
  if (line === "PING") return "PONG";
  const match = /^ASK ([a-z-]+) (.*)$/.exec(line);
  if (match === null) return "ERROR unreadable request";
  if (match[1] !== "inspection-status") return `ERROR unknown operation ${match[1]}`;
  let params;
  try {
    params = JSON.parse(match[2]);
  } catch {
    return "ERROR params are not JSON";
  }
  const vin = typeof params?.vin === "string" ? params.vin : "";
  if (!VIN.test(vin)) return "ERROR vin is not a vehicle identification number";
  if (vin.endsWith("000000")) return "NOTFOUND no inspection is registered for this vehicle";
  if (vin.startsWith("ZZZ")) return "DENIED the vehicle's records are not disclosed";
  const hash = createHash("sha256").update(vin).digest();
  const valid = hash[0] % 5 !== 0;
  const month = (hash[1] % 12) + 1;
  return `FOUND ${JSON.stringify({
    vin,
    status: valid ? "VALID" : "EXPIRED",
    centre: ["تهران - مرکز شماره ۷", "اصفهان - مرکز شماره ۲", "مشهد - مرکز شماره ۴"][hash[2] % 3],
    valid_until: `${valid ? 1405 : 1403}/${String(month).padStart(2, "0")}/15`,
  })}`;
}

/**
 * Starts the register on 127.0.0.1. `delay(ms)` slows every answer; `fail()` makes it close connections
 * without answering (a crashed back end) until `recover()`; `stats()` counts PINGs and ASKs.
 */
export async function startLineAgency(port = 0) {
  let delayMs = 0;
  let failing = false;
  const counts = { pings: 0, asks: 0 };
  const sockets = new Set();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let buffered = "";
    socket.on("data", (chunk) => {
      buffered += chunk.toString("utf8");
      if (buffered.length > 65_536) return socket.destroy();
      let end = buffered.indexOf("\n");
      while (end >= 0) {
        const line = buffered.slice(0, end).trim();
        buffered = buffered.slice(end + 1);
        if (failing) return socket.destroy();
        if (line === "PING") counts.pings += 1;
        else counts.asks += 1;
        const reply = `${answer(line)}\n`;
        const send = () => {
          if (!socket.destroyed) socket.write(reply);
        };
        if (delayMs > 0) setTimeout(send, delayMs).unref();
        else send();
        end = buffered.indexOf("\n");
      }
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return {
    port: server.address().port,
    /** Requests answered so far: health checks (PING) and inquiries (ASK). */
    stats() {
      return { ...counts };
    },
    delay(ms) {
      delayMs = ms;
    },
    fail() {
      failing = true;
    },
    recover() {
      failing = false;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const agency = await startLineAgency(Number(process.argv[2] ?? 0));
  process.stdout.write(`line agency listening on 127.0.0.1:${agency.port}\n`);
}
