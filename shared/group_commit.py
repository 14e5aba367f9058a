"""Group commit: requests queue their writes and wait; a writer applies whatever is queued in one
transaction and answers every request of the batch only after its commit.

One commit (one WAL flush) and a few set-based statements then serve a burst of requests instead
of one commit and several round trips each: that was most of a registration's time over HTTP.
Nothing is answered before it is durable, as with a transaction per request. A batch that fails
is applied again item by item, each in its own transaction, so a bad item fails alone and its
neighbours are unaffected (as the consumer does with a batch of events).
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import asyncpg

from shared.cancellation import stop_if_cancelled
from shared.db import DbConnection

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """``apply(conn, items)`` runs inside the batch's transaction and returns one result per item,
    in order. Two writers by default: one batch commits while the next one fills."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        apply: Callable[[DbConnection, Sequence[Item]], Awaitable[Sequence[Result]]],
        *,
        writers: int = 2,
        max_batch: int = 256,
    ) -> None:
        self.pool = pool
        self.apply = apply
        self.writers = writers
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[Item, asyncio.Future[Result]]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def submit(self, item: Item) -> Result:
        """Wait until ``item`` is committed; its result, or the error that refused it."""
        if not self._tasks:
            raise RuntimeError("GroupCommit.start() first")
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, done))
        return await done

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._write()) for _ in range(self.writers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        while not self._queue.empty():  # never leave a caller waiting forever
            _item, done = self._queue.get_nowait()
            if not done.done():
                done.set_exception(ConnectionAbortedError("the service is stopping"))

    async def _write(self) -> None:
        while True:
            stop_if_cancelled()
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            # Callers that gave up (a client went away) are not written.
            batch = [(item, done) for item, done in batch if not done.cancelled()]
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._apply_in_transaction([item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                if not batch[0][1].done():  # unless the caller gave up meanwhile
                    batch[0][1].set_exception(exc)
                return
            log.info("a batch of %d writes failed (%s); applying them one by one", len(batch), exc)
            for one in batch:
                await self._commit([one])
            return
        for (_item, done), result in zip(batch, results, strict=True):
            if not done.done():
                done.set_result(result)

    async def _apply_in_transaction(self, items: list[Item]) -> Sequence[Result]:
        async with self.pool.acquire() as conn, conn.transaction():
            results = await self.apply(conn, items)
            if len(results) != len(items):
                raise RuntimeError(f"apply() returned {len(results)} results for {len(items)} items")
            return results
