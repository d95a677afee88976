"""Django's HTTP handler under daphne (apps/core/asgi.py): a request's sync code runs on one thread, kept for later
requests rather than a new thread per request; requests at the same time still each have a thread of their own."""

import asyncio
import os
import signal
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from channels.testing import HttpCommunicator
from django.http import HttpResponse
from django.urls import path

from apps.core.asgi import SyncRequestHandler

pytestmark = pytest.mark.urls(__name__)

# Long enough that a request queued behind such a view is told apart from one that is not, even on a loaded machine.
SLOW_VIEW_SECONDS = 1.5


def thread_name(request):
    """The name of the thread the view ran on, after sleeping `?sleep=` seconds."""
    time.sleep(float(request.GET.get("sleep", 0)))
    return HttpResponse(threading.current_thread().name)


urlpatterns = [path("thread/", thread_name)]


async def thread_of(handler: SyncRequestHandler, *, sleep: float = 0) -> str:
    communicator = HttpCommunicator(handler, "GET", f"/thread/?sleep={sleep}", headers=[(b"host", b"testserver")])
    response = await communicator.get_response(timeout=10)
    await communicator.wait(timeout=10)  # the handler's end (the response closed, the thread given back)
    assert response["status"] == 200
    return response["body"].decode()


def test_requests_one_after_another_run_on_one_kept_thread():
    handler = SyncRequestHandler()

    async def five_in_a_row():
        return [await thread_of(handler) for _ in range(5)]

    names = async_to_sync(five_in_a_row)()

    assert len(set(names)) == 1
    assert names[0].startswith("request")


def test_requests_at_the_same_time_run_on_threads_of_their_own_and_both_are_kept():
    handler = SyncRequestHandler()

    async def slow_and_quick():
        slow = asyncio.create_task(thread_of(handler, sleep=SLOW_VIEW_SECONDS))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        quick = await thread_of(handler)
        quick_took = time.monotonic() - started
        return await slow, quick, quick_took, [await thread_of(handler) for _ in range(2)]

    slow, quick, quick_took, later = async_to_sync(slow_and_quick)()

    assert slow != quick
    assert quick_took < SLOW_VIEW_SECONDS / 2  # not queued behind the slow one
    assert set(later) <= {slow, quick}  # no third thread


def request_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name.startswith("request")}


def test_a_request_cut_off_keeps_its_thread_until_the_view_ends_and_then_the_thread_is_used_again():
    handler = SyncRequestHandler()
    before = request_threads()

    async def cut_off_then_more():
        cut_off = ApplicationCommunicator(
            handler,
            {
                "type": "http",
                "method": "GET",
                "path": "/thread/",
                "query_string": f"sleep={SLOW_VIEW_SECONDS}".encode(),
                "headers": [(b"host", b"testserver")],
            },
        )
        await cut_off.send_input({"type": "http.request", "body": b""})
        await asyncio.sleep(0.1)  # the view is running
        cut_off.future.cancel()  # as daphne cancels the application of a connection that went away
        with pytest.raises(asyncio.CancelledError):
            await cut_off.future
        started = time.monotonic()
        await thread_of(handler)
        next_took = time.monotonic() - started
        await asyncio.sleep(SLOW_VIEW_SECONDS)  # the cut-off view has ended
        together = await asyncio.gather(thread_of(handler, sleep=0.2), thread_of(handler, sleep=0.2))
        return next_took, set(together)

    next_took, together = async_to_sync(cut_off_then_more)()

    assert next_took < SLOW_VIEW_SECONDS / 2  # on another thread, not behind the view still running
    new_threads = request_threads() - before
    assert len(new_threads) == 2  # the cut-off one and the next one, both used again, no third
    assert together == {thread.name for thread in new_threads}


def test_a_process_forked_after_serving_serves_its_own_requests():
    """A forked child (the test suite's live server is one) has none of its parent's kept threads: it starts its own
    rather than queueing its first request on a thread that is not there."""
    handler = SyncRequestHandler()
    async_to_sync(thread_of)(handler)  # the parent keeps a thread

    child = os.fork()
    if child == 0:  # pragma: no cover (the child reports by its exit status)
        try:
            signal.alarm(10)
            os._exit(0 if async_to_sync(thread_of)(handler).startswith("request") else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(child, 0)

    assert os.waitstatus_to_exitcode(status) == 0
