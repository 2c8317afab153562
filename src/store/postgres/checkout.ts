import type pg from "pg";

/**
 * A connection from `pool` that cannot crash the process. pg-pool listens for errors only on
 * idle connections; one checked out that loses its server (a restart, a failover, a terminated
 * backend) emits `error` with no listener, and Node ends the process. Here the error is caught,
 * the queries in flight fail as usual, and the release destroys the connection instead of
 * handing a dead one to the next caller.
 */
export async function checkout(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  let lost = false;
  const onError = () => {
    lost = true;
  };
  client.on("error", onError);
  const release = client.release.bind(client);
  client.release = (destroy?: boolean | Error) => {
    client.removeListener("error", onError);
    return release(lost ? true : destroy);
  };
  return client;
}
