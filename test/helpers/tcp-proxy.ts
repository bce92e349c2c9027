// A TCP proxy on a free loopback port in front of a server (here PostgreSQL), so a test can make the server
// unreachable for one client — cut every connection and refuse new ones — and bring it back, without
// touching the server others use.
import { connect, createServer, type Server, type Socket } from "node:net";

export interface TcpProxy {
  readonly port: number;
  /** Drops every open connection and stops accepting new ones (they are refused). */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
  /**
   * Stops carrying bytes on every open connection without closing it, as a network that forgets a flow does;
   * connections opened afterwards are carried as before.
   */
  silence(): void;
  /**
   * Until `restore()`, accepts new connections (listening again after `cut()`) but carries nothing on them: a
   * server that never answers.
   */
  hold(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { readonly host: string; readonly port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const pairs = new Set<readonly [Socket, Socket]>();
  let holding = false;
  const server: Server = createServer((client) => {
    if (holding) {
      sockets.add(client);
      client.on("error", () => client.destroy()).on("close", () => sockets.delete(client));
      return;
    }
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const pair = [client, upstream] as const;
    pairs.add(pair);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      pairs.delete(pair);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream).pipe(client);
  });
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve((server.address() as { port: number }).port);
      });
    });
  const port = await listen(0);
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      pairs.clear();
      if (!server.listening) resolve();
      else server.close(() => resolve());
    });
  return {
    port,
    cut: stop,
    async restore() {
      holding = false;
      if (!server.listening) await listen(port);
    },
    async hold() {
      holding = true;
      if (!server.listening) await listen(port);
    },
    silence() {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
      pairs.clear();
    },
    close: stop,
  };
}

/** A proxy in front of the database `databaseUrl` names, and the same URL through the proxy. */
export async function startDatabaseProxy(databaseUrl: string): Promise<{ readonly proxy: TcpProxy; readonly url: string }> {
  const target = new URL(databaseUrl);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const through = new URL(databaseUrl);
  through.host = `127.0.0.1:${proxy.port}`;
  return { proxy, url: through.href };
}
