"""The mixin and AsyncSentryClient under Tornado's own test harness (``AsyncHTTPTestCase``), where
each test runs its own IOLoop: the client follows the app onto whichever loop is running."""

from __future__ import annotations

import pytest
import tornado.testing
from raven_tornado import AsyncSentryClient
from tornado.web import Application

from tests.receiver import Receiver
from tests.relay import validate_event
from tests.tornado.apps import exception_of, make_app
from tests.tornado.conftest import CLIENT_OPTIONS


class SentryAppTestCase(tornado.testing.AsyncHTTPTestCase):
    receiver: Receiver
    client: AsyncSentryClient

    @pytest.fixture(autouse=True)
    def _receiver(self, receiver: Receiver) -> None:
        # Runs before setUp(), which calls get_app().
        self.receiver = receiver

    def get_app(self) -> Application:
        self.client = AsyncSentryClient(self.receiver.dsn, **CLIENT_OPTIONS)
        return make_app(self.client)

    def tearDown(self) -> None:
        self.client.close(timeout=0)
        super().tearDown()

    def flush(self) -> bool:
        result: bool = self.io_loop.run_sync(lambda: self.client.flush(timeout=10))
        return result

    def test_raising_handler_is_reported(self) -> None:
        """A handler's exception is answered 500 and delivered on the test's IOLoop."""
        response = self.fetch("/boom")
        assert response.code == 500
        assert self.flush()
        (event,) = self.receiver.wait_for(1)
        validate_event(event)
        assert exception_of(event)["value"] == "boom"
        assert event["request"]["url"] == self.get_url("/boom")

    def test_client_errors_are_not_reported(self) -> None:
        """404 and 400 from HTTPError are not reported; a custom error page still renders."""
        assert self.fetch("/http/404").code == 404
        assert self.fetch("/http/400").code == 400
        assert self.flush()
        assert self.client.last_event_id is None
        response = self.fetch("/custom-page")
        assert response.code == 500 and b'"custom": true' in response.body
        assert self.flush()
        (event,) = self.receiver.wait_for(1)
        validate_event(event)
        assert exception_of(event)["type"] == "KeyError"
