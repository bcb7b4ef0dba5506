"""Client CPU and wall time per auto-commit read through the async Neo4j driver.

    python benchmarks/bolt_bench.py [--queries 2000]

Reads NEO4J_URI, NEO4J_USERNAME, NEO4J_PASSWORD. Each query returns 20 small rows, the size of
a search's reads; the figure is what the driver costs on the client, where a hybrid search
sends about ten such queries. A server that asks for a receive timeout
(`server.bolt.connection_keep_alive_for_requests=ALL`, Neo4j's default) about doubles it
(docs/neo4j.md, "Bolt keep-alive").
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from neo4j import READ_ACCESS, AsyncGraphDatabase

QUERY = "UNWIND range(1, 20) AS i RETURN i, 'x' AS s"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    auth = (os.environ.get("NEO4J_USERNAME", "neo4j"), os.environ.get("NEO4J_PASSWORD", ""))
    async with AsyncGraphDatabase.driver(os.environ["NEO4J_URI"], auth=auth, notifications_min_severity="OFF") as driver:

        async def one() -> None:
            async with driver.session(default_access_mode=READ_ACCESS) as session:
                result = await session.run(QUERY)
                await result.data()

        for _ in range(200):  # connections made, server plan cached
            await one()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.queries):
            await one()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{args.queries} queries: client CPU {cpu / args.queries * 1e6:.0f} us/query, "
          f"wall {wall / args.queries * 1e6:.0f} us/query")


if __name__ == "__main__":
    asyncio.run(main())
