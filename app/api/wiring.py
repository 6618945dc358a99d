"""How a route asks for a service: `Depends(AsyncProvide[Container.x])` on an `@inject`
route, bound to the app's container by `container.wire()` in create_app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from dependency_injector.wiring import Provide

if TYPE_CHECKING:
    # dependency-injector declares its markers to type checkers as instances of a Protocol
    # (`Provide: _Marker`, indexed through `__getitem__`), not as the classes they are: a
    # subclass cannot be checked, nor indexed as the routes do. To mypy, it is Provide.
    AsyncProvide = Provide
else:

    class AsyncProvide(Provide):
        """dependency-injector's `Provide` marker, awaited by FastAPI instead of run in its
        thread pool.

        FastAPI calls a `Depends` dependency to get the parameter's value, and runs a plain
        callable (as `Provide` is) in a worker thread: one thread hop per marker per request,
        although the marker only returns itself for `@inject` to swap for the provider's
        instance (on the event loop). In-process, with the service stubbed out, that hop cost
        single-message ingest ~+190 µs of CPU per request (~580-610 against ~410-430 µs), as
        much as ~15 % of a stored message; awaited, the wiring costs ~+15 µs. The same
        concern, and this answer, in ets-labs/python-dependency-injector#595.
        """

        async def __call__(self) -> Self:
            return self
