"""A small TCP load balancer for deploy/faults: round robin over loopback backends, skipping a
backend that refuses the connection (a killed replica), the way a balancer's health check would.

    python3 balancer.py LISTEN_PORT BACKEND_PORT [BACKEND_PORT...]
"""

import asyncio
import itertools
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


async def main(listen, backends):
    turn = itertools.cycle(range(len(backends)))

    async def handle(client_r, client_w):
        first = next(turn)
        for i in range(len(backends)):
            port = backends[(first + i) % len(backends)]
            try:
                back_r, back_w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
                break
            except (OSError, asyncio.TimeoutError):
                continue
        else:
            client_w.close()
            return
        try:
            await asyncio.gather(pipe(client_r, back_w), pipe(back_r, client_w))
        finally:
            for w in (back_w, client_w):
                try:
                    w.close()
                except OSError:
                    pass

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), [int(p) for p in sys.argv[2:]]))
